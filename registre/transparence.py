"""Transparence de l'IA : qui a produit une analyse ou un brouillon, avec quelle consigne, quand.

Une seule phrase, la même sur la page web, dans `courrier montrer` et dans l'export.
"""

from __future__ import annotations

from datetime import datetime

from courrier.calendrier import PARIS


def provenance_ia(moteur: str, consigne: str, le: datetime | None) -> str:
    """« IA, modèle mistral-small, consigne 3f2a9c1b0d4e, le 05/12/2026 à 02:03 » ; vide sans IA."""
    if not moteur.startswith("llm"):
        return ""
    morceaux = ["IA"]
    modele = moteur.partition(":")[2].strip()
    morceaux.append(f"modèle {modele}" if modele else "modèle inconnu")
    morceaux.append(f"consigne {consigne}" if consigne else "consigne non gardée")
    if le is not None:
        morceaux.append(le.astimezone(PARIS).strftime("le %d/%m/%Y à %H:%M"))
    return ", ".join(morceaux)
