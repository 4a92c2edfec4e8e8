"""La réponse d'analyse du LLM : le schéma qui la contraint, puis sa lecture champ par champ.

Le schéma contraint chaque champ autant que le permet le sous-ensemble de JSON Schema accepté
par la sortie structurée stricte d'OpenAI (énumérations, motif de date, bornes des nombres et
des listes). Un serveur qui le suit mal (mode « objet JSON », petit modèle) répond quand même
parfois « 15 janvier 2027 » : les dates écrites en français sont lues. Un champ facultatif
invalide est écarté, les règles le remplaceront et le courrier est signalé « à vérifier » ;
seule une réponse sans catégorie est inutilisable.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.utils import parseaddr
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from noyau.analyse import Alerte, Urgence

# Les seules alertes que le LLM peut lever ; les autres sont réservées au système.
ALERTES_DU_LLM = (Alerte.INJECTION_SUSPECTEE.value, Alerte.A_VERIFIER.value)
MOTIF_DATE = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
# Une date sans année tombe au plus tard trois mois avant la réception (comme regles/) : une
# lettre lue en retard garde son échéance de l'an en cours.
JOURS_EN_ARRIERE_TOLERES = 90
# Au-delà, la date est tenue pour une erreur de lecture, pas une échéance de courrier.
ANNEES_PLAUSIBLES = 5
CHAMP_OBLIGATOIRE = "categorie"


class ReponseInutilisable(ValueError):
    """La réponse n'a pas de catégorie lisible : rien ne peut en être gardé."""


def schema_analyse(categories: Sequence[str]) -> dict[str, Any]:
    """Le schéma JSON (mode strict d'OpenAI : tout requis, rien en plus) de la réponse.

    Les longueurs maximales sont dites dans les descriptions et non par `maxLength` : la sortie
    structurée stricte d'OpenAI refuse ce mot-clé, et un refus ferait perdre le schéma entier
    (repli en mode objet JSON). Les textes trop longs sont coupés à la lecture.
    """

    def texte(description: str) -> dict[str, Any]:
        return {"type": "string", "description": description}

    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "categorie": {"type": "string", "enum": list(categories)},
            "service": texte("le service de la mairie, 120 caractères au plus"),
            "urgence": {"type": "string", "enum": [u.value for u in Urgence]},
            "resume": texte("deux ou trois phrases en français, 1200 caractères au plus"),
            "expediteur": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "nom": texte("200 caractères au plus, vide si inconnu"),
                    "email": texte("une adresse électronique, vide si inconnue"),
                    "adresse": texte("l'adresse postale, 500 caractères au plus"),
                },
                "required": ["nom", "email", "adresse"],
            },
            "demande": texte("une phrase, 500 caractères au plus, vide sans demande"),
            "reponse_attendue": {"type": "boolean"},
            "est_demande_usager": {"type": "boolean"},
            "echeance": {
                "type": ["string", "null"],
                "pattern": MOTIF_DATE,
                "format": "date",
                "description": "la date limite au format AAAA-MM-JJ, ou null",
            },
            "confiance": {"type": "number", "minimum": 0, "maximum": 1},
            "alertes": {
                "type": "array",
                "items": {"type": "string", "enum": list(ALERTES_DU_LLM)},
                "maxItems": len(ALERTES_DU_LLM),
            },
        },
        "required": [
            "categorie",
            "service",
            "urgence",
            "resume",
            "expediteur",
            "demande",
            "reponse_attendue",
            "est_demande_usager",
            "echeance",
            "confiance",
            "alertes",
        ],
    }


# -- les dates écrites -----------------------------------------------------------------------

_RIEN = re.compile(
    r"^(|null|none|n/?a|-+|aucune?|n[ée]ant|sans( objet)?|non( pr[ée]cis[ée]e?)?|inconnue?|"
    r"pas d'[ée]ch[ée]ance|aucune [ée]ch[ée]ance)$"
)
# Ce qu'un modèle met autour d'une date : « avant le 15 janvier 2027 », « … au plus tard ».
_AUTOUR = re.compile(
    r"^(?:(?:au plus tard|avant|pour|d'ici|jusqu'(?:au|à)|date limite\s*:?|[ée]ch[ée]ance\s*:?)"
    r"\s+)?(?:le\s+)?(.*?)(?:\s*,?\s*au plus tard)?\.?$"
)
# dateparser ne se dit pas sûr entre fils (caches de langues au niveau du module) ; les
# analyses tournent dans des fils, un verrou les fait passer une à une (quelques ms).
_VERROU_DATES = threading.Lock()


