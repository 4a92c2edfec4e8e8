"""La vue des élus : leurs courriers et l'urgent, en lecture, avec un commentaire ; et, pour la
secrétaire, la correction de l'élu référent d'un courrier.

Un compte « élu » ne passe que par les chemins de `permis_a_l_elu` (dependances.py) : la garde
de l'application refuse tout le reste (validation, envoi, correction, registre, pièces
jointes…) avant même la route. Une route nouvelle est donc fermée aux élus tant qu'on ne
l'ajoute pas à cette liste blanche.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from interfaces.web import vues
from interfaces.web.commun import Contexte, Refuse
from interfaces.web.dependances import (
    REFUS_ELU,
    ROLE_ELU,
    CourrierDeLElu,
    CourrierDuNumero,
    CsrfCourrier,
    CsrfEluReferent,
    Ctx,
    EluConnecte,
    permis_a_l_elu,
    repartition_de,
    trouver_courrier_de_l_elu,
)
from interfaces.web.parametres import NumeroCourrier
from noyau.erreurs import RegistreErreur
from registre.repartition import commentaires, commenter, corriger_elu, courriers_de_l_elu

__all__ = ["REFUS_ELU", "ROLE_ELU", "permis_a_l_elu", "repartition_de", "routeur"]

routeur = APIRouter()


@routeur.get("/elu")
def vue_elu(request: Request, ctx: Ctx, elu: EluConnecte) -> Response:
    repartition = repartition_de(ctx)
    return ctx.rendre(
        request,
        "elu.html.j2",
        rubrique="elu",
        vue_d_ensemble=elu is None,
        elu=repartition.elus.get(elu or ""),
        elus={e.ident: e.libelle for e in repartition.elus.values()},
        courriers=courriers_de_l_elu(ctx.registre, elu),
    )


def _page(
    ctx: Contexte,
    request: Request,
    numero: str,
    elu: str | None,
    erreur: str = "",
    statut: int = 200,
) -> Response:
    c = trouver_courrier_de_l_elu(ctx, numero, elu)
    return ctx.rendre(
        request,
        "elu_courrier.html.j2",
        statut,
        erreur=erreur,
        rubrique="elu",
        c=c,
        canal=vues.LIBELLES_CANAL.get(c.canal, c.canal),
        elu_libelle=repartition_de(ctx).libelle(c.elu),
        echeance=vues.echeance(c, ctx.registre.aujourd_hui()),
        commentaires=commentaires(ctx.registre, c.numero),
    )


@routeur.get("/elu/courrier/{numero}")
def courrier_elu(request: Request, ctx: Ctx, numero: NumeroCourrier, elu: EluConnecte) -> Response:
    return _page(ctx, request, numero, elu)


@routeur.post("/elu/courrier/{numero}/commentaire")
def commentaire(
    request: Request,
    ctx: Ctx,
    ouverte: CsrfCourrier,
    elu: EluConnecte,
    c: CourrierDeLElu,
    # Pas de borne ici : le registre refuse un commentaire trop long par une phrase claire,
    # et LimiteCorps borne déjà la demande entière.
    texte: Annotated[str, Form()] = "",
) -> Response:
    try:
        commenter(ctx.registre, c.numero, ouverte.compte.nom, texte)
    except RegistreErreur as e:
        return _page(ctx, request, c.numero, elu, str(e), 400)
    return RedirectResponse(
        f"/elu/courrier/{c.numero}?fait=commentaire#commentaires", status_code=303
    )


@routeur.post("/courrier/{numero}/elu")
def corriger_elu_du_courrier(
    ctx: Ctx,
    ouverte: CsrfEluReferent,
    c: CourrierDuNumero,
    elu: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    numero = c.numero  # trouvé par la dépendance : absent de la commune regardée, 404
    try:
        change = corriger_elu(ctx.registre, repartition_de(ctx), numero, ouverte.compte.nom, elu)
    except RegistreErreur as e:
        raise Refuse(400, str(e)) from e
    fait = "classement" if change else "classement_inchange"
    return RedirectResponse(f"/courrier/{numero}?fait={fait}#analyse", status_code=303)
