"""L'appel au LLM et ses nouvelles tentatives : recul exponentiel, Retry-After, message français.

Les nouvelles tentatives sont les nôtres, pas celles du client `openai` (`max_retries=0`) : un
429 repousse tous les fils d'un même client jusqu'à la date demandée, l'attente est plafonnée par
`attente_max_s` (Retry-After compris), chaque reprise est tracée (logging) en français et
l'erreur finale dit en une phrase ce qui a lâché et combien de fois.

Les messages d'erreur et les traces techniques (logging) ne contiennent jamais le contenu
d'un courrier.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import openai
from openai.types.chat import ChatCompletionMessageParam

from noyau.erreurs import ConnecteurErreur

logger = logging.getLogger("connecteurs.llm")


class ErreurLLM(ConnecteurErreur):
    """Le LLM n'a pas donné d'analyse utilisable : panne, délai, refus, réponse invalide."""


class RefusJsonSchema(Exception):
    """Le serveur ne connaît pas `response_format: json_schema` (400)."""


@dataclass(frozen=True)
class ParametresLLM:
    url: str
    cle: str
    modele: str
    parallele: int = 2
    delai_s: float = 60
    tentatives: int = 3
    budget_jetons: int = 6000
    pseudonymiser: bool = True
    attente_s: float = 1.0  # base du recul exponentiel entre deux tentatives
    attente_max_s: float = 60.0  # plafond d'une attente, Retry-After compris


@dataclass(frozen=True)
class _Echec:
    """Une tentative tombée sur une panne passagère, qui mérite d'être retentée."""

    cause: Exception
    attente: float | None  # demandée par le serveur (Retry-After), sinon None


class AppelLLM:
    """Le client OpenAI, la borne de parallélisme et la date de reprise partagées par les fils."""

    def __init__(
        self,
        p: ParametresLLM,
        limiteur: Callable[[], AbstractContextManager[object]] | None = None,
    ) -> None:
        self.p = p
        self._limiteur = limiteur
        self._client = openai.OpenAI(
            base_url=p.url,
            api_key=p.cle or "sans-cle",
            timeout=p.delai_s,
            max_retries=0,
        )
        self._limite = threading.BoundedSemaphore(max(1, p.parallele))
        self._verrou = threading.Lock()
        self._reprise = 0.0  # instant (monotonic) avant lequel un 429 demande d'attendre

    def fermer(self) -> None:
        self._client.close()

    def completer(
        self, messages: list[ChatCompletionMessageParam], reponse: dict[str, Any] | None
    ) -> str:
        """Un appel, avec les nouvelles tentatives ; rend le texte de la réponse."""
        options: dict[str, Any] = {}
        if reponse is not None:
            options["response_format"] = reponse
        tentatives = max(1, self.p.tentatives)
        derniere: Exception | None = None
        for tentative in range(1, tentatives + 1):
            self._attendre_reprise()
            resultat = self._essayer(messages, options, reponse)
            if isinstance(resultat, str):
                return resultat
            derniere = resultat.cause
            if tentative < tentatives:
                self._patienter(resultat, tentative, tentatives)
        raise _erreur_epuisee(derniere, tentatives, self.p) from derniere

    def _essayer(
        self,
        messages: list[ChatCompletionMessageParam],
        options: dict[str, Any],
        reponse: dict[str, Any] | None,
    ) -> str | _Echec:
        try:
            with self._limite, self._limiteur() if self._limiteur else nullcontext():
                completion = self._client.chat.completions.create(
                    model=self.p.modele, messages=messages, **options
                )
        except openai.APIConnectionError as e:  # délai dépassé compris
            return _Echec(e, None)
        except openai.APIStatusError as e:
            return self._echec_de_statut(e, reponse)
        except openai.OpenAIError as e:
            raise ErreurLLM(f"Le client du LLM a échoué ({type(e).__name__}).") from e
        return _contenu(completion)

    def _echec_de_statut(self, e: openai.APIStatusError, reponse: dict[str, Any] | None) -> _Echec:
        """Une panne passagère (429, 408, 5xx) est retentée ; tout autre refus est levé."""
        if e.status_code == 429 or e.status_code >= 500 or e.status_code == 408:
            attente = _retry_after(e.response.headers)
            if attente is not None and e.status_code == 429:
                self._repousser(min(attente, self.p.attente_max_s))
            return _Echec(e, attente)
        if reponse and reponse.get("type") == "json_schema" and _refus_schema(e):
            raise RefusJsonSchema() from e
        raise _erreur_statut(e) from e

    def _patienter(self, echec: _Echec, tentative: int, tentatives: int) -> None:
        attente = echec.attente
        if attente is None:
            # Recul exponentiel avec gigue : les fils ne repartent pas ensemble.
            attente = self.p.attente_s * 2 ** (tentative - 1)
            attente += random.uniform(0, self.p.attente_s)
        attente = min(attente, self.p.attente_max_s)
        logger.warning(
            "LLM : %s, nouvelle tentative dans %.1f s (%d/%d).",
            _cause(echec.cause),
            attente,
            tentative + 1,
            tentatives,
        )
        time.sleep(attente)

    def _repousser(self, attente: float) -> None:
        with self._verrou:
            self._reprise = max(self._reprise, time.monotonic() + attente)

    def _attendre_reprise(self) -> None:
        # Un 429 vaut pour tous les fils : personne ne relance avant la date demandée.
        with self._verrou:
            reste = self._reprise - time.monotonic()
        if reste > 0:
            time.sleep(reste)


