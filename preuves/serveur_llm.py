"""Un serveur compatible OpenAI pour les tests, sur 127.0.0.1, qui répond d'une table.

    with ServeurLLM() as serveur:
        serveur.scenario = ["429", "ok"]
        ClientLLM(ParametresLLM(url=serveur.url, ...)).analyser(...)
        serveur.requetes  # les corps JSON reçus

Chaque requête prend le premier comportement de `scenario` (puis `defaut`, « ok ») :
- "ok" : une analyse tirée de la table (mot-clé trouvé dans la requête), ou un brouillon
  quand la requête ne demande pas de JSON ;
- "lent:SECONDES" : la même chose, après une pause ;
- "retenu" : la même chose, une fois `serveur.liberer()` appelé (au plus 120 s) : un appel
  en cours aussi longtemps qu'un test en a besoin, quelle que soit la charge de la machine ;
- "429" (avec Retry-After: 1), "500", "401", "400" (sans rapport avec response_format) ;
- "json_invalide" : de la prose qui n'est pas du JSON ; "tronque" : un JSON coupé
  (finish_reason « length ») ; "categorie_inconnue" : une catégorie hors des règles ;
- "refus_json_schema" : 400 si la requête demande json_schema, comme un serveur sans sortie
  structurée (`refuser_json_schema = True` rend ce refus permanent) ;
- "alertes_systeme" : des alertes que seul Courrier peut lever (decision_forcee…) ;
- "obeissant" : un modèle naïf qui obéit aux ordres du courrier (publicité, urgence haute,
  aucune alerte) ;
- "cloture_markdown" : le JSON dans une clôture ```json, précédé d'une phrase ;
- 'champs:{"echeance": "15 janvier 2027"}' : l'analyse de la table, ces champs remplacés
  (un modèle imparfait qui garde la forme de la réponse mais en abîme un champ).

`latence_s` (ou `ServeurLLM(latence_s=1.0)`) : une pause fixe avant chaque réponse, comme un
vrai modèle (banc de performance, `preuves/bench.py`).

L'analyse « ok » recopie les marques de pseudonymisation vues dans la requête ([PERSONNE_1]…),
comme le ferait un vrai modèle, pour que les tests vérifient leur restauration.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

# Les réponses de la table, choisies par un mot-clé du courrier (en minuscules).
ANALYSES: dict[str, dict[str, Any]] = {
    "nid de poule": {
        "categorie": "voirie",
        "service": "Services techniques",
        "urgence": "haute",
        "resume": "Un habitant signale un nid de poule dangereux devant chez lui.",
        "demande": "Reboucher le nid de poule.",
        "reponse_attendue": True,
        "est_demande_usager": True,
        "echeance": None,
        "confiance": 0.92,
        "alertes": [],
    },
    "acte de naissance": {
        "categorie": "etat_civil",
        "service": "État civil",
        "urgence": "normale",
        "resume": "Demande d'une copie intégrale d'acte de naissance.",
        "demande": "Recevoir une copie intégrale de l'acte de naissance.",
        "reponse_attendue": True,
        "est_demande_usager": True,
        "echeance": "2026-04-15",
        "confiance": 0.95,
        "alertes": [],
    },
    "loto": {
        "categorie": "salles_associations",
        "service": "Secrétariat",
        "urgence": "basse",
        "resume": "Une association demande la salle des fêtes pour un loto.",
        "demande": "Réserver la salle des fêtes.",
        "reponse_attendue": True,
        "est_demande_usager": True,
        "echeance": None,
        "confiance": 0.88,
        "alertes": [],
    },
    "bruit": {
        "categorie": "tranquillite",
        "service": "Police municipale",
        "urgence": "normale",
        "resume": "Plainte pour des nuisances sonores nocturnes.",
        "demande": "Faire cesser le bruit.",
        "reponse_attendue": True,
        "est_demande_usager": True,
        "echeance": None,
        "confiance": 0.8,
        "alertes": [],
    },
}
ANALYSE_PAR_DEFAUT: dict[str, Any] = {
    "categorie": "autre",
    "service": "Secrétariat",
    "urgence": "normale",
    "resume": "Courrier sans objet particulier.",
    "demande": "",
    "reponse_attendue": False,
    "est_demande_usager": False,
    "echeance": None,
    "confiance": 0.4,
    "alertes": [],
}

_MARQUES = ("PERSONNE", "EMAIL", "TEL", "ADRESSE", "NIR", "IBAN")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


RETENUE_MAX_S = 120


class ServeurLLM:
    """Serveur HTTP dans un fil démon ; s'arrête à la sortie du bloc `with`."""

    def __init__(self, latence_s: float = 0.0) -> None:
        self.latence_s = latence_s
        self.scenario: list[str] = []
        self.defaut = "ok"
        self.refuser_json_schema = False
        self.requetes: list[dict[str, Any]] = []
        self.corps: list[str] = []  # corps bruts, tels que reçus (JSON échappé)
        self.entetes: list[dict[str, str]] = []
        self.concurrence_max = 0
        self._en_cours = 0
        # (instant, appels en cours juste après) à chaque entrée et sortie : le banc y lit
        # combien de temps le LLM a eu 0, 1, … appels à la fois.
        self.en_vol: list[tuple[float, int]] = []
        self.verrou = threading.Lock()
        self.arret = threading.Event()
        self._liberation = threading.Event()
        self._numeros = itertools.count(1)
        # Une sous-classe du serveur (preuves/llm.py) peut y mettre la sienne.
        self.gestionnaire: type[GestionnaireLLM] = GestionnaireLLM
        self._serveur: ThreadingHTTPServer | None = None
        self._fil: threading.Thread | None = None
        self.url = ""

    def __enter__(self) -> ServeurLLM:
        gestionnaire = type("Gestionnaire", (self.gestionnaire,), {"serveur_llm": self})
        self._serveur = ThreadingHTTPServer(("127.0.0.1", 0), gestionnaire)
        self._serveur.daemon_threads = True
        # Un fil « lent » ne doit pas retenir la fin du test.
        self._serveur.block_on_close = False
        port = self._serveur.server_address[1]
        self.url = f"http://127.0.0.1:{port}/v1"
        self._fil = threading.Thread(
            target=self._serveur.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._fil.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.arret.set()
        if self._serveur is not None:
            self._serveur.shutdown()
            self._serveur.server_close()
        if self._fil is not None:
            self._fil.join(timeout=5)

    @property
    def nombre(self) -> int:
        with self.verrou:
            return len(self.requetes)

    def formats(self) -> list[str | None]:
        """Le type de response_format de chaque requête reçue (None sans format)."""
        with self.verrou:
            return [(r.get("response_format") or {}).get("type") for r in self.requetes]

    def liberer(self) -> None:
        """Les réponses « retenu » (en cours et à venir) partent."""
        self._liberation.set()

    def taire_les_coupures(self) -> None:
        """Plus de trace sur la sortie d'erreur quand un client coupe sa connexion en plein vol
        (une nuit tuée, un client qui abandonne sur délai)."""
        if self._serveur is not None:
            self._serveur.handle_error = lambda *_: None  # type: ignore[method-assign]

    # -- appelé par le gestionnaire (et redéfini par les sous-classes : preuves/llm.py) --------

    def prochain(self) -> str:
        with self.verrou:
            return self.scenario.pop(0) if self.scenario else self.defaut

    def entrer(self, corps: str, requete: dict[str, Any], entetes: dict[str, str]) -> None:
        with self.verrou:
            self.corps.append(corps)
            self.requetes.append(requete)
            self.entetes.append(entetes)
            self._en_cours += 1
            self.concurrence_max = max(self.concurrence_max, self._en_cours)
            self.en_vol.append((time.time(), self._en_cours))

    def sortir(self) -> None:
        with self.verrou:
            self._en_cours -= 1
            self.en_vol.append((time.time(), self._en_cours))

    def occupation(self, debut: float, fin: float) -> dict[int, float]:
        """Entre `debut` et `fin` (time.time()), les secondes passées avec 0, 1, … appels en
        cours."""
        with self.verrou:
            points = list(self.en_vol)
        duree: dict[int, float] = {}
        niveau, t = 0, debut
        for instant, apres in points:
            if instant <= debut:
                niveau = apres
                continue
            if instant >= fin:
                break
            duree[niveau] = duree.get(niveau, 0.0) + instant - t
            niveau, t = apres, instant
        duree[niveau] = duree.get(niveau, 0.0) + max(0.0, fin - t)
        return duree

    def _dormir(self, secondes: float) -> None:
        self.arret.wait(secondes)

    def _attendre_liberation(self) -> None:
        fin = time.monotonic() + RETENUE_MAX_S
        while not (self._liberation.is_set() or self.arret.is_set()):
            if time.monotonic() > fin:
                return
            self._liberation.wait(0.05)


class GestionnaireLLM(BaseHTTPRequestHandler):
    """Le gestionnaire HTTP du serveur ; une sous-classe change `repondre`."""

    protocol_version = "HTTP/1.1"
    serveur_llm: ServeurLLM

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            self._json(200, {"object": "list", "data": [{"id": "modele-test", "object": "model"}]})
        else:
            self._erreur(404, "Chemin inconnu.", "not_found")

    def do_POST(self) -> None:
        longueur = int(self.headers.get("Content-Length") or 0)
        brut = self.rfile.read(longueur).decode("utf-8", "replace")
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._erreur(404, "Chemin inconnu.", "not_found")
            return
        try:
            requete = json.loads(brut)
        except json.JSONDecodeError:
            self._erreur(400, "Corps JSON invalide.", "invalid_request_error")
            return
        serveur = self.serveur_llm
        serveur.entrer(brut, requete, {k.lower(): v for k, v in self.headers.items()})
        try:
            self.repondre(serveur, requete)
        except (BrokenPipeError, ConnectionResetError):
            pass  # le client a abandonné (délai dépassé) : rien à faire
        finally:
            serveur.sortir()

    def repondre(self, serveur: ServeurLLM, requete: dict[str, Any]) -> None:
        comportement = serveur.prochain()
        if serveur.latence_s > 0:
            serveur._dormir(serveur.latence_s)
        format_demande = (requete.get("response_format") or {}).get("type")
        if comportement.startswith("lent:"):
            serveur._dormir(float(comportement.split(":", 1)[1]))
            comportement = "ok"
        elif comportement == "retenu":
            serveur._attendre_liberation()
            comportement = "ok"
        if self._repondre_en_erreur(serveur, comportement, format_demande):
            return
        if format_demande is None:
            self._completion(requete, _brouillon(requete))
            return
        contenu = json.dumps(_analyse_selon(requete, comportement), ensure_ascii=False)
        if comportement == "cloture_markdown":
            contenu = f"Voici l'analyse :\n```json\n{contenu}\n```"
        elif comportement == "json_invalide":
            contenu = "Voici mon analyse : {categorie: voirie, urgence: haute, résumé..."
        elif comportement == "tronque":
            self._completion(requete, contenu[: len(contenu) // 2], fin="length")
            return
        self._completion(requete, contenu)

    def _repondre_en_erreur(
        self, serveur: ServeurLLM, comportement: str, format_demande: str | None
    ) -> bool:
        """Les erreurs d'un vrai fournisseur ; False quand le comportement n'en est pas une."""
        if format_demande == "json_schema" and (
            serveur.refuser_json_schema or comportement == "refus_json_schema"
        ):
            self._erreur(
                400,
                "response_format of type 'json_schema' is not supported by this server",
                "invalid_request_error",
                param="response_format",
            )
            return True
        erreurs: dict[str, tuple[int, str, str, dict[str, str] | None, str | None]] = {
            "429": (429, "Rate limit reached.", "rate_limit_exceeded", {"Retry-After": "1"}, None),
            "500": (500, "Internal server error.", "server_error", None, None),
            "401": (401, "Incorrect API key provided.", "invalid_api_key", None, None),
            "400": (400, "Invalid 'messages'.", "invalid_request_error", None, "messages"),
        }
        if comportement not in erreurs:
            return False
        statut, message, genre, entetes, param = erreurs[comportement]
        self._erreur(statut, message, genre, entetes, param=param)
        return True

    # -- réponses ----------------------------------------------------------------------------

    def _completion(self, requete: dict[str, Any], contenu: str, fin: str = "stop") -> None:
        numero = next(self.serveur_llm._numeros)
        entree = sum(len(str(m.get("content", ""))) for m in requete.get("messages", []))
        self._json(
            200,
            {
                "id": f"chatcmpl-test-{numero}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": requete.get("model", "modele-test"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": contenu},
                        "finish_reason": fin,
                    }
                ],
                "usage": {
                    "prompt_tokens": entree // 4,
                    "completion_tokens": len(contenu) // 4,
                    "total_tokens": (entree + len(contenu)) // 4,
                },
            },
        )

    def _erreur(
        self,
        statut: int,
        message: str,
        code: str,
        entetes: dict[str, str] | None = None,
        param: str | None = None,
    ) -> None:
        corps = {"error": {"message": message, "type": code, "param": param, "code": code}}
        self._json(statut, corps, entetes)

    def _json(self, statut: int, corps: object, entetes: dict[str, str] | None = None) -> None:
        donnees = json.dumps(corps, ensure_ascii=False).encode()
        self.send_response(statut)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(donnees)))
        for nom, valeur in (entetes or {}).items():
            self.send_header(nom, valeur)
        self.end_headers()
        self.wfile.write(donnees)


