"""Chercher dans le registre : filtres traduits en une requête SQL, page par page.

Le registre d'une commune compte des milliers de lignes par an : rien n'est chargé en entier,
la base compte et découpe elle-même (LIMIT/OFFSET), sur SQLite comme sur PostgreSQL. Le texte
cherché passe par l'index plein texte (registre/plein_texte.py) : sans accents ni casse, classé
par pertinence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, and_, false, func, or_, select
from sqlalchemy.orm import Session, selectinload

from noyau.calendrier import PARIS
from registre.plein_texte import mots, plein_texte
from registre.tables import Courrier

PAR_PAGE = 50
EXPORT_MAX = 100_000


@dataclass(frozen=True)
class Filtres:
    texte: str = ""  # dans le numéro, l'objet, l'expéditeur, le résumé ou le texte lu
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


def _sans_nul(texte: str) -> str:
    # PostgreSQL refuse le caractère NUL dans un paramètre : il ne désigne rien à chercher.
    return texte.replace("\x00", "").strip()


def _debut_du_jour(jour: date) -> datetime:
    return datetime.combine(jour, time(0), tzinfo=PARIS).astimezone(UTC)


def conditions(f: Filtres) -> list[ColumnElement[bool]]:
    """Les filtres autres que le texte cherché (voir `_requete`)."""
    conds: list[ColumnElement[bool]] = []
    expediteur = _sans_nul(f.expediteur)
    if expediteur:
        conds.append(
            or_(
                _contient(Courrier.expediteur, expediteur),
                _contient(Courrier.expediteur_adresse, expediteur),
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


def _filtrer(requete: Select[Any], f: Filtres, dialecte: str) -> tuple[Select[Any], Any | None]:
    """La requête filtrée, et l'ordre de pertinence quand un texte est cherché."""
    conds = conditions(f)
    if conds:
        requete = requete.where(and_(*conds))
    if not f.texte.strip():
        return requete, None
    cherches = mots(f.texte)
    if not cherches:
        # Rien que de la ponctuation : aucun mot ne peut la contenir.
        return requete.where(false()), None
    return plein_texte(dialecte).filtrer(requete, cherches)


def _requete(f: Filtres, dialecte: str, recent_d_abord: bool = True) -> Select[tuple[Courrier]]:
    requete, pertinence = _filtrer(select(Courrier), f, dialecte)
    # À l'écran, le plus pertinent puis le plus récent d'abord (ce que l'on cherche le plus
    # souvent) ; dans l'export, l'ordre du registre.
    if not recent_d_abord:
        return requete.order_by(Courrier.annee, Courrier.rang)
    ordre = [Courrier.annee.desc(), Courrier.rang.desc()]
    return requete.order_by(*([pertinence] if pertinence is not None else []), *ordre)


def rechercher(engine: Engine, f: Filtres) -> Resultat:
    par_page = max(1, min(f.par_page, 500))
    dialecte = engine.dialect.name
    with Session(engine, expire_on_commit=False) as session:
        compte, _ = _filtrer(select(func.count(Courrier.id)), f, dialecte)
        total = session.execute(compte).scalar_one()
        pages = max(1, math.ceil(total / par_page))
        page = max(1, min(f.page, pages))
        lignes = list(
            session.execute(
                _requete(f, dialecte)
                .options(selectinload(Courrier.brouillons))
                .limit(par_page)
                .offset((page - 1) * par_page)
            ).scalars()
        )
    return Resultat(lignes, total, page, pages, par_page)


def pour_export(engine: Engine, f: Filtres) -> list[Courrier]:
    """Toutes les lignes filtrées (sans pagination), avec ce que l'export lit."""
    f = replace(f, page=1)
    with Session(engine, expire_on_commit=False) as session:
        return list(
            session.execute(
                _requete(f, engine.dialect.name, recent_d_abord=False)
                .options(selectinload(Courrier.pieces), selectinload(Courrier.brouillons))
                .limit(EXPORT_MAX)
            ).scalars()
        )
