"""La garde de la page web : origine des formulaires, session, liste blanche du rôle « élu »,
en-têtes de sécurité, et les pages d'erreur.

Toute route, sauf la connexion et les fichiers statiques, demande une session : la garde est
un middleware, pas une dépendance qu'une route nouvelle pourrait oublier (et un chemin
inconnu renvoie vers la connexion plutôt que de dire, sans session, ce qui n'existe pas).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from interfaces.web.commun import (
    COOKIE_SESSION,
    ERREUR_INATTENDUE,
    PUBLIQUES,
    Contexte,
    NonConnecte,
    Refuse,
    suite_sure,
)
from interfaces.web.dependances import (
    CHEMIN_SELECTEUR,
    REFUS_ELU,
    ROLE_ELU,
    contexte,
    installation,
    permis_a_l_elu,
)
from interfaces.web.securite import ENTETES, HSTS, origine, origine_permise
from noyau.erreurs import CourrierErreur
from registre.comptes import SessionOuverte

logger = logging.getLogger("courrier.web")

Suite = Callable[[Request], Awaitable[Response]]
COMMUNE_EN_PANNE = (
    "La commune « {commune} » ne peut pas être servie pour le moment (ses réglages ou son "
    "registre sont illisibles) : prévenez la personne qui s'occupe de Courrier ; le détail est "
    "dans le journal du serveur. Rien n'a été écrit."
)


# Le chemin d'une commune (/c/<id>/courrier/2026-00042) : les liens de ses digests et de ses
# bilans (courrier/communes.py lui donne cette adresse publique) sur la page web commune.
_CHEMIN_DE_COMMUNE = re.compile(r"^/c/([a-z][a-z0-9-]{1,39})(/.*)?$")


def _par_la_commune(request: Request) -> Response | None:
    """Le chemin d'une commune renvoie (303) au même chemin avec `?commune=<id>` : la garde y
    vérifie, session ouverte, que le compte voit cette commune, et la session la regarde."""
    trouve = _CHEMIN_DE_COMMUNE.match(request.url.path)
    if trouve is None:
        return None
    if request.method not in ("GET", "HEAD"):
        return None  # aucune route ne répond là : « Cette page n'existe pas »
    reste = trouve.group(2) or "/"
    if not suite_sure(reste):  # « /c/x//ailleurs.example » ne mène pas ailleurs
        reste = "/"
    parametres = [(k, v) for k, v in request.query_params.multi_items() if k != "commune"]
    parametres.append(("commune", trouve.group(1)))
    return RedirectResponse(f"{reste}?{urlencode(parametres)}", status_code=303)


async def garde(request: Request, suite: Suite) -> Response:
    chemin = request.url.path
    request.state.session = None
    request.state.commune = None
    # Avant la session, la commune par défaut : la page de connexion et les refus sans compte.
    ctx = contexte(request)
    reponse: Response
    try:
        redirection = _par_la_commune(request)
        if redirection is not None:
            reponse = redirection
        elif request.method not in ("GET", "HEAD", "OPTIONS") and not origine_permise(
            request.headers.get("origin"),
            request.headers.get("referer"),
            {origine(str(request.url)), *ctx.origines_publiques},
        ):
            reponse = ctx.rendre(
                request,
                "erreur.html.j2",
                403,
                erreur="Ce formulaire ne vient pas de cette page : ouvrez Courrier à son "
                "adresse habituelle et recommencez.",
            )
        elif chemin in PUBLIQUES or chemin.startswith("/statique/"):
            reponse = await suite(request)
        else:
            jeton = request.cookies.get(COOKIE_SESSION, "")
            ouverte = await run_in_threadpool(ctx.comptes.session, jeton) if jeton else None
            if ouverte is None:
                reponse = _non_connecte(request)
            else:
                request.state.session = ouverte
                reponse = await _servir_la_commune(request, ouverte, jeton, suite)
    except Exception:
        # Jamais de trace au visiteur : elle va au journal du serveur, la page dit quoi faire.
        logger.exception("erreur inattendue : %s %s", request.method, chemin)
        reponse = _page_erreur_inattendue(request)
    _poser_entetes(request, reponse)
    return reponse


async def _servir_la_commune(
    request: Request, ouverte: SessionOuverte, jeton: str, suite: Suite
) -> Response:
    """Choisit la commune de la demande avant toute route : celle de la session, ou celle
    qu'un lien demande (`?commune=x`, que le compte doit voir ; la session la regarde alors)."""
    inst = installation(request)
    demandee = request.query_params.get("commune")
    try:
        commune = await run_in_threadpool(inst.commune_de_la_session, ouverte, demandee)
    except Refuse as e:
        try:  # la page du refus montre la commune que la session regarde toujours
            request.state.commune = inst.commune_de_la_session(ouverte, None)
        except Refuse:  # aucune commune : la déconnexion reste possible
            if request.method == "POST" and request.url.path == "/deconnexion":
                return await suite(request)
        return contexte(request).rendre(request, "erreur.html.j2", e.statut, erreur=e.message)
    if commune != ouverte.commune:
        await run_in_threadpool(inst.comptes.regarder, jeton, commune)
        request.state.session = ouverte = replace(ouverte, commune=commune)
    request.state.commune = commune
    # Ses réglages relus, son registre ouvert : une commune mal réglée n'arrête qu'elle (et le
    # sélecteur, qui ne lit rien d'elle, permet d'en sortir).
    try:
        if not (request.method == "POST" and request.url.path == CHEMIN_SELECTEUR):
            await run_in_threadpool(contexte, request)
    except CourrierErreur as e:
        logger.error("la commune %s ne peut pas être servie : %s", commune, e)
        request.state.commune = None
        return contexte(request).rendre(
            request, "erreur.html.j2", 503, erreur=COMMUNE_EN_PANNE.format(commune=commune)
        )
    return await _servir_le_compte(request, ouverte.compte.role, suite)


