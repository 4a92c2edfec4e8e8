"""Les dépendances des routes (`Depends`) : le contexte de la commune regardée, la session
ouverte, le jeton CSRF d'un formulaire, le rôle, et la recherche d'un courrier ou d'un brouillon.

Le contexte est celui de la commune que la garde a choisie pour la demande (celle de la
session, ou celle d'un lien `?commune=x` que le compte voit) : son registre et ses réglages
seulement. Un courrier, une pièce, un brouillon ou un commentaire d'une autre commune n'y
existe pas : aucune route n'a à se souvenir de le refuser.

La garde de l'application (garde.py) a déjà refusé toute demande sans session et tout chemin
que le rôle « élu » n'a pas le droit d'ouvrir : ces dépendances ne font que la prolonger,
route par route, sans qu'une route ait à répéter ces vérifications.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Annotated, cast

from fastapi import Depends, Form, Request

from interfaces.web.commun import Contexte, NonConnecte, Refuse
from interfaces.web.communes import Installation
from interfaces.web.parametres import IdentBrouillon, NomCompte, NumeroCourrier
from interfaces.web.securite import jeton_valide
from noyau.communes import COMMUNE_PAR_DEFAUT
from noyau.erreurs import CourrierErreur
from noyau.fiches import FicheBrouillon, FicheCourrier
from registre.comptes import SessionOuverte
from registre.repartition import concerne
from regles.repartition import Repartition, repartition_du_dossier

logger = logging.getLogger("courrier.web")

# --- Le contexte ------------------------------------------------------------------------------


def installation(request: Request) -> Installation:
    """L'installation que `creer_app` a rangée dans `app.state` (pour la garde seulement)."""
    return cast(Installation, request.app.state.installation)


def contexte(request: Request) -> Contexte:
    """Le contexte de la commune que regarde la demande (garde.py l'a choisie ; sans session,
    la commune par défaut, pour la page de connexion) ; construit une fois par demande."""
    commune = getattr(request.state, "commune", None)
    deja: tuple[str | None, Contexte] | None = getattr(request.state, "contexte", None)
    if deja is None or deja[0] != commune:
        ouverte = getattr(request.state, "session", None)
        deja = (commune, installation(request).contexte(commune or COMMUNE_PAR_DEFAUT, ouverte))
        request.state.contexte = deja
    return deja[1]


Ctx = Annotated[Contexte, Depends(contexte)]

# --- La session, le jeton CSRF ----------------------------------------------------------------


def session(request: Request) -> SessionOuverte:
    """La session que la garde a ouverte pour cette demande."""
    ouverte: SessionOuverte | None = getattr(request.state, "session", None)
    if ouverte is None:  # la garde l'a déjà refusé ; ceinture et bretelles
        raise NonConnecte()
    return ouverte


Session = Annotated[SessionOuverte, Depends(session)]


Csrf = Annotated[str, Form()]
REFUS_CSRF = (
    "Ce formulaire a expiré ou ne vient pas de cette page : rechargez la page et recommencez."
)


def verifier_csrf(ouverte: SessionOuverte, csrf: str) -> SessionOuverte:
    if not jeton_valide(ouverte.csrf, csrf):
        raise Refuse(403, REFUS_CSRF)
    return ouverte


def session_verifiee(ouverte: Session, csrf: Csrf = "") -> SessionOuverte:
    """La session, pour un formulaire qui porte le jeton CSRF de cette session."""
    return verifier_csrf(ouverte, csrf)


SessionCsrf = Annotated[SessionOuverte, Depends(session_verifiee)]

# FastAPI appelle les dépendances avant de valider les paramètres de la route, mais n'appelle
# pas une dépendance dont un paramètre est invalide. Les variantes qui suivent déclarent donc
# aussi le chemin (et les champs bornés) de leurs routes : un chemin impossible répond 404 et
# un champ trop long 400, avant le jeton, comme quand chaque route vérifiait elle-même.


def session_verifiee_courrier(
    numero: NumeroCourrier, ouverte: Session, csrf: Csrf = ""
) -> SessionOuverte:
    return verifier_csrf(ouverte, csrf)


def session_verifiee_brouillon(
    ident: IdentBrouillon, ouverte: Session, csrf: Csrf = ""
) -> SessionOuverte:
    return verifier_csrf(ouverte, csrf)


def session_verifiee_elu(
    numero: NumeroCourrier,
    ouverte: Session,
    csrf: Csrf = "",
    elu: Annotated[str, Form(max_length=200)] = "",
) -> SessionOuverte:
    return verifier_csrf(ouverte, csrf)


CsrfCourrier = Annotated[SessionOuverte, Depends(session_verifiee_courrier)]
CsrfBrouillon = Annotated[SessionOuverte, Depends(session_verifiee_brouillon)]
CsrfEluReferent = Annotated[SessionOuverte, Depends(session_verifiee_elu)]

# --- Les rôles --------------------------------------------------------------------------------

