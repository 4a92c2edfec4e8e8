"""La page web de la secrétaire et du maire (FastAPI, pages rendues côté serveur).

Un `APIRouter` par domaine (routes_*.py), dont les routes sont versées à plat dans
l'application ; le contexte (réglages, registre, comptes, gabarits) est rangé dans
`app.state` et les routes le reçoivent par `Depends` (dependances.py), comme la session, le
jeton CSRF, le rôle et le courrier ou le brouillon demandé.

Toute route, sauf la connexion et les fichiers statiques, demande une session : la garde est
un middleware (garde.py), pas une dépendance qu'une route nouvelle pourrait oublier. Chaque
formulaire porte un jeton CSRF vérifié avant toute action. Chaque correction et chaque décision
passe par le registre, qui l'écrit au journal avec le nom de la personne connectée.

Le texte d'un courrier est toujours montré échappé : le HTML d'origine n'est jamais rendu.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from courrier.config import Reglages
from interfaces.web import (
    garde,
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
    STATIQUE,
    TAILLE_MAX_CORPS,
    Contexte,
)
from interfaces.web.securite import EntetesDeMandataire, LimiteCorps, origine
from noyau.analyse import CATEGORIE_DE_REPLI
from noyau.erreurs import CourrierErreur
from registre.comptes import Comptes
from registre.registre import Registre

__all__ = ["COOKIE_CSRF", "COOKIE_SESSION", "creer_app", "servir"]

logger = logging.getLogger("courrier.web")


def _categories(reglages: Reglages) -> dict[str, str]:
    try:
        from regles.chargement import charger_regles

        return {ident: c.libelle for ident, c in charger_regles(reglages.regles).categories.items()}
    except CourrierErreur as e:
        # La page reste ouverte (la relève, elle, refusera ces règles) : on ne corrige alors
        # que vers la catégorie de repli, la seule que le code connaisse sans les règles.
        logger.error("règles illisibles, seule la catégorie de repli est proposée : %s", e)
        return {CATEGORIE_DE_REPLI: CATEGORIE_DE_REPLI.capitalize()}


def creer_app(reglages: Reglages, registre: Registre | None = None) -> FastAPI:
    """L'application ; le registre est ouvert d'après les réglages s'il n'est pas donné."""
    if registre is None:
        registre = Registre.ouvrir(reglages.url_base, reglages.donnees, commune=reglages.commune_id)
    # L'origine publique (COURRIER_URL_PUBLIQUE) est permise en plus de celle que la demande
    # annonce : derrière un mandataire qui réécrirait l'en-tête Host, nos formulaires passent.
    ctx = Contexte(
        reglages,
        registre,
        Comptes(registre),
        _categories(reglages),
        origines_publiques={origine(reglages.url_publique)} if reglages.url_publique else set(),
    )

    app = FastAPI(title="Courrier", docs_url=None, redoc_url=None, openapi_url=None, debug=False)
    app.state.contexte = ctx
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
        # Pas `include_router` : FastAPI 0.150 garde un routeur inclus comme un seul bloc, et
        # ses routes disparaîtraient de `app.routes`, que les tests parcourent pour essayer
        # chaque route sans session. Les dépendances du routeur sont déjà dans chaque route.
        app.router.routes.extend(module.routeur.routes)
    app.add_middleware(LimiteCorps, taille_max=TAILLE_MAX_CORPS)
    # L'ordre d'ajout fait l'imbrication : la garde entoure LimiteCorps, comme avant.
    garde.installer(app)
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
