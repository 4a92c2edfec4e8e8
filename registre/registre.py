"""Le registre du courrier arrivé : enregistrer, consigner, vérifier.

Toute écriture passe par une unité de travail (`registre/unite.py`) qui verrouille d'abord la
tête du journal : le numéro chrono, la ligne, ses clés d'identité et ses événements sont
validés ensemble ou pas du tout. Chaque responsabilité a son module ; `Registre` les réunit
sous une seule API.
"""

from __future__ import annotations

from pathlib import Path

from noyau.calendrier import Horloge, heure_de_paris, horloge_systeme
from noyau.communes import COMMUNE_PAR_DEFAUT
from noyau.pannes import PointDePanne, aucune
from registre.analyses import LOT_LECTURE, RegistreAnalyse, ligne_de_brouillon
from registre.archive import Archive
from registre.base import creer_engine, mettre_a_niveau
from registre.brouillons import MODIFIABLES, RegistreBrouillons, adresse_de_reponse
from registre.commune import reconnaitre
from registre.enregistrement import AExtraire, Enregistrement, RegistreEnregistrement
from registre.envois import RegistreEnvois
from registre.lecture import RegistreLecture
from registre.scellement import CHARGER_TOUT, champs_scelles, fichiers_cites, sceau
from registre.socle import ACTEUR_ENVOI, ACTEUR_RELEVE, Noter
from registre.textes import (
    LIBELLES_STATUT_BROUILLON,
    details,
    formater_numero,
    texte_stockable,
)
from registre.unite import UniteDeTravail
from registre.verification import RegistreVerification, Verification

# Ce que les appelants importaient d'ici avant le découpage : ils ne changent pas.
__all__ = [
    "ACTEUR_ENVOI",
    "ACTEUR_RELEVE",
    "CHARGER_TOUT",
    "LIBELLES_STATUT_BROUILLON",
    "LOT_LECTURE",
    "MODIFIABLES",
    "AExtraire",
    "Enregistrement",
    "Noter",
    "Registre",
    "UniteDeTravail",
    "Verification",
    "adresse_de_reponse",
    "champs_scelles",
    "details",
    "fichiers_cites",
    "formater_numero",
    "heure_de_paris",
    "ligne_de_brouillon",
    "sceau",
    "texte_stockable",
]


class Registre(
    RegistreEnregistrement,
    RegistreAnalyse,
    RegistreBrouillons,
    RegistreEnvois,
    RegistreLecture,
    RegistreVerification,
):
    @classmethod
    def ouvrir(
        cls,
        url: str,
        donnees: Path,
        horloge: Horloge = horloge_systeme,
        panne: PointDePanne = aucune,
        commune: str = COMMUNE_PAR_DEFAUT,
    ) -> Registre:
        """Le registre de `commune` : sa base est mise à niveau, puis reconnue comme la sienne
        (un registre neuf reçoit l'identifiant ; celui d'une autre commune est refusé)."""
        engine = creer_engine(url)
        try:
            mettre_a_niveau(engine)
            reconnaitre(engine, commune, horloge)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, Archive(donnees / "archive"), horloge, panne, commune)
