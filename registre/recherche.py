"""Chercher dans le registre : filtres traduits en une requête SQL, page par page.

Le registre d'une commune compte des milliers de lignes par an : rien n'est chargé en entier,
la base compte et découpe elle-même (LIMIT/OFFSET), sur SQLite comme sur PostgreSQL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from courrier.calendrier import PARIS
from registre.modeles import Courrier

PAR_PAGE = 50
EXPORT_MAX = 100_000


@dataclass(frozen=True)
class Filtres:
    texte: str = ""  # dans l'objet, l'expéditeur, le résumé ou le texte lu
    expediteur: str = ""
    categorie: str = ""
    du: date | None = None  # reçu ce jour-là (heure de Paris) ou après
    au: date | None = None  # reçu ce jour-là (heure de Paris) ou avant
    statut: str = ""
    page: int = 1
    par_page: int = PAR_PAGE

    @property
    def actifs(self) -> bool:
        return any((self.texte, self.expediteur, self.categorie, self.du, self.au, self.statut))


@dataclass(frozen=True)
class Resultat:
    lignes: list[Courrier]
    total: int
    page: int
    pages: int
    par_page: int


def _motif(texte: str) -> str:
    # Les jokers de LIKE tapés par l'utilisateur sont cherchés tels quels.
    echappe = texte.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{echappe}%"


def _contient(colonne: Any, texte: str) -> ColumnElement[bool]:
    return func.lower(colonne).like(_motif(texte.lower()), escape="\\")


def _debut_du_jour(jour: date) -> datetime:
    return datetime.combine(jour, time(0), tzinfo=PARIS).astimezone(UTC)


def conditions(f: Filtres) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    for mot in f.texte.split()[:10]:
        conds.append(
            or_(
                _contient(Courrier.objet, mot),
                _contient(Courrier.expediteur, mot),
                _contient(Courrier.resume, mot),
                _contient(Courrier.texte, mot),
                _contient(Courrier.numero, mot),
            )
        )
    if f.expediteur.strip():
        conds.append(
            or_(
                _contient(Courrier.expediteur, f.expediteur.strip()),
                _contient(Courrier.expediteur_adresse, f.expediteur.strip()),
            )
        )
    if f.categorie:
        conds.append(Courrier.categorie == f.categorie)
    if f.statut:
        conds.append(Courrier.statut == f.statut)
    if f.du is not None:
        conds.append(Courrier.recu_le >= _debut_du_jour(f.du))
    if f.au is not None:
        conds.append(Courrier.recu_le < _debut_du_jour(f.au + timedelta(days=1)))
    return conds


def _requete(f: Filtres, recent_d_abord: bool = True) -> Select[tuple[Courrier]]:
    requete = select(Courrier)
    conds = conditions(f)
    if conds:
        requete = requete.where(and_(*conds))
    # À l'écran, le plus récent d'abord (ce que l'on cherche le plus souvent) ; dans l'export,
    # l'ordre du registre.
    if recent_d_abord:
        return requete.order_by(Courrier.annee.desc(), Courrier.rang.desc())
    return requete.order_by(Courrier.annee, Courrier.rang)


def rechercher(moteur: Engine, f: Filtres) -> Resultat:
    par_page = max(1, min(f.par_page, 500))
    conds = conditions(f)
    with Session(moteur, expire_on_commit=False) as session:
        compte = select(func.count(Courrier.id))
        if conds:
            compte = compte.where(and_(*conds))
        total = session.execute(compte).scalar_one()
        pages = max(1, math.ceil(total / par_page))
        page = max(1, min(f.page, pages))
        lignes = list(
            session.execute(
                _requete(f)
                .options(selectinload(Courrier.brouillons))
                .limit(par_page)
                .offset((page - 1) * par_page)
            ).scalars()
        )
    return Resultat(lignes, total, page, pages, par_page)


def pour_export(moteur: Engine, f: Filtres) -> list[Courrier]:
    """Toutes les lignes filtrées (sans pagination), avec ce que l'export lit."""
    f = replace(f, page=1)
    with Session(moteur, expire_on_commit=False) as session:
        return list(
            session.execute(
                _requete(f, recent_d_abord=False)
                .options(selectinload(Courrier.pieces), selectinload(Courrier.brouillons))
                .limit(EXPORT_MAX)
            ).scalars()
        )