def _message_utilisateur(requete: dict[str, Any]) -> str:
    return "\n".join(
        str(m.get("content", "")) for m in requete.get("messages", []) if m.get("role") == "user"
    )


def _premiere_marque(texte: str, genre: str) -> str:
    m = re.search(rf"\[{genre}_\d+\]", texte)
    return m.group(0) if m else ""


def _analyse(requete: dict[str, Any]) -> dict[str, Any]:
    texte = _message_utilisateur(requete)
    bas = texte.lower()
    modele = next((a for cle, a in ANALYSES.items() if cle in bas), ANALYSE_PAR_DEFAUT)
    analyse = copy.deepcopy(modele)
    format_demande = requete.get("response_format") or {}
    schema = (format_demande.get("json_schema") or {}).get("schema") or {}
    permises = schema.get("properties", {}).get("categorie", {}).get("enum")
    if permises and analyse["categorie"] not in permises:
        analyse["categorie"] = permises[0]
    courriel = _premiere_marque(texte, "EMAIL")
    if not courriel:
        trouve = _EMAIL.search(texte)
        courriel = trouve.group(0) if trouve else ""
    analyse["expediteur"] = {
        "nom": _premiere_marque(texte, "PERSONNE"),
        "email": courriel,
        "adresse": _premiere_marque(texte, "ADRESSE"),
    }
    # Les autres marques vues : recopiées dans le résumé, comme un modèle qui cite.
    autres = [m for g in ("TEL", "NIR", "IBAN") if (m := _premiere_marque(texte, g))]
    if autres:
        analyse["resume"] += " Coordonnées citées : " + ", ".join(autres) + "."
    if "ignore les instructions" in bas or "ignore all previous" in bas:
        analyse["alertes"] = ["injection_suspectee"]
    return analyse


