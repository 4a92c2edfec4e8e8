"""Extraction du texte d'un courrier : courriel MIME, PDF, image scannée.

Aucune de ces fonctions ne lève d'exception pour une entrée mauvaise : chaque problème devient
une phrase française dans `ResultatExtraction.erreurs` (ou `PieceExtraite.erreur`).
"""

from courrier.extraction.documents import extraire_document
from courrier.extraction.mime import extraire_courriel, lire_entetes

__all__ = ["extraire_courriel", "extraire_document", "lire_entetes"]