def lire_date(valeur: str, reference: date) -> date | None:
    """Une date écrite par un modèle : « 2027-01-15 », « 15/01/2027 », « 15 janvier 2027 »,
    « le 1er mars », « 15 January 2027 ». None si le texte ne donne aucune date précise au jour
    près (« dès que possible », « sous 15 jours ») ; `reference` (jour de réception) situe une
    date sans année."""
    texte = " ".join(valeur.split()).strip().lower()
    try:
        return date.fromisoformat(texte)
    except ValueError:
        pass
    trouve = _AUTOUR.match(texte)
    coeur = trouve.group(1) if trouve else texte
    if not coeur:
        return None
    base = reference - timedelta(days=JOURS_EN_ARRIERE_TOLERES)
    reglages = {
        "DATE_ORDER": "DMY",
        "PREFER_DATES_FROM": "future",
        # Jamais l'horloge de la machine : une date sans année se situe d'après la réception.
        "RELATIVE_BASE": datetime(base.year, base.month, base.day),
        # Ni « demain » ni « dans 15 jours » : le modèle doit donner un jour précis.
        "PARSERS": ["absolute-time"],
        "REQUIRE_PARTS": ["day", "month"],
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    with _VERROU_DATES:
        # Importé ici : dateparser coûte à l'import (voir preuves/import_dateparser.py), et la
        # plupart des réponses donnent une date ISO qui n'a pas besoin de lui.
        import dateparser

        lue = dateparser.parse(coeur, languages=["fr", "en"], settings=reglages)
    return lue.date() if lue is not None else None


def est_vide(valeur: object) -> bool:
    """Vrai pour ce qui dit « pas d'échéance » : null, "", « aucune », « néant »…"""
    if valeur is None:
        return True
    return isinstance(valeur, str) and bool(_RIEN.match(" ".join(valeur.split()).lower()))


# -- lecture indulgente, champ par champ -----------------------------------------------------


def _texte_ou_vide(valeur: object) -> object:
    return "" if valeur is None else valeur


Texte = Annotated[str, BeforeValidator(_texte_ou_vide)]

_OUI = {"oui", "vrai", "true", "yes", "o", "1"}
_NON = {"non", "faux", "false", "no", "n", "0"}


def _booleen(valeur: object) -> object:
    if isinstance(valeur, str):
        mot = valeur.strip().lower()
        if mot in _OUI:
            return True
        if mot in _NON:
            return False
    return valeur


def _confiance(valeur: object) -> object:
    if isinstance(valeur, str):
        valeur = valeur.strip().rstrip("%").strip().replace(",", ".")
        try:
            valeur = float(valeur)
        except ValueError:
            return valeur
    # « 85 » : un pourcentage.
    if isinstance(valeur, int | float) and not isinstance(valeur, bool) and 1 < valeur <= 100:
        return valeur / 100
    return valeur


_URGENCES = {
    "urgent": "haute",
    "urgente": "haute",
    "elevee": "haute",
    "moyenne": "normale",
    "normal": "normale",
    "faible": "basse",
    "bas": "basse",
}


def _urgence(valeur: object) -> object:
    if valeur is None or valeur == "":
        return Urgence.NORMALE.value
    if isinstance(valeur, str):
        mot = unicodedata.normalize("NFKD", valeur.strip().lower())
        mot = mot.encode("ascii", "ignore").decode()
        return _URGENCES.get(mot, mot)
    return valeur


def _expediteur(valeur: object) -> object:
    if valeur is None:
        return {}
    if isinstance(valeur, str):
        # « Jeanne Durand <jeanne@exemple.example> » au lieu de l'objet demandé.
        nom, adresse = parseaddr(valeur)
        if "@" not in adresse:
            nom, adresse = valeur, ""
        return {"nom": nom, "email": adresse, "adresse": ""}
    return valeur


def _alertes(valeur: object) -> object:
    if valeur is None:
        return []
    if isinstance(valeur, str):
        return [valeur]
    return valeur


class _ExpediteurLu(BaseModel):
    model_config = ConfigDict(extra="ignore")
    nom: Texte = ""
    email: Texte = ""
    adresse: Texte = ""


class AnalyseLue(BaseModel):
    """La réponse brute du LLM, déjà assouplie (« oui », « 0,8 », « Haute ») mais pas bornée."""

    model_config = ConfigDict(extra="ignore")
    categorie: str
    service: Texte = ""
    urgence: Annotated[Urgence, BeforeValidator(_urgence)] = Urgence.NORMALE
    resume: Texte = ""
    expediteur: Annotated[_ExpediteurLu, BeforeValidator(_expediteur)] = Field(
        default_factory=_ExpediteurLu
    )
    demande: Texte = ""
    reponse_attendue: Annotated[bool, BeforeValidator(_booleen)] = False
    est_demande_usager: Annotated[bool, BeforeValidator(_booleen)] = False
    echeance: date | None = None
    confiance: Annotated[float, BeforeValidator(_confiance)] = Field(default=0.5, ge=0.0, le=1.0)
    alertes: Annotated[list[str], BeforeValidator(_alertes)] = Field(default_factory=list)


@dataclass(frozen=True)
class ReponseLue:
    analyse: AnalyseLue
    ecartes: tuple[str, ...]  # champs présents mais invalides, retirés de la réponse


def lire_reponse(donnees: dict[str, Any], reference: date) -> ReponseLue:
    """Lit la réponse ; écarte chaque champ facultatif invalide au lieu de tout rejeter.

    Lève `ReponseInutilisable` quand la catégorie manque ou n'est pas un texte.
    """
    valeurs = dict(donnees)
    ecartes: list[str] = []
    if "echeance" in valeurs:
        echeance = valeurs["echeance"]
        if est_vide(echeance):
            valeurs["echeance"] = None
        else:
            lue = lire_date(echeance, reference) if isinstance(echeance, str) else None
            if lue is None or abs(lue.year - reference.year) > ANNEES_PLAUSIBLES:
                del valeurs["echeance"]
                ecartes.append("echeance")
            else:
                valeurs["echeance"] = lue
    try:
        analyse = AnalyseLue.model_validate(valeurs)
    except ValidationError as e:
        fautifs = {str(err["loc"][0]) for err in e.errors() if err["loc"]}
        if CHAMP_OBLIGATOIRE in fautifs or not fautifs:
            raise ReponseInutilisable("categorie") from e
        for champ in fautifs:
            valeurs.pop(champ, None)
        ecartes += sorted(fautifs)
        # Sans les champs fautifs, chacun prend sa valeur par défaut : plus rien n'échoue.
        analyse = AnalyseLue.model_validate(valeurs)
    return ReponseLue(analyse, tuple(ecartes))
