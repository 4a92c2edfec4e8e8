"""Ce que partagent les pages web : le contexte d'une demande (la commune regardée, son registre
et ses réglages, les comptes, les gabarits), les refus en une phrase, les pièces à télécharger.
Les gardes de session, de jeton CSRF et de rôle sont des dépendances (dependances.py) ; les
communes servies, communes.py."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from starlette.templating import Jinja2Templates

from courrier.config import Reglages
from interfaces.web import vues
from interfaces.web.securite import JetonsDeConnexion, LimiteurConnexions
from noyau.analyse import Urgence
from noyau.communes import COMMUNE_PAR_DEFAUT
from registre.comptes import Comptes, SessionOuverte
from registre.registre import Registre
from registre.transparence import provenance_ia

logger = logging.getLogger("courrier.web")

ICI = Path(__file__).resolve().parent
GABARITS = ICI / "gabarits"
STATIQUE = ICI / "statique"
COOKIE_SESSION = "courrier_session"
COOKIE_CSRF = "courrier_csrf"  # la pré-session de la page de connexion, avant toute session
PUBLIQUES = ("/connexion",)
# Le plus gros formulaire est un brouillon (20 000 caractères, jusqu'à 12 octets chacun une
# fois encodés) : au-delà, la demande est refusée avant d'être lue en entier.
TAILLE_MAX_CORPS = 1024 * 1024
ERREUR_INATTENDUE = (
    "Une erreur inattendue est survenue. L'action demandée n'a peut-être pas abouti : "
    "vérifiez-la avant de recommencer ; si l'erreur revient, prévenez la personne qui "
    "s'occupe de Courrier."
)


MESSAGES = {
    "enregistre": "Le brouillon est enregistré.",
    "inchange": "Rien n'a changé dans le brouillon.",
    "valide": "Réponse validée : elle part par courriel dans un instant.",
    "lettre": "Lettre produite : téléchargez-la, imprimez-la et postez-la.",
    "rejete": "Le brouillon est rejeté.",
    "parti": "C'est noté : la réponse est bien partie.",
    "renvoi": "C'est noté : la réponse va être renvoyée.",
    "classement": "Le classement est corrigé.",
    "classement_inchange": "Le classement n'a pas changé.",
    "classement_brouillons": (
        "Le classement est corrigé ; les brouillons à valider sont refaits (l'ancien texte "
        "reste consultable)."
    ),
    "compte_cree": "Le compte est créé.",
    "compte_desactive": "Le compte est désactivé.",
    "deconnecte": "Vous êtes déconnecté.",
    "commentaire": "Votre commentaire est enregistré : le secrétariat le lit sur la page du "
    "courrier.",
}


class NonConnecte(Exception):
    pass


class Refuse(Exception):
    """Une requête refusée avec un code et une phrase (403 CSRF ou rôle, 404, 429)."""

    def __init__(self, statut: int, message: str) -> None:
        super().__init__(message)
        self.statut = statut
        self.message = message


def environnement() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(GABARITS),
        autoescape=True,  # tout texte venu d'un courrier est échappé, sans exception
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["heure"] = vues.heure
    env.filters["jour"] = lambda d: d.strftime("%d/%m/%Y") if d else ""
    env.globals["provenance_ia"] = provenance_ia
    return env


def envoyer_en_tache(registre: Registre, reglages: Reglages, ident: int) -> None:
    """Après la réponse HTTP : l'envoi réel (courrier.envoi) ; un échec reste au registre."""
    from courrier.envoi import envoyer_valides

    try:
        envoyer_valides(registre, reglages, idents=[ident])
    except Exception:
        logger.exception("envoi du brouillon %s", ident)


def suite_sure(suite: str) -> bool:
    """Un chemin de ce site : « //autre.site » ou « /\\autre.site » mèneraient ailleurs."""
    return (
        suite.startswith("/")
        and not suite.startswith("//")
        and "\\" not in suite
        and suite.isprintable()
        and len(suite) < 500
    )


def date_saisie(texte: str, nom: str) -> date | None:
    texte = texte.strip()
    if not texte:
        return None
    try:
        return date.fromisoformat(texte)
    except ValueError:
        raise Refuse(400, f"La date « {texte[:20]} » ({nom}) n'est pas une date valide.") from None


def piece_jointe(contenu: bytes, nom: str, type_mime: str = "application/octet-stream") -> Response:
    # Toujours un téléchargement, jamais affiché par le navigateur (nosniff fait le reste).
    return Response(
        contenu,
        media_type=type_mime,
        headers={
            "Content-Disposition": f"attachment; filename=\"{nom}\"; filename*=UTF-8''{quote(nom)}"
        },
    )


@dataclass
class Contexte:
    """Ce dont une route a besoin pour une demande : la commune regardée (ses réglages, relus,
    son registre, ses catégories), les comptes de l'installation et ce qui sert à toutes les
    communes (communes.py le construit pour chaque demande)."""

    reglages: Reglages
    registre: Registre
    comptes: Comptes
    categories: dict[str, str]
    # Les pages rendues de l'archive de ce registre (un cache par commune, communes.py).
    png: Callable[[str, int], bytes] = field(repr=False, compare=False)
    limiteur: LimiteurConnexions = field(default_factory=LimiteurConnexions)
    jetons_connexion: JetonsDeConnexion = field(default_factory=JetonsDeConnexion)
    gabarits: Jinja2Templates = field(default_factory=lambda: Jinja2Templates(env=environnement()))
    # Permises pour un formulaire en plus de l'origine que la demande annonce (garde.py).
    origines_publiques: set[str] = field(default_factory=set)
    commune_id: str = COMMUNE_PAR_DEFAUT
    # Le sélecteur : (identifiant, nom) des communes du compte, vide s'il n'en voit qu'une.
    communes: list[tuple[str, str]] = field(default_factory=list)

    def rendre(
        self, request: Request, gabarit: str, statut: int = 200, **contexte: Any
    ) -> HTMLResponse:
        ouverte: SessionOuverte | None = getattr(request.state, "session", None)
        fait = request.query_params.get("fait", "")
        contexte.setdefault("message", MESSAGES.get(fait, ""))
        contexte.setdefault("erreur", "")
        contexte.update(
            compte=ouverte.compte if ouverte else None,
            csrf=ouverte.csrf if ouverte else "",
            commune=self.reglages.commune,
            commune_id=self.commune_id,
            communes=self.communes,
            categories=self.categories,
            urgences=[u.value for u in Urgence],
            libelles_urgence=vues.LIBELLES_URGENCE,
        )
        return self.gabarits.TemplateResponse(request, gabarit, contexte, status_code=statut)