async def _servir_le_compte(request: Request, role: str, suite: Suite) -> Response:
    # Un élu lit ses courriers et les commente, rien d'autre (dependances.permis_a_l_elu).
    if role != ROLE_ELU or permis_a_l_elu(request.method, request.url.path):
        return await suite(request)
    if request.method in ("GET", "HEAD") and request.url.path == "/":
        return RedirectResponse("/elu", status_code=303)
    return contexte(request).rendre(request, "erreur.html.j2", 403, erreur=REFUS_ELU)


def _page_erreur_inattendue(request: Request) -> Response:
    try:
        return contexte(request).rendre(request, "erreur.html.j2", 500, erreur=ERREUR_INATTENDUE)
    except Exception:  # le gabarit lui-même en cause : une page sans gabarit
        return HTMLResponse(
            f"<!doctype html><html lang=fr><title>Erreur</title><p>{ERREUR_INATTENDUE}</p>",
            status_code=500,
        )


def _poser_entetes(request: Request, reponse: Response) -> None:
    for cle, valeur in ENTETES.items():
        reponse.headers.setdefault(cle, valeur)
    if request.url.scheme == "https":
        reponse.headers.setdefault("Strict-Transport-Security", HSTS)
    if not request.url.path.startswith("/statique/"):
        reponse.headers.setdefault("Cache-Control", "no-store")


def _non_connecte(request: Request) -> Response:
    if request.method in ("GET", "HEAD"):
        # La requête suit le chemin : le lien d'un digest (?commune=x) mène, après la
        # connexion, au courrier de la bonne commune.
        suite = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        cible = "/connexion" + (f"?{urlencode({'suite': suite})}" if suite != "/" else "")
        return RedirectResponse(cible, status_code=303)
    return HTMLResponse(
        "<!doctype html><html lang=fr><title>Connexion nécessaire</title>"
        "<p>Connectez-vous d'abord : <a href=/connexion>page de connexion</a>.</p></html>",
        status_code=401,
    )


# --- Les erreurs, en une phrase française -------------------------------------------------------


async def _gerer_non_connecte(request: Request, e: NonConnecte) -> Response:
    return _non_connecte(request)


def _contexte_d_erreur(request: Request) -> Contexte:
    """Celui de la demande ; celui de la commune par défaut si la commune regardée ne peut pas
    être servie (le sélecteur, qui ne lit rien d'elle, a pu refuser quelque chose)."""
    try:
        return contexte(request)
    except CourrierErreur:
        request.state.commune = None
        return contexte(request)


async def _gerer_refus(request: Request, e: Refuse) -> Response:
    return _contexte_d_erreur(request).rendre(request, "erreur.html.j2", e.statut, erreur=e.message)


async def _gerer_http(request: Request, e: StarletteHTTPException) -> Response:
    message = {
        404: "Cette page n'existe pas.",
        405: "Cette action n'est pas permise ici.",
        413: "La demande est trop volumineuse (un brouillon tient en 20 000 caractères).",
    }.get(e.status_code, "La demande n'a pas pu aboutir.")
    statut = e.status_code if 400 <= e.status_code < 500 else 400
    return _contexte_d_erreur(request).rendre(request, "erreur.html.j2", statut, erreur=message)


async def _gerer_validation(request: Request, e: RequestValidationError) -> Response:
    rendre = _contexte_d_erreur(request).rendre
    # Un numéro de chemin hors bornes désigne une page qui ne peut pas exister.
    if any(erreur.get("loc", ("",))[0] == "path" for erreur in e.errors()):
        return rendre(request, "erreur.html.j2", 404, erreur="Cette page n'existe pas.")
    return rendre(request, "erreur.html.j2", 400, erreur="La demande est incomplète ou mal formée.")


async def _gerer_inattendue(request: Request, e: Exception) -> Response:
    # Dernier recours, hors de la garde (qui attrape déjà tout ce qui passe par elle).
    reponse = HTMLResponse(
        f"<!doctype html><html lang=fr><title>Erreur</title><p>{ERREUR_INATTENDUE}</p>",
        status_code=500,
    )
    _poser_entetes(request, reponse)
    return reponse


def installer(app: FastAPI) -> None:
    """La garde et les pages d'erreur de l'application (le contexte est déjà dans app.state)."""
    app.middleware("http")(garde)
    app.exception_handler(NonConnecte)(_gerer_non_connecte)
    app.exception_handler(Refuse)(_gerer_refus)
    app.exception_handler(StarletteHTTPException)(_gerer_http)
    app.exception_handler(RequestValidationError)(_gerer_validation)
    app.exception_handler(Exception)(_gerer_inattendue)
