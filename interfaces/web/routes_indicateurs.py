"""La page « Indicateurs » et son export (CSV, XLSX) : les chiffres de registre/indicateurs.py,
en tableaux et en graphiques SVG rendus ici, sans script."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from interfaces.web import graphiques
from interfaces.web.commun import Contexte, Refuse, piece_jointe, session_de
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


def routes(ctx: Contexte, routeur: APIRouter) -> None:
    """Inscrit ces pages sur le routeur de l'application (ses routes restent à plat)."""
    reg, rendre = ctx.registre, ctx.rendre

    def _nom(categorie: str) -> str:
        return ctx.categories.get(categorie, categorie)

    def _exiger_role(request: Request) -> None:
        if session_de(request).compte.role not in ROLES:
            raise Refuse(403, "Votre compte n'a pas accès aux indicateurs.")

    @routeur.get("/indicateurs")
    def indicateurs(request: Request, semaines: Semaines = SEMAINES_PAR_DEFAUT) -> Response:
        _exiger_role(request)
        ind = calculer(reg.moteur, reg.aujourd_hui(), semaines)
        return rendre(
            request,
            "indicateurs.html.j2",
            ind=ind,
            semaines=semaines,
            choix_semaines=sorted({*CHOIX_SEMAINES, semaines}),
            graphiques=_graphiques(ind),
            nom=_nom,
            nombre=nombre,
            pourcent=pourcent,
            semaine_iso=semaine_iso,
            etats_echeance=ETATS_ECHEANCE,
        )

    @routeur.get("/indicateurs/export")
    def indicateurs_export(
        request: Request,
        format_: Annotated[str, Query(alias="format", max_length=10)] = "csv",
        semaines: Semaines = SEMAINES_PAR_DEFAUT,
    ) -> Response:
        _exiger_role(request)
        if format_ not in TYPES:
            raise Refuse(400, "Format d'export inconnu (csv ou xlsx).")
        jour = reg.aujourd_hui()
        ind = calculer(reg.moteur, jour, semaines)
        with tempfile.TemporaryDirectory(prefix="courrier-indicateurs-") as dossier:
            chemin = Path(dossier) / f"indicateurs.{format_}"
            exporter(ind, ctx.categories, format_, chemin)
            contenu = chemin.read_bytes()
        return piece_jointe(contenu, f"indicateurs-{jour}.{format_}", TYPES[format_])

    def _graphiques(ind: Indicateurs) -> dict[str, graphiques.Graphique]:
        return {
            "semaines": graphiques.colonnes(
                "Courriers reçus par semaine",
                [(semaine_iso(d)[5:], n) for d, n in ind.par_semaine],  # « S49 »
                "courrier(s)",
            ),
            "categories": graphiques.barres_couchees(
                "Courriers reçus par catégorie",
                [(_nom(c), n, str(n)) for c, n in ind.par_categorie],
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
