"""La page web de la secrétaire et du maire (FastAPI, pages rendues côté serveur).

Un `APIRouter` par domaine (routes_*.py), dont les routes sont versées à plat dans
l'application ; l'installation (ses comptes, ses communes et leurs registres, communes.py) est
rangée dans `app.state`, et chaque route reçoit par `Depends` (dependances.py) le contexte de
la commune que la session regarde, comme la session, le jeton CSRF, le rôle et le courrier ou
le brouillon demandé. Une installation d'une seule commune ne voit aucune différence.

Toute route, sauf la connexion et les fichiers statiques, demande une session : la garde est
un middleware (garde.py), pas une dépendance qu'une route nouvelle pourrait oublier. Chaque
formulaire porte un jeton CSRF vérifié avant toute action. Chaque correction et chaque décision
passe par le registre, qui l'écrit au journal avec le nom de la personne connectée.

Le texte d'un courrier est toujours montré échappé : le HTML d'origine n'est jamais rendu.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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
from interfaces.web.commun import COOKIE_CSRF, COOKIE_SESSION, STATIQUE, TAILLE_MAX_CORPS
from interfaces.web.communes import Installation
from interfaces.web.securite import EntetesDeMandataire, LimiteCorps, origine
from noyau.communes import COMMUNE_PAR_DEFAUT
from registre.registre import Registre

__all__ = ["COOKIE_CSRF", "COOKIE_SESSION", "creer_app", "servir"]

logger = logging.getLogger("courrier.web")


def creer_app(reglages: Reglages, registre: Registre | None = None) -> FastAPI:
    """L'application de l'installation : `reglages` et `registre` sont ceux de l'installation
    (commune par défaut, qui garde les comptes) ; le registre est ouvert d'après les réglages
    s'il n'est pas donné, comme celui de chaque autre commune à sa première demande."""
    if reglages.commune_id != COMMUNE_PAR_DEFAUT:
        raise ValueError("creer_app attend les réglages de l'installation (commune « defaut »)")
    # L'origine publique (COURRIER_URL_PUBLIQUE) est permise en plus de celle que la demande
    # annonce : derrière un mandataire qui réécrirait l'en-tête Host, nos formulaires passent.
    installation = Installation.servir(
        reglages,
        registre,
        {origine(reglages.url_publique)} if reglages.url_publique else set(),
    )

    @asynccontextmanager
    async def duree_de_vie(_app: FastAPI) -> AsyncIterator[None]:
        yield
        installation.fermer()

    app = FastAPI(
        title="Courrier",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        debug=False,
        lifespan=duree_de_vie,
    )
    app.state.installation = installation
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

    if reglages.commune_id != COMMUNE_PAR_DEFAUT:
        # `courrier --commune x serveur` sert quand même toute l'installation : chaque compte
        # y regarde ses communes.
        from courrier.config import charger

        reglages = charger(commune_id=COMMUNE_PAR_DEFAUT)
    app = creer_app(reglages)
    # Les en-têtes de mandataire sont lus par l'application (EntetesDeMandataire), d'après
    # COURRIER_MANDATAIRES seulement : uvicorn, lui, croirait 127.0.0.1 par défaut.
    uvicorn.run(
        app, host=hote, port=port, log_level="warning", proxy_headers=False, server_header=False
    )
