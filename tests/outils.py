"""Petits programmes lancés dans un processus à part par les tests (pour pouvoir les tuer)."""

from __future__ import annotations

import sys
from pathlib import Path

from connecteurs.imap import ParametresImap, SourceImap
from courrier.extraction import lire_entetes
from courrier.pannes import depuis_environnement
from courrier.releve import relever_source
from preuves.serveurs import MOT_DE_PASSE
from registre.registre import Registre


def parametres_imap(port: int, dossier: str = "INBOX") -> ParametresImap:
    return ParametresImap(
        hote="127.0.0.1",
        port=port,
        utilisateur="mairie",
        mot_de_passe=MOT_DE_PASSE,
        securite="aucune",
        dossier=dossier,
        dossier_traite="Traité",
        delai_s=10,
    )


def releve_imap(port: int, url: str, donnees: Path, dossier: str = "INBOX") -> None:
    # Un point d'entrée (lancé en sous-processus) : la consigne de panne vient de l'environnement.
    panne = depuis_environnement()
    registre = Registre.ouvrir(url, donnees, panne=panne)
    try:
        source = SourceImap(parametres_imap(port, dossier), panne)
        relever_source(source, registre, lire_entetes, panne=panne)
    finally:
        registre.fermer()


if __name__ == "__main__":
    port, url, donnees, dossier = sys.argv[1:5]
    releve_imap(int(port), url, Path(donnees), dossier)