def _contenu(completion: Any) -> str:
    choix = getattr(completion, "choices", None)
    if not choix:
        raise ErreurLLM("Le LLM a rendu une réponse vide (aucun choix).")
    premier = choix[0]
    if premier.finish_reason == "length":
        raise ErreurLLM("La réponse du LLM est incomplète : elle a été coupée avant la fin.")
    message = premier.message
    if getattr(message, "refusal", None):
        raise ErreurLLM("Le LLM a refusé de traiter ce courrier.")
    if not message.content:
        raise ErreurLLM("Le LLM a rendu une réponse vide.")
    return str(message.content)


def _retry_after(entetes: Mapping[str, str]) -> float | None:
    """Retry-After (secondes ou date HTTP), ou retry-after-ms ; None s'il manque."""
    if (ms := entetes.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    valeur = entetes.get("retry-after")
    if valeur is None:
        return None
    try:
        return max(0.0, float(valeur))
    except ValueError:
        pass
    try:
        quand = parsedate_to_datetime(valeur)
    except (TypeError, ValueError):
        return None
    if quand.tzinfo is None:
        quand = quand.replace(tzinfo=UTC)
    return max(0.0, (quand - datetime.now(UTC)).total_seconds())


def _refus_schema(e: openai.APIStatusError) -> bool:
    if e.status_code not in (400, 422):
        return False
    texte = f"{e.message} {e.body}".lower()
    return any(mot in texte for mot in ("response_format", "json_schema", "structured"))


def _cause(e: Exception | None) -> str:
    if isinstance(e, openai.APITimeoutError):
        return "délai dépassé"
    if isinstance(e, openai.APIConnectionError):
        return "serveur injoignable"
    if isinstance(e, openai.APIStatusError):
        return f"HTTP {e.status_code}"
    return type(e).__name__


def _erreur_statut(e: openai.APIStatusError) -> ErreurLLM:
    code = e.status_code
    if code in (401, 403):
        return ErreurLLM(f"Le LLM refuse la clé d'accès (HTTP {code}) : vérifiez COURRIER_LLM_CLE.")
    if code == 404:
        return ErreurLLM(
            "Le point d'accès ou le modèle du LLM est introuvable (HTTP 404) : "
            "vérifiez COURRIER_LLM_URL et COURRIER_LLM_MODELE."
        )
    return ErreurLLM(f"Le LLM a refusé la demande (HTTP {code}).")


def _erreur_epuisee(e: Exception | None, tentatives: int, p: ParametresLLM) -> ErreurLLM:
    fois = f"{tentatives} tentative{'s' if tentatives > 1 else ''}"
    if isinstance(e, openai.APITimeoutError):
        return ErreurLLM(f"Le LLM n'a pas répondu dans le délai de {p.delai_s:g} s ({fois}).")
    if isinstance(e, openai.APIConnectionError):
        return ErreurLLM(f"Le serveur du LLM est injoignable ({p.url}, {fois}).")
    if isinstance(e, openai.APIStatusError) and e.status_code == 429:
        return ErreurLLM(f"Le LLM refuse les demandes : trop de requêtes (HTTP 429, {fois}).")
    if isinstance(e, openai.APIStatusError):
        return ErreurLLM(f"Le serveur du LLM est en panne (HTTP {e.status_code}, {fois}).")
    return ErreurLLM(f"Le LLM n'a pas répondu ({fois}).")
