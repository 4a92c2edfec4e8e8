"""La page « Indicateurs » et son export (CSV, XLSX) : les chiffres de registre/indicateurs.py,
en tableaux et en graphiques SVG rendus ici, sans script."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from interfaces.web import graphiques
from interfaces.web.commun import Contexte, Refuse, piece_jointe
from interfaces.web.dependances import Ctx, roles_permis
from registre.comptes import ROLES
from registre.indicateurs import (
    ETATS_ECHEANCE,
    SEMAINES_MAX,
    SEMAINES_PAR_DEFAUT,
    Indicateurs,
    calculer,
    exporter,
    nombre,
    pourcent,
    semaine_iso,
)

Semaines = Annotated[int, Query(ge=1, le=SEMAINES_MAX)]
CHOIX_SEMAINES = (4, 12, 26, 52)
TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


# Tous les rôles connus aujourd'hui ; un rôle nouveau n'y a pas accès tant qu'on ne l'ajoute pas.
AccesIndicateurs = Depends(roles_permis(ROLES, "Votre compte n'a pas accès aux indicateurs."))
routeur = APIRouter(dependencies=[AccesIndicateurs])


@routeur.get("/indicateurs")
def indicateurs(request: Request, ctx: Ctx, semaines: Semaines = SEMAINES_PAR_DEFAUT) -> Response:
    ind = calculer(ctx.registre.engine, ctx.registre.aujourd_hui(), semaines)
    return ctx.rendre(
        request,
        "indicateurs.html.j2",
        ind=ind,
        semaines=semaines,
        choix_semaines=sorted({*CHOIX_SEMAINES, semaines}),
        graphiques=_graphiques(ctx, ind),
        nom=lambda categorie: _nom(ctx, categorie),
        nombre=nombre,
        pourcent=pourcent,
        semaine_iso=semaine_iso,
        etats_echeance=ETATS_ECHEANCE,
    )


@routeur.get("/indicateurs/export")
def indicateurs_export(
    ctx: Ctx,
    format_: Annotated[str, Query(alias="format", max_length=10)] = "csv",
    semaines: Semaines = SEMAINES_PAR_DEFAUT,
) -> Response:
    if format_ not in TYPES:
        raise Refuse(400, "Format d'export inconnu (csv ou xlsx).")
    jour = ctx.registre.aujourd_hui()
    ind = calculer(ctx.registre.engine, jour, semaines)
    with tempfile.TemporaryDirectory(prefix="courrier-indicateurs-") as dossier:
        chemin = Path(dossier) / f"indicateurs.{format_}"
        exporter(ind, ctx.categories, format_, chemin)
        contenu = chemin.read_bytes()
    return piece_jointe(contenu, f"indicateurs-{jour}.{format_}", TYPES[format_])


def _nom(ctx: Contexte, categorie: str) -> str:
    return ctx.categories.get(categorie, categorie)


def _graphiques(ctx: Contexte, ind: Indicateurs) -> dict[str, graphiques.Graphique]:
    return {
        "semaines": graphiques.colonnes(
            "Courriers reçus par semaine",
            [(semaine_iso(d)[5:], n) for d, n in ind.par_semaine],  # « S49 »
            "courrier(s)",
        ),
        "categories": graphiques.barres_couchees(
            "Courriers reçus par catégorie",
            [(_nom(ctx, c), n, str(n)) for c, n in ind.par_categorie],
        ),
        "modifications": graphiques.barres_couchees(
            "Brouillons validés, selon la part du texte changée",
            [(lib, n, str(n)) for lib, n in ind.distribution],
        ),
        "echeances": graphiques.barres_couchees(
            "Échéances",
            [(ETATS_ECHEANCE[k].capitalize(), n, str(n)) for k, n in ind.echeances.items()],
        ),
        "justesse": graphiques.barres_couchees(
            "Classement juste (catégorie non corrigée)",
            [(j.moteur, 100 * (j.part or 0), pourcent(j.part)) for j in ind.justesse],
            maximum=100,
        ),
    }
