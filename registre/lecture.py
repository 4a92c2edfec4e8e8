"""Lire le registre : la tête du journal, les courriers, les événements."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from noyau.fiches import FicheCourrier, FicheEvenement
from registre.fiches import fiche_courrier, fiche_evenement
from registre.scellement import CHARGER_TOUT
from registre.socle import SocleRegistre
from registre.tables import Courrier, Evenement, TeteJournal


class RegistreLecture(SocleRegistre):
    def tete(self) -> tuple[int, str]:
        """Le dernier événement du journal et son empreinte (celle qui scelle tout le reste)."""
        with Session(self.engine) as session:
            tete = session.get_one(TeteJournal, 1)
            return tete.dernier_id, tete.empreinte

    def courriers(self) -> list[FicheCourrier]:
        with Session(self.engine) as session:
            return [
                fiche_courrier(ligne)
                for ligne in session.execute(
                    select(Courrier).options(*CHARGER_TOUT).order_by(Courrier.annee, Courrier.rang)
                ).scalars()
            ]

    def courrier(self, numero: str) -> FicheCourrier | None:
        with Session(self.engine) as session:
            ligne = session.execute(
                select(Courrier).options(*CHARGER_TOUT).where(Courrier.numero == numero)
            ).scalar_one_or_none()
            return None if ligne is None else fiche_courrier(ligne)

    def evenements(self, numero: str | None = None) -> list[FicheEvenement]:
        with Session(self.engine) as session:
            requete = select(Evenement).order_by(Evenement.id)
            if numero is not None:
                requete = requete.where(Evenement.numero == numero)
            return [fiche_evenement(e) for e in session.execute(requete).scalars()]

    def nombre(self) -> int:
        with Session(self.engine) as session:
            return session.execute(select(func.count(Courrier.id))).scalar_one()