ROLE_ELU = "elu"
CHEMIN_SELECTEUR = "/commune"  # le sélecteur de commune (routes_connexion.py)
REFUS_ELU = (
    "Votre compte d'élu permet de lire vos courriers et de les commenter : cette action est "
    "réservée au secrétariat de mairie."
)
# La liste blanche du rôle « élu », appliquée par la garde à toute demande : une route
# nouvelle reste fermée aux élus tant qu'on ne l'ajoute pas ici.
_PERMIS_ELU = (
    ("GET", re.compile(r"^/elu$")),
    ("GET", re.compile(r"^/elu/courrier/[0-9]{4}-[0-9]{5,10}$")),
    ("POST", re.compile(r"^/elu/courrier/[0-9]{4}-[0-9]{5,10}/commentaire$")),
    ("POST", re.compile(r"^/deconnexion$")),
    ("POST", re.compile(rf"^{CHEMIN_SELECTEUR}$")),
)


def permis_a_l_elu(methode: str, chemin: str) -> bool:
    methode = "GET" if methode == "HEAD" else methode
    return any(methode == m and motif.match(chemin) for m, motif in _PERMIS_ELU)


def administrateur(ouverte: Session) -> SessionOuverte:
    if not ouverte.compte.admin:
        raise Refuse(403, "Cette page est réservée aux administrateurs.")
    return ouverte


Admin = Annotated[SessionOuverte, Depends(administrateur)]


def administrateur_verifie_compte(
    nom: NomCompte, ouverte: Session, csrf: Csrf = ""
) -> SessionOuverte:
    """L'administrateur, puis son jeton, pour une action sur le compte `nom` (chemin validé
    d'abord, comme les variantes de `session_verifiee`)."""
    return verifier_csrf(administrateur(ouverte), csrf)


AdminCsrfCompte = Annotated[SessionOuverte, Depends(administrateur_verifie_compte)]


def roles_permis(roles: Iterable[str], refus: str) -> Callable[[SessionOuverte], SessionOuverte]:
    """Une dépendance qui refuse (403, `refus`) les comptes dont le rôle n'est pas dans `roles`."""
    permis = frozenset(roles)

    def verifier(ouverte: Session) -> SessionOuverte:
        if ouverte.compte.role not in permis:
            raise Refuse(403, refus)
        return ouverte

    return verifier


def repartition_de(ctx: Contexte) -> Repartition:
    try:
        return repartition_du_dossier(ctx.reglages.regles)
    except CourrierErreur as e:
        # La relève refuse de démarrer sur ce fichier ; la page, elle, reste ouverte.
        logger.error("règles des élus illisibles : %s", e)
        return Repartition()


def elu_connecte(ouverte: Session, ctx: Ctx) -> str | None:
    """L'élu du compte connecté ("" : compte d'élu relié à aucun élu des règles) ; None
    pour le secrétariat et le maire, qui voient les courriers de tous les élus."""
    if ouverte.compte.role != ROLE_ELU:
        return None
    elu = repartition_de(ctx).elu_du_compte(ouverte.compte.nom)
    return elu.ident if elu is not None else ""


EluConnecte = Annotated[str | None, Depends(elu_connecte)]

# --- Un courrier, un brouillon ----------------------------------------------------------------


def trouver_courrier(ctx: Contexte, numero: str) -> FicheCourrier:
    courrier = ctx.registre.courrier(numero[:16])
    if courrier is None:
        raise Refuse(404, f"Le courrier {numero[:16]} n'est pas au registre.")
    return courrier


def courrier_du_numero(numero: NumeroCourrier, ctx: Ctx) -> FicheCourrier:
    return trouver_courrier(ctx, numero)


CourrierDuNumero = Annotated[FicheCourrier, Depends(courrier_du_numero)]


def trouver_courrier_de_l_elu(ctx: Contexte, numero: str, elu: str | None) -> FicheCourrier:
    c = ctx.registre.courrier(numero[:16])
    # Même réponse pour un courrier absent et un courrier d'un autre élu : on ne devine pas
    # les numéros qui existent.
    if c is None or c.purge_le is not None or not concerne(c, elu):
        raise Refuse(404, f"Le courrier {numero[:16]} ne fait pas partie de vos courriers.")
    return c


def courrier_de_l_elu(numero: NumeroCourrier, elu: EluConnecte, ctx: Ctx) -> FicheCourrier:
    return trouver_courrier_de_l_elu(ctx, numero, elu)


CourrierDeLElu = Annotated[FicheCourrier, Depends(courrier_de_l_elu)]


def trouver_brouillon(ctx: Contexte, ident: int) -> tuple[FicheCourrier, FicheBrouillon]:
    trouve = ctx.registre.brouillon(ident)
    if trouve is None:
        raise Refuse(404, f"Le brouillon n°{ident} n'existe pas.")
    return trouve


def brouillon_de_l_ident(ident: IdentBrouillon, ctx: Ctx) -> tuple[FicheCourrier, FicheBrouillon]:
    return trouver_brouillon(ctx, ident)


BrouillonDeLIdent = Annotated[tuple[FicheCourrier, FicheBrouillon], Depends(brouillon_de_l_ident)]
