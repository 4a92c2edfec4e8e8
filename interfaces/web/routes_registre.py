"""La recherche et l'export du registre ; l'administration des comptes.

Les comptes vivent dans le registre de l'installation : un administrateur n'y voit, ne crée et
ne désactive que des comptes tout entiers dans ses communes (« * » : tous)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from courrier.communes import identifiants
from interfaces.web import vues
from interfaces.web.commun import Contexte, Refuse, date_saisie, piece_jointe
from interfaces.web.dependances import Admin, AdminCsrfCompte, Ctx, SessionCsrf
from interfaces.web.parametres import Criteres, NomCompte, criteres
from noyau.domaine import Statut
from noyau.erreurs import RegistreErreur
from registre.comptes import ROLES, Compte, SessionOuverte, verifier_communes
from registre.recherche import Filtres, pour_export, rechercher

routeur = APIRouter()

# --- Le registre --------------------------------------------------------------------------------


def _filtres(ctx: Contexte, c: Criteres) -> Filtres:
    return Filtres(
        texte=c.texte,
        expediteur=c.expediteur,
        categorie=c.categorie if c.categorie in ctx.categories else "",
        du=date_saisie(c.du, "du"),
        au=date_saisie(c.au, "au"),
        statut=c.statut if c.statut in {s.value for s in Statut} else "",
        page=c.page,
    )


@routeur.get("/registre")
def registre_page(
    request: Request, ctx: Ctx, c: Annotated[Criteres, Depends(criteres)]
) -> Response:
    f = _filtres(ctx, c)
    resultat = rechercher(ctx.registre.engine, f)
    choisis = {
        k: v
        for k, v in {
            "texte": f.texte,
            "expediteur": f.expediteur,
            "categorie": f.categorie,
            "du": f.du.isoformat() if f.du else "",
            "au": f.au.isoformat() if f.au else "",
            "statut": f.statut,
        }.items()
        if v
    }
    return ctx.rendre(
        request,
        "registre.html.j2",
        f=f,
        r=resultat,
        criteres=urlencode(choisis),
        statuts=vues.LIBELLES_STATUT_COURRIER,
        canaux=vues.LIBELLES_CANAL,
    )


@routeur.get("/registre/export")
def registre_export(
    ctx: Ctx,
    c: Annotated[Criteres, Depends(criteres)],
    format_: Annotated[str, Query(alias="format", max_length=10)] = "csv",
) -> Response:
    from registre.export import exporter

    if format_ not in ("csv", "xlsx"):
        raise Refuse(400, "Format d'export inconnu (csv ou xlsx).")
    courriers = pour_export(ctx.registre.engine, _filtres(ctx, c))
    with tempfile.TemporaryDirectory(prefix="courrier-export-") as dossier:
        chemin = Path(dossier) / f"registre.{format_}"
        exporter(courriers, format_, chemin)
        contenu = chemin.read_bytes()
    types = {
        "csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
    return piece_jointe(contenu, f"registre-{ctx.registre.aujourd_hui()}.{format_}", types[format_])


# --- Administration -----------------------------------------------------------------------------


REFUS_COMMUNES = "Vous ne pouvez donner à un compte que vos propres communes."


def _page_utilisateurs(
    ctx: Contexte, request: Request, erreur: str = "", statut: int = 200
) -> Response:
    ouverte: SessionOuverte = request.state.session
    return ctx.rendre(
        request,
        "utilisateurs.html.j2",
        statut,
        erreur=erreur,
        utilisateurs=[c for c in ctx.comptes.lister() if ouverte.compte.voit_tout_de(c)],
        roles=ROLES,
    )


def _communes_du_nouveau(ctx: Contexte, admin: Compte, texte: str) -> tuple[str, ...]:
    """Les communes d'un compte que crée `admin` : par défaut, celle qu'il regarde."""
    communes = verifier_communes(texte) if texte.strip() else (ctx.commune_id,)
    if not admin.voit_toutes(communes):
        raise Refuse(403, REFUS_COMMUNES)
    existantes = identifiants(ctx.reglages)
    inconnues = [c for c in communes if c != "*" and c not in existantes]
    if inconnues:
        raise RegistreErreur(
            f"Commune inconnue dans cette installation : {', '.join(inconnues)[:200]} "
            f"(communes : {', '.join(admin.visibles(existantes))[:500]})."
        )
    return communes


@routeur.get("/admin/utilisateurs")
def utilisateurs(request: Request, ctx: Ctx, _admin: Admin) -> Response:
    return _page_utilisateurs(ctx, request)


@routeur.post("/admin/utilisateurs")
def ajouter_utilisateur(
    request: Request,
    ctx: Ctx,
    ouverte: Admin,
    _csrf: SessionCsrf,
    nom: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    mot_de_passe: Annotated[str, Form()] = "",
    confirmation: Annotated[str, Form()] = "",
    communes: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    try:
        choisies = _communes_du_nouveau(ctx, ouverte.compte, communes)
        if mot_de_passe != confirmation:
            raise RegistreErreur("Les deux mots de passe ne sont pas identiques.")
        ctx.comptes.creer(nom, role, mot_de_passe, ouverte.compte.nom, choisies)
    except RegistreErreur as e:
        return _page_utilisateurs(ctx, request, str(e), 400)
    return RedirectResponse("/admin/utilisateurs?fait=compte_cree", status_code=303)


@routeur.post("/admin/utilisateurs/{nom}/desactiver")
def desactiver_utilisateur(
    request: Request, ctx: Ctx, nom: NomCompte, ouverte: AdminCsrfCompte
) -> Response:
    try:
        if nom.strip().lower() == ouverte.compte.nom:
            raise RegistreErreur("Vous ne pouvez pas désactiver votre propre compte.")
        cible = ctx.comptes.compte(nom)
        if cible is None or not ouverte.compte.voit_tout_de(cible):
            # Même réponse pour un compte absent et un compte d'une autre commune.
            raise Refuse(
                404,
                f"Aucun compte ne s'appelle « {nom.strip().lower()[:64]} » parmi ceux de vos "
                "communes.",
            )
        ctx.comptes.desactiver(nom, ouverte.compte.nom)
    except RegistreErreur as e:
        return _page_utilisateurs(ctx, request, str(e), 400)
    return RedirectResponse("/admin/utilisateurs?fait=compte_desactive", status_code=303)
