"""La page web de la secrétaire et du maire (FastAPI, pages rendues côté serveur).

Toute route, sauf la connexion et les fichiers statiques, demande une session : la garde est
un middleware, pas une dépendance qu'une route nouvelle pourrait oublier. Chaque formulaire
porte un jeton CSRF vérifié avant toute action. Chaque correction et chaque décision passe par
le registre, qui l'écrit au journal avec le nom de la personne connectée.

Le texte d'un courrier est toujours montré échappé : le HTML d'origine n'est jamais rendu.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from courrier.config import Reglages
from interfaces.web import (
    routes_brouillons,
    routes_connexion,
    routes_courriers,
    routes_elus,
    routes_indicateurs,
    routes_registre,
)
from interfaces.web.commun import (
    COOKIE_CSRF,
    COOKIE_SESSION,
    ERREUR_INATTENDUE,
    PUBLIQUES,
    STATIQUE,
    TAILLE_MAX_CORPS,
    Contexte,
    NonConnecte,
    Refuse,
)
from interfaces.web.securite import (
    ENTETES,
    HSTS,
    EntetesDeMandataire,
    LimiteCorps,
    origine,
    origine_permise,
)
from noyau.analyse import CATEGORIE_DE_REPLI
from noyau.erreurs import CourrierErreur
from registre.comptes import Comptes
from registre.registre import Registre

__all__ = ["COOKIE_CSRF", "COOKIE_SESSION", "creer_app", "servir"]

journal = logging.getLogger("courrier.web")


def creer_app(reglages: Reglages, registre: Registre | None = None) -> FastAPI:
    """L'application ; le registre est ouvert d'après les réglages s'il n'est pas donné."""
    if registre is None:
        registre = Registre.ouvrir(reglages.url_base, reglages.donnees)
    try:
        from regles.chargement import charger_regles

        categories = {
            ident: c.libelle for ident, c in charger_regles(reglages.regles).categories.items()
        }
    except CourrierErreur as e:
        # La page reste ouverte (la relève, elle, refusera ces règles) : on ne corrige alors
        # que vers la catégorie de repli, la seule que le code connaisse sans les règles.
        journal.error("règles illisibles, seule la catégorie de repli est proposée : %s", e)
        categories = {CATEGORIE_DE_REPLI: CATEGORIE_DE_REPLI.capitalize()}
    ctx = Contexte(reglages, registre, Comptes(registre), categories)
    comptes, rendre = ctx.comptes, ctx.rendre
    # L'origine publique (COURRIER_URL_PUBLIQUE) est permise en plus de celle que la demande
    # annonce : derrière un mandataire qui réécrirait l'en-tête Host, nos formulaires passent.
    origines_publiques = {origine(reglages.url_publique)} if reglages.url_publique else set()

    app = FastAPI(title="Courrier", docs_url=None, redoc_url=None, openapi_url=None, debug=False)
    app.state.registre = registre
    app.state.comptes = ctx.comptes
    app.state.limiteur = ctx.limiteur
    app.mount("/statique", StaticFiles(directory=STATIQUE), name="statique")
    for module in (
        routes_connexion,
        routes_courriers,
        routes_brouillons,
        routes_registre,
        routes_indicateurs,
        routes_elus,
    ):
        module.routes(ctx, app.router)
    app.add_middleware(LimiteCorps, taille_max=TAILLE_MAX_CORPS)

    # --- Garde, en-têtes et erreurs -------------------------------------------------------------

    @app.middleware("http")
    async def garde(request: Request, suite: Callable[[Request], Awaitable[Response]]) -> Response:
        chemin = request.url.path
        request.state.session = None
        reponse: Response
        try:
            if request.method not in ("GET", "HEAD", "OPTIONS") and not origine_permise(
                request.headers.get("origin"),
                request.headers.get("referer"),
                {origine(str(request.url)), *origines_publiques},
            ):
                reponse = rendre(
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
                ouverte = await run_in_threadpool(comptes.session, jeton) if jeton else None
                if ouverte is None:
                    reponse = _non_connecte(request)
                else:
                    request.state.session = ouverte
                    reponse = await _servir_le_compte(request, ouverte.compte.role, suite)
        except Exception:
            # Jamais de trace au visiteur : elle va au journal du serveur, la page dit quoi faire.
            journal.exception("erreur inattendue : %s %s", request.method, chemin)
            reponse = _page_erreur_inattendue(request)
        _poser_entetes(request, reponse)
        return reponse

    async def _servir_le_compte(
        request: Request, role: str, suite: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        # Un élu lit ses courriers et les commente, rien d'autre (routes_elus.py).
        if role != routes_elus.ROLE_ELU or routes_elus.permis_a_l_elu(
            request.method, request.url.path
        ):
            return await suite(request)
        if request.method in ("GET", "HEAD") and request.url.path == "/":
            return RedirectResponse("/elu", status_code=303)
        return rendre(request, "erreur.html.j2", 403, erreur=routes_elus.REFUS_ELU)

    def _page_erreur_inattendue(request: Request) -> Response:
        try:
            return rendre(request, "erreur.html.j2", 500, erreur=ERREUR_INATTENDUE)
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
            suite = request.url.path
            cible = "/connexion" + (f"?{urlencode({'suite': suite})}" if suite != "/" else "")
            return RedirectResponse(cible, status_code=303)
        return HTMLResponse(
            "<!doctype html><html lang=fr><title>Connexion nécessaire</title>"
            "<p>Connectez-vous d'abord : <a href=/connexion>page de connexion</a>.</p></html>",
            status_code=401,
        )

    @app.exception_handler(NonConnecte)
    async def _gerer_non_connecte(request: Request, e: NonConnecte) -> Response:
        return _non_connecte(request)

    @app.exception_handler(Refuse)
    async def _gerer_refus(request: Request, e: Refuse) -> Response:
        return rendre(request, "erreur.html.j2", e.statut, erreur=e.message)

    @app.exception_handler(StarletteHTTPException)
    async def _gerer_http(request: Request, e: StarletteHTTPException) -> Response:
        message = {
            404: "Cette page n'existe pas.",
            405: "Cette action n'est pas permise ici.",
            413: "La demande est trop volumineuse (un brouillon tient en 20 000 caractères).",
        }.get(e.status_code, "La demande n'a pas pu aboutir.")
        statut = e.status_code if 400 <= e.status_code < 500 else 400
        return rendre(request, "erreur.html.j2", statut, erreur=message)

    @app.exception_handler(RequestValidationError)
    async def _gerer_validation(request: Request, e: RequestValidationError) -> Response:
        # Un numéro de chemin hors bornes désigne une page qui ne peut pas exister.
        if any(erreur.get("loc", ("",))[0] == "path" for erreur in e.errors()):
            return rendre(request, "erreur.html.j2", 404, erreur="Cette page n'existe pas.")
        return rendre(
            request, "erreur.html.j2", 400, erreur="La demande est incomplète ou mal formée."
        )

    @app.exception_handler(Exception)
    async def _gerer_inattendue(request: Request, e: Exception) -> Response:
        # Dernier recours, hors de la garde (qui attrape déjà tout ce qui passe par elle).
        reponse = HTMLResponse(
            f"<!doctype html><html lang=fr><title>Erreur</title><p>{ERREUR_INATTENDUE}</p>",
            status_code=500,
        )
        _poser_entetes(request, reponse)
        return reponse

    # Le plus à l'extérieur : la garde voit déjà l'adresse réelle et le schéma (https).
    app.add_middleware(EntetesDeMandataire, reseaux=reglages.reseaux_mandataires)
    return app


def servir(reglages: Reglages, hote: str, port: int) -> None:
    """`courrier serveur` : la page web, jusqu'à Ctrl+C."""
    import uvicorn

    app = creer_app(reglages)
    # Les en-têtes de mandataire sont lus par l'application (EntetesDeMandataire), d'après
    # COURRIER_MANDATAIRES seulement : uvicorn, lui, croirait 127.0.0.1 par défaut.
    uvicorn.run(
        app, host=hote, port=port, log_level="warning", proxy_headers=False, server_header=False
    )
