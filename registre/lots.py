"""Les lettres découpées dans un lot de scans : à quel PDF d'origine et à quelles pages chacune
renvoie.

Une table à part, pas des colonnes de `courriers` : le sceau d'un courrier couvre toutes ses
colonnes, et en ajouter changerait celui des courriers déjà scellés. La référence au lot est
écrite dans la même transaction que le courrier, et dans les détails de son événement « reçu »
(chaîné), ce qui la met sous la garde de `courrier registre verifier`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from noyau.domaine import ElementRecu
from registre.archive import Archive
from registre.tables import Base, Courrier


class LettreDeLot(Base):
    __tablename__ = "lettres_de_lot"

    courrier_id: Mapped[int] = mapped_column(ForeignKey("courriers.id"), primary_key=True)
    lot_empreinte: Mapped[str] = mapped_column(String(64), index=True)
    lot_nom: Mapped[str] = mapped_column(String(255))
    rang: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    premiere_page: Mapped[int] = mapped_column(Integer)
    derniere_page: Mapped[int] = mapped_column(Integer)
    pages_lot: Mapped[int] = mapped_column(Integer)


@dataclass(frozen=True)
class ReferenceLot:
    """Ce qu'on montre d'une lettre de lot (CLI, page web, export)."""

    empreinte: str
    nom: str
    rang: int
    total: int
    premiere_page: int
    derniere_page: int
    pages_lot: int

    @property
    def pages(self) -> str:
        if self.premiere_page == self.derniere_page:
            return f"page {self.premiere_page}"
        return f"pages {self.premiere_page} à {self.derniere_page}"

    def phrase(self) -> str:
        return (
            f"lettre {self.rang} sur {self.total} du lot « {self.nom} » "
            f"(sha256 {self.empreinte}), {self.pages} sur {self.pages_lot}"
        )


def deposer_lot(archive: Archive, element: ElementRecu) -> None:
    """Le PDF d'origine, octets gardés tels quels, avant que la lettre ne soit validée."""
    if element.lot is not None:
        archive.deposer(element.lot.contenu)


def details_lot(element: ElementRecu) -> dict[str, Any]:
    if element.lot is None:
        return {}
    lot = element.lot
    return {
        "lot": {
            "empreinte": lot.empreinte,
            "nom": lot.nom,
            "rang": lot.rang,
            "total": lot.total,
            "pages": [lot.pages[0], lot.pages[-1]],
        }
    }


def inscrire_lot(session: Session, courrier_id: int, element: ElementRecu) -> None:
    if element.lot is None:
        return
    lot = element.lot
    session.add(
        LettreDeLot(
            courrier_id=courrier_id,
            lot_empreinte=lot.empreinte,
            lot_nom=lot.nom[:255],
            rang=lot.rang,
            total=lot.total,
            premiere_page=lot.pages[0],
            derniere_page=lot.pages[-1],
            pages_lot=lot.pages_lot,
        )
    )


def reference_lot(session: Session, courrier_id: int) -> ReferenceLot | None:
    ligne = session.get(LettreDeLot, courrier_id)
    if ligne is None:
        return None
    return ReferenceLot(
        empreinte=ligne.lot_empreinte,
        nom=ligne.lot_nom,
        rang=ligne.rang,
        total=ligne.total,
        premiere_page=ligne.premiere_page,
        derniere_page=ligne.derniere_page,
        pages_lot=ligne.pages_lot,
    )


def lots_cites(session: Session) -> dict[str, str]:
    """Les PDF d'origine des lots que l'archive doit garder : empreinte → qui les cite.

    Un lot dont toutes les lettres ont été purgées n'est plus cité : la purge l'efface (il
    contient leurs données personnelles), `verifier` n'attend plus le fichier.
    """
    cites: dict[str, str] = {}
    for empreinte, nom in session.execute(
        select(LettreDeLot.lot_empreinte, LettreDeLot.lot_nom)
        .join(Courrier, Courrier.id == LettreDeLot.courrier_id)
        .where(Courrier.purge_le.is_(None))
        .distinct()
    ):
        cites.setdefault(empreinte, f"le lot de scans d'origine « {nom} »")
    return cites


def lots_par_courrier(engine: Engine) -> dict[int, str]:
    """L'empreinte du PDF d'origine de chaque lettre de lot : identifiant du courrier → lot."""
    with Session(engine) as session:
        lignes = session.execute(select(LettreDeLot.courrier_id, LettreDeLot.lot_empreinte))
        return {ident: empreinte for ident, empreinte in lignes}


def reference_du_courrier(engine: Engine, courrier_id: int) -> ReferenceLot | None:
    with Session(engine) as session:
        return reference_lot(session, courrier_id)
