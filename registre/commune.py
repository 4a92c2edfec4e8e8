"""À qui appartient un registre : posé à sa création, vérifié à chaque ouverture.

Une erreur de réglage (la base d'une commune donnée à une autre) mêlerait deux registres ;
le registre refuse de s'ouvrir pour une autre commune que la sienne.
"""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from noyau.calendrier import Horloge
from noyau.communes import verifier_identifiant
from noyau.erreurs import RegistreErreur
from registre.tables import CommuneDuRegistre


def commune_du_registre(engine: Engine) -> str | None:
    """L'identifiant de la commune de ce registre, ou None s'il n'a encore servi à personne."""
    with Session(engine) as session:
        ligne = session.execute(select(CommuneDuRegistre)).scalars().first()
        return ligne.identifiant if ligne is not None else None


def reconnaitre(engine: Engine, identifiant: str, horloge: Horloge) -> None:
    """Pose l'identifiant sur un registre neuf ; refuse un registre d'une autre commune."""
    verifier_identifiant(identifiant)
    try:
        with Session(engine) as session, session.begin():
            lignes = session.execute(select(CommuneDuRegistre)).scalars().all()
            if not lignes:
                session.add(CommuneDuRegistre(identifiant=identifiant, cree_le=horloge()))
                return
            siennes = sorted(ligne.identifiant for ligne in lignes)
    except SQLAlchemyError as e:
        raise RegistreErreur(
            f"Le registre de la commune « {identifiant} » n'a pas pu être reconnu : {e}"
        ) from e
    if siennes != [identifiant]:
        raise RegistreErreur(
            f"Ce registre est celui de la commune « {', '.join(siennes)} », pas de "
            f"« {identifiant} » : vérifiez COURRIER_BASE_DE_DONNEES et COURRIER_DONNEES dans "
            "les réglages de la commune. Rien n'a été écrit."
        )