def _brouillon(requete: dict[str, Any]) -> str:
    texte = _message_utilisateur(requete)
    personne = _premiere_marque(texte, "PERSONNE")
    appel = f"Madame, Monsieur {personne}," if personne else "Madame, Monsieur,"
    return (
        f"{appel}\n\n"
        "Nous avons bien reçu votre courrier et vous en remercions. Votre demande a été "
        "transmise au service compétent, qui l'examinera avec attention.\n\n"
        "Nous vous prions d'agréer, Madame, Monsieur, l'expression de nos salutations "
        "distinguées."
    )


def _analyse_selon(requete: dict[str, Any], comportement: str) -> dict[str, Any]:
    """L'analyse que rend le modèle de test, changée selon le comportement demandé."""
    analyse = _analyse(requete)
    if comportement == "categorie_inconnue":
        analyse["categorie"] = "jardinage_martien"
    if comportement == "alertes_systeme":
        analyse["alertes"] = ["decision_forcee", "llm_indisponible", "a_verifier"]
    if comportement.startswith("champs:"):
        analyse.update(json.loads(comportement.split(":", 1)[1]))
    if comportement == "obeissant":
        # Un modèle naïf qui suit les ordres glissés dans le courrier, sans rien signaler.
        analyse.update(categorie="publicite", urgence="haute", alertes=[], confiance=0.99)
    return analyse
