"""La connexion et la déconnexion : jeton signé lié à une pré-session, limite des essais ; le
sélecteur de commune d'un compte qui en voit plusieurs (intercommunalité)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from courrier.communes import identifiants
from interfaces.web.commun import COOKIE_CSRF, COOKIE_SESSION, Contexte, Refuse, suite_sure
from interfaces.web.communes import REFUS_COMMUNE
from interfaces.web.dependances import CHEMIN_SELECTEUR, Ctx, SessionCsrf, installation

routeur = APIRouter()


def _cookie_presession(request: Request) -> str:
    # En HTTPS, le préfixe __Host- interdit à un sous-domaine voisin de poser ce cookie.
    return f"__Host-{COOKIE_CSRF}" if request.url.scheme == "https" else COOKIE_CSRF


def _page_connexion(
    ctx: Contexte, request: Request, erreur: str = "", statut: int = 200, nom: str = ""
) -> Response:
    jetons_connexion = ctx.jetons_connexion
    presession = request.cookies.get(_cookie_presession(request), "")
    if not (len(presession) == 32 and presession.replace("-", "").replace("_", "").isalnum()):
        presession = jetons_connexion.nouvelle_presession()
    suite = request.query_params.get("suite", "")
    reponse = ctx.rendre(
        request,
        "connexion.html.j2",
        statut,
        erreur=erreur,
        jeton_connexion=jetons_connexion.emettre(presession),
        suite=suite if suite_sure(suite) else "",
        nom=nom,
    )
    https = request.url.scheme == "https"
    reponse.set_cookie(
        _cookie_presession(request),
        presession,
        httponly=True,
        samesite="strict",
        secure=https,
        path="/" if https else "/connexion",  # __Host- exige Path=/
    )
    return reponse


@routeur.get("/connexion")
def connexion(request: Request, ctx: Ctx) -> Response:
    return _page_connexion(ctx, request)


@routeur.post("/connexion")
def se_connecter(
    request: Request,
    ctx: Ctx,
    nom: Annotated[str, Form(max_length=200)] = "",
    mot_de_passe: Annotated[str, Form(max_length=1000)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
    suite: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    limiteur, comptes = ctx.limiteur, ctx.comptes
    if not ctx.jetons_connexion.valide(request.cookies.get(_cookie_presession(request), ""), csrf):
        return _page_connexion(
            ctx,
            request,
            "Ce formulaire a expiré : recommencez (les cookies doivent être permis).",
            403,
        )
    adresse = request.client.host if request.client else "?"
    nom = nom.strip()[:64]
    if limiteur.bloque(nom, adresse):
        return _page_connexion(
            ctx,
            request,
            "Trop d'essais manqués : attendez un quart d'heure avant de réessayer.",
            429,
            nom,
        )
    compte = comptes.authentifier(nom, mot_de_passe)
    if compte is None:
        limiteur.echec(nom, adresse)
        return _page_connexion(ctx, request, "Nom ou mot de passe incorrect.", 401, nom)
    limiteur.reussite(nom, adresse)
    # La session regarde d'abord la première commune du compte qui existe encore.
    siennes = compte.visibles(identifiants(ctx.reglages))
    jeton = comptes.ouvrir_session(compte, siennes[0] if siennes else None)
    cible = suite if suite_sure(suite) else "/"
    reponse = RedirectResponse(cible, status_code=303)
    reponse.set_cookie(
        COOKIE_SESSION,
        jeton,
        max_age=int(comptes.duree_session.total_seconds()),
        httponly=True,
        # Lax plutôt que Strict : le maire arrive souvent par le lien du digest, depuis sa
        # messagerie ; toute action demande de toute façon le jeton CSRF.
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    reponse.delete_cookie(
        _cookie_presession(request),
        path="/" if request.url.scheme == "https" else "/connexion",
        secure=request.url.scheme == "https",
    )
    return reponse


@routeur.post("/deconnexion")
def se_deconnecter(request: Request, ctx: Ctx, _ouverte: SessionCsrf) -> Response:
    ctx.comptes.fermer_session(request.cookies.get(COOKIE_SESSION, ""))
    reponse = RedirectResponse("/connexion?fait=deconnecte", status_code=303)
    reponse.delete_cookie(COOKIE_SESSION, path="/")
    return reponse


@routeur.post(CHEMIN_SELECTEUR)
def changer_de_commune(
    request: Request,
    ouverte: SessionCsrf,
    commune: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Le sélecteur : la session regarde désormais une autre des communes du compte. Sans le
    contexte d'une commune : il sort aussi d'une commune qui ne peut pas être servie."""
    inst = installation(request)
    if commune not in ouverte.compte.visibles(inst.communes()):
        raise Refuse(403, REFUS_COMMUNE)
    inst.comptes.regarder(request.cookies.get(COOKIE_SESSION, ""), commune)
    # La file d'attente de l'autre commune : un numéro d'ici n'y désignerait pas le même courrier.
    return RedirectResponse("/", status_code=303)
