"""L'unité de travail du registre : une transaction d'écriture, tête du journal verrouillée dès
le début, et les événements chaînés qu'elle écrit.

Tout ce qui écrit au registre (ses propres méthodes comme `registre/repartition.py`) passe par
elle : la ligne, ses clés et l'événement qui la raconte sont validés ensemble ou pas du tout.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from noyau.calendrier import Horloge
from noyau.domaine import TypeEvenement
from noyau.erreurs import RegistreErreur
from noyau.sceaux import empreinte_evenement, json_canonique
from registre.scellement import CHARGER_TOUT, sceau
from registre.tables import Courrier, Evenement, TeteJournal


class UniteDeTravail:
    """Ce qu'une transaction du registre offre : sa session et l'écriture du journal."""

    def __init__(self, session: Session, tete: TeteJournal, horloge: Horloge) -> None:
        self.session = session
        self.tete = tete
        self.horloge = horloge

    def evenement(
        self,
        type_: TypeEvenement,
        acteur: str,
        details: dict[str, Any],
        courrier: Courrier | None = None,
        etat: str = "",
    ) -> Evenement:
        session, tete = self.session, self.tete
        ident = tete.dernier_id + 1
        horodatage = self.horloge()
        numero = courrier.numero if courrier is not None else ""
        details_json = json_canonique(details)
        empreinte = empreinte_evenement(
            precedent=tete.empreinte,
            ident=ident,
            numero=numero,
            type_=type_.value,
            horodatage=horodatage,
            acteur=acteur,
            details=details_json,
            etat=etat,
        )
        evenement = Evenement(
            id=ident,
            courrier_id=courrier.id if courrier is not None else None,
            numero=numero,
            type=type_.value,
            horodatage=horodatage,
            acteur=acteur,
            details=details_json,
            etat=etat,
            precedent=tete.empreinte,
            empreinte=empreinte,
        )
        session.add(evenement)
        tete.dernier_id = ident
        tete.empreinte = empreinte
        return evenement

    def courrier(self, numero: str, *, tout: bool = True) -> Courrier:
        """Le courrier de ce numéro, pièces et brouillons compris si `tout` ; RegistreErreur
        s'il n'est pas au registre."""
        requete = select(Courrier).where(Courrier.numero == numero)
        if tout:
            requete = requete.options(*CHARGER_TOUT)
        courrier = self.session.execute(requete).scalar_one_or_none()
        if courrier is None:
            raise RegistreErreur(f"Le courrier {numero} n'est pas au registre.")
        return courrier

    def sceller(
        self,
        type_: TypeEvenement,
        acteur: str,
        details: dict[str, Any],
        courrier: Courrier,
    ) -> None:
        """L'événement qui suit une modification du courrier (ou de ses brouillons) et en scelle
        le nouvel état."""
        self.session.flush()
        self.evenement(type_, acteur, details, courrier=courrier, etat=sceau(courrier))


@contextmanager
def unite_de_travail(engine: Engine, horloge: Horloge) -> Iterator[UniteDeTravail]:
    """Une transaction d'écriture, tête du journal verrouillée dès le début."""
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            tete = session.execute(
                select(TeteJournal).where(TeteJournal.id == 1).with_for_update()
            ).scalar_one()
            yield UniteDeTravail(session, tete, horloge)
    except OperationalError as e:
        raise RegistreErreur(
            f"{cause_base(e)} Rien n'a été validé ; relancez quand ce sera réglé."
        ) from e
    except SQLAlchemyError as e:
        raise RegistreErreur(f"Le registre a refusé l'écriture : {premiere_ligne(e)}.") from e


def cause_base(e: BaseException) -> str:
    """La cause d'une panne de la base, en français (SQLite et PostgreSQL parlent anglais)."""
    texte = premiere_ligne(e)
    bas = texte.lower()
    if "disk is full" in bas or "no space left" in bas or "disk full" in bas:
        return "Le disque du registre est plein."
    if "database is locked" in bas or "database table is locked" in bas:
        return "La base du registre est verrouillée par un autre programme depuis trop longtemps."
    if "readonly" in bas or "read-only" in bas or "permission denied" in bas:
        return "La base du registre ne peut pas être écrite (droits, disque en lecture seule)."
    if "unable to open" in bas:
        return "Le fichier de la base du registre ne peut pas être ouvert."
    if any(
        mot in bas
        for mot in (
            "connection refused",
            "could not connect",
            "server closed",
            "terminating",
            "connection",
            "timeout",
            "timed out",
            "shutdown",
        )
    ):
        return f"Le serveur de la base du registre ne répond pas ({texte[:160]})."
    return f"La base du registre est injoignable ou verrouillée ({texte[:160]})."


def premiere_ligne(e: BaseException) -> str:
    texte = str(getattr(e, "orig", None) or e).strip()
    return texte.splitlines()[0] if texte else type(e).__name__
