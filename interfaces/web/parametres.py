"""Les paramètres de chemin et de recherche de la page web, typés et bornés une fois pour
toutes : une valeur hors bornes est refusée (404 pour un chemin, 400 sinon) avant d'atteindre
le registre, qui ne voit jamais un entier que sa base ne sait pas ranger."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Path, Query

# Le plus grand INTEGER de PostgreSQL (SQLite irait jusqu'à 2**63 - 1) : au-delà, la base
# lève une erreur au lieu de dire « introuvable ».
IDENT_MAX = 2**31 - 1

NumeroCourrier = Annotated[
    str, Path(pattern=r"^[0-9]{4}-[0-9]{5,10}$", max_length=16, description="2026-00042")
]
IdentBrouillon = Annotated[int, Path(ge=1, le=IDENT_MAX)]
RangPiece = Annotated[int, Path(ge=0, le=10_000)]
PageScan = Annotated[int, Path(ge=1, le=10_000)]
NomCompte = Annotated[str, Path(min_length=1, max_length=64)]

TexteCherche = Annotated[str, Query(max_length=200)]
DateCherchee = Annotated[str, Query(max_length=40)]
PageResultats = Annotated[int, Query(ge=1, le=1_000_000)]


@dataclass(frozen=True)
class Criteres:
    """Les critères de recherche du registre, tels que l'adresse les porte (textes bornés)."""

    texte: str = ""
    expediteur: str = ""
    categorie: str = ""
    du: str = ""
    au: str = ""
    statut: str = ""
    page: int = 1


def criteres(
    texte: TexteCherche = "",
    expediteur: TexteCherche = "",
    categorie: TexteCherche = "",
    du: DateCherchee = "",
    au: DateCherchee = "",
    statut: TexteCherche = "",
    page: PageResultats = 1,
) -> Criteres:
    return Criteres(texte, expediteur, categorie, du, au, statut, page)
