"""Petits programmes lancés dans un processus à part par les tests (pour pouvoir les tuer)."""

from __future__ import annotations

import sys
from pathlib import Path

from connecteurs.imap import ParametresImap, SourceImap
from courrier.extraction import lire_entetes
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
    registre = Registre.ouvrir(url, donnees)
    try:
        relever_source(SourceImap(parametres_imap(port, dossier)), registre, lire_entetes)
    finally:
        registre.fermer()


if __name__ == "__main__":
    port, url, donnees, dossier = sys.argv[1:5]
    releve_imap(int(port), url, Path(donnees), dossier)
