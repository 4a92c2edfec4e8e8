"""Les horaires de Courrier, déclarés une seule fois, et les deux façons de les faire tourner.

- `servir()` : une seule machine. Un processus qui dure (le service systemd
  `courrier-planification`) démarre lui-même un serveur Prefect sur 127.0.0.1 s'il n'en a pas
  (une planification a besoin d'un vrai serveur : le serveur temporaire de Prefect ne
  déclenche jamais rien), puis sert les déploiements.
- `installer(api_url, file)` : plusieurs machines. Les déploiements sont inscrits sur un
  serveur Prefect existant, dans une file de travail « process » où un worker les prend.

Prefect n'est importé que dans les fonctions : `courrier planifier --liste` reste instantané.
"""

from __future__ import annotations

import asyncio
import copy
import importlib
import logging
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from noyau.communes import COMMUNE_PAR_DEFAUT, verifier_identifiant
from noyau.erreurs import ConfigurationErreur, CourrierErreur

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

FUSEAU = "Europe/Paris"
PORT_PREFERE = 4200  # le port habituel de Prefect : l'interface reste à la même adresse
DELAI_DEMARRAGE_S = 120.0  # un PREFECT_HOME neuf crée d'abord sa base (~15 s sur 2 cœurs)
DELAI_ARRET_S = 10.0

logger = logging.getLogger("courrier.planification")


@dataclass(frozen=True)
class Horaire:
    flow: str  # le nom du flow Prefect, et celui du déploiement
    module: str  # où le trouver : `module.flow`
    cron: str
    description: str  # en français, pour `courrier planifier --liste`
    fuseau: str = FUSEAU


HORAIRES: tuple[Horaire, ...] = (
    Horaire("releve", "flows.releve", "0 2 * * *", "chaque jour à 02:00"),
    Horaire("digest", "flows.digest", "30 7 * * 1-5", "du lundi au vendredi à 07:30"),
    Horaire(
        "envoi",
        "flows.envoi",
        "*/15 8-18 * * 1-5",
        "du lundi au vendredi, toutes les 15 minutes de 08:00 à 18:45",
    ),
)


def lignes_horaires() -> list[str]:
    """Les horaires déclarés, une phrase par flow."""
    return [f"{h.flow} : {h.description} ({h.fuseau})" for h in HORAIRES]


def flows_disponibles() -> list[tuple[Horaire, Any]]:
    """Chaque horaire dont le flow existe, avec ce flow ; les autres sont passés sous silence."""
    trouves = []
    for h in HORAIRES:
        try:
            module = importlib.import_module(h.module)
        except ModuleNotFoundError as e:
            if e.name != h.module:
                raise  # une dépendance manque : c'est une panne, pas un flow à venir
            logger.info("Flow %s absent (%s) : pas de déploiement.", h.flow, h.module)
            continue
        trouves.append((h, getattr(module, h.flow)))
    return trouves


def nom_deploiement(flow: str, commune: str = COMMUNE_PAR_DEFAUT) -> str:
    """`releve` pour la commune par défaut (le nom d'avant les communes), `releve-<id>` sinon."""
    return flow if commune == COMMUNE_PAR_DEFAUT else f"{flow}-{commune}"


def construire_deploiements(
    communes: tuple[str, ...] = (COMMUNE_PAR_DEFAUT,),
) -> list[RunnerDeployment]:
    """Un déploiement par flow existant et par commune : son cron à Paris, jamais deux
    exécutions à la fois pour une même commune.

    Un déploiement par commune plutôt qu'un seul paramétré : la limite « une à la fois » de
    Prefect est celle d'un déploiement ; un seul déploiement pour toutes ferait attendre les
    communes les unes derrière les autres. Chaque commune a aussi son horaire, qu'on peut mettre
    en pause seul, et son historique d'exécutions. La commune par défaut garde les noms d'avant
    (`releve`…), sans paramètre : une installation d'une seule commune ne voit rien changer."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.types.entrypoint import EntrypointType

    deploiements = []
    for commune in communes:
        verifier_identifiant(commune)
        defaut = commune == COMMUNE_PAR_DEFAUT
        for h, flow in flows_disponibles():
            deploiements.append(
                flow.to_deployment(
                    name=nom_deploiement(h.flow, commune),
                    schedule=CronSchedule(cron=h.cron, timezone=h.fuseau),
                    parameters={} if defaut else {"commune": commune},
                    # Une relève encore en cours quand la suivante arrive : la nouvelle est
                    # annulée plutôt que mise en file, pour ne jamais relever deux fois à la
                    # fois la même commune (les autres communes ont leur propre limite).
                    concurrency_limit=ConcurrencyLimitConfig(
                        limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW
                    ),
                    description=f"{h.description} ({h.fuseau})"
                    + ("" if defaut else f", commune « {commune} »"),
                    tags=["courrier"] if defaut else ["courrier", f"commune:{commune}"],
                    # Le flow est retrouvé par son module installé, quel que soit le dossier
                    # courant.
                    entrypoint_type=EntrypointType.MODULE_PATH,
                )
            )
    return deploiements


# --- Le serveur Prefect enfant (une seule machine) ------------------------------------------


def _port_libre(prefere: int) -> int:
    for port in (prefere, 0):
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # comme uvicorn
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise CourrierErreur("Aucun port libre sur 127.0.0.1 pour le serveur Prefect.")


def api_saine(url: str) -> bool:
    """Vrai si l'API Prefect à `url` répond à /health."""
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as reponse:
            return bool(reponse.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _arreter(processus: subprocess.Popen[bytes]) -> None:
    """SIGTERM au groupe du serveur (il s'arrête en ~2 s), puis SIGKILL s'il traîne."""
    if processus.poll() is not None:
        return
    try:
        os.killpg(processus.pid, signal.SIGTERM)
        processus.wait(timeout=DELAI_ARRET_S)
    except subprocess.TimeoutExpired:
        os.killpg(processus.pid, signal.SIGKILL)
        processus.wait(timeout=DELAI_ARRET_S)
    except ProcessLookupError:
        pass


@contextmanager
def serveur_prefect(donnees: Path) -> Iterator[str]:
    """Un serveur Prefect sur 127.0.0.1, enfant de ce processus ; rend l'URL de son API."""
    journaux = donnees / "journaux"
    journaux.mkdir(parents=True, exist_ok=True)
    port = _port_libre(PORT_PREFERE)
    url = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    commande = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
    with (journaux / "prefect-serveur.log").open("ab") as sortie:
        processus = subprocess.Popen(
            [*commande, "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=sortie,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # son propre groupe : un seul SIGTERM l'arrête en entier
        )
    try:
        fin = time.monotonic() + DELAI_DEMARRAGE_S
        while not api_saine(url):
            if processus.poll() is not None:
                raise CourrierErreur(
                    f"Le serveur Prefect s'est arrêté au démarrage (code {processus.returncode}) ;"
                    f" voir {journaux / 'prefect-serveur.log'}."
                )
            if time.monotonic() > fin:
                raise CourrierErreur(
                    f"Le serveur Prefect ne répond pas après {DELAI_DEMARRAGE_S:.0f} s ;"
                    f" voir {journaux / 'prefect-serveur.log'}."
                )
            time.sleep(0.25)
        yield url
    finally:
        _arreter(processus)


def _sigterm_comme_ctrl_c(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # systemd arrête par SIGTERM : même sortie propre que Ctrl+C


def fichier_api_url(donnees: Path) -> Path:
    """Où `servir` écrit l'adresse de l'API qu'il utilise (pour les autres commandes, les tests)."""
    return donnees / "prefect" / "api_url"


# Une seule machine : autant d'exécutions à la fois que les workers de la recette (`--limit 2`).
LIMITE_PAR_DEFAUT = 2
VEILLE_COMMUNES_S = 60.0  # une commune ajoutée est servie au plus une minute après


def servir(
    donnees: Path,
    annoncer: Any = print,
    limite: int = LIMITE_PAR_DEFAUT,
    veille_s: float | None = None,
) -> None:
    """Sert les déploiements de chaque commune jusqu'à SIGTERM ou Ctrl+C, avec un serveur
    Prefect enfant si besoin ; au plus `limite` exécutions à la fois (les autres attendent leur
    tour, rien n'est perdu) ; une commune ajoutée pendant ce temps est servie sans redémarrer
    (regardé toutes les `veille_s` secondes, VEILLE_COMMUNES_S sans elle).

    `annoncer` reçoit une phrase quand tout est prêt (l'adresse de l'API), puis une par commune
    ajoutée."""
    if limite < 1:
        raise ConfigurationErreur(f"--limite doit valoir au moins 1 (reçu {limite}).")
    veille_s = VEILLE_COMMUNES_S if veille_s is None else veille_s
    deja = os.environ.get("PREFECT_API_URL", "").strip()
    precedent = signal.signal(signal.SIGTERM, _sigterm_comme_ctrl_c)
    try:
        if deja:
            _servir_sur(deja, donnees, annoncer, limite, veille_s)
        else:
            with serveur_prefect(donnees) as url:
                _servir_sur(url, donnees, annoncer, limite, veille_s)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, precedent)
        fichier_api_url(donnees).unlink(missing_ok=True)


def _servir_sur(url: str, donnees: Path, annoncer: Any, limite: int, veille_s: float) -> None:
    # Les exécutions partent dans des sous-processus qui lisent l'environnement ; ce processus-ci
    # a peut-être déjà lu ses réglages Prefect : les deux sont mis à jour.
    os.environ["PREFECT_API_URL"] = url
    from prefect.runner import Runner
    from prefect.settings import PREFECT_API_URL, temporary_settings

    class RunnerArretPropre(Runner):
        # Celui de Prefect 3.8 appelle `stop()` sans l'attendre puis `sys.exit` : les horaires
        # ne sont pas mis en pause. Comme Ctrl+C, l'arrêt passe par la sortie de `start()`.
        def handle_sigterm(self, *args: Any, **kwargs: Any) -> None:
            # À l'arrêt, asyncio journalise (niveau ERROR, avec trace) l'annulation des
            # connexions du canal de contrôle du Runner : sans conséquence, donc tue.
            logging.getLogger("asyncio").setLevel(logging.CRITICAL)
            raise KeyboardInterrupt

    with temporary_settings(updates={PREFECT_API_URL: url}):
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            creer_limite_llm(client)
        servies = communes_installees()
        deploiements = construire_deploiements(servies)
        chemin = fichier_api_url(donnees)
        chemin.parent.mkdir(parents=True, exist_ok=True)
        chemin.write_text(url + "\n", encoding="utf-8")
        noms = ", ".join(d.name for d in deploiements)
        annoncer(
            f"Planification en service ({noms}) ; {limite} exécution(s) à la fois au plus ; "
            f"API Prefect : {url}."
        )
        # La limite du Runner borne les exécutions de toutes les communes ensemble : à 02:00,
        # les relèves passent `limite` par `limite`, les autres attendent leur tour.
        runner = RunnerArretPropre(pause_on_shutdown=True, limit=limite)
        for d in deploiements:
            runner.add_deployment(d)
        asyncio.run(_servir_et_veiller(runner, set(servies), annoncer, veille_s))


async def _servir_et_veiller(
    runner: Any, servies: set[str], annoncer: Any, veille_s: float
) -> None:
    """Le Runner, et à côté la veille des communes ajoutées (`courrier commune ajouter`) : leurs
    déploiements rejoignent ceux que le Runner sert déjà, sans l'arrêter."""

    async def veiller() -> None:
        while True:
            await asyncio.sleep(veille_s)
            try:
                nouvelles = [c for c in communes_installees() if c not in servies]
                for commune in nouvelles:
                    # Hors de la boucle : dans une boucle, Prefect rend des coroutines.
                    for d in await asyncio.to_thread(construire_deploiements, (commune,)):
                        await runner.aadd_deployment(d)
                    servies.add(commune)
                    annoncer(f"Commune « {commune} » ajoutée : ses horaires sont servis.")
            except Exception as e:  # la veille ne doit pas arrêter les horaires des autres
                annoncer(f"Attention : commune ajoutée pas encore servie ({e}) ; nouvel essai.")

    veille = asyncio.create_task(veiller())
    try:
        await runner.start()
    finally:
        veille.cancel()  # asyncio.run l'attend avant de rendre la main


# --- Plusieurs machines : inscrire les déploiements sur un serveur existant ------------------


LIMITE_LLM = "courrier-llm"


def creer_limite_llm(client: Any) -> None:
    """La limite de concurrence globale des appels au LLM, à COURRIER_LLM_PARALLELE.

    Avec plusieurs workers, chacun borne ses propres appels ; celle-ci borne leur somme, pour
    rester sous le quota du fournisseur.
    """
    from courrier.config import reglages

    client.upsert_global_concurrency_limit_by_name(LIMITE_LLM, reglages().llm_parallele)


def communes_installees() -> tuple[str, ...]:
    """La commune par défaut et chaque commune ajoutée (`courrier commune ajouter`)."""
    from courrier.communes import identifiants
    from courrier.config import charger

    return tuple(identifiants(charger(commune_id=COMMUNE_PAR_DEFAUT)))


def installer(
    api_url: str, file: str = "courrier", communes: tuple[str, ...] | None = None
) -> list[str]:
    """Crée ou met à jour les déploiements sur le serveur `api_url`, dans la file `file` : ceux
    de `communes` (toutes celles de l'installation par défaut).

    La file (type « process ») est créée si elle n'existe pas ; un worker la sert :
    `prefect worker start --pool courrier`, sur une machine où Courrier est installé. Les
    workers n'ont pas à redémarrer : ils prennent toute exécution de la file, quel que soit son
    déploiement. Rend les noms des déploiements inscrits."""
    import httpx
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if not api_url.startswith(("http://", "https://")):
        raise ConfigurationErreur(
            f"PREFECT_API_URL doit commencer par http:// ou https:// (reçu « {api_url} »)."
        )
    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        try:
            with get_client(sync_client=True) as client:
                regler_la_file(client, file)
                creer_limite_llm(client)
            noms = []
            visees = communes_installees() if communes is None else communes
            for d in construire_deploiements(visees):
                d.apply(work_pool_name=file)
                noms.append(f"{d.flow_name}/{d.name}")
        except (OSError, RuntimeError, httpx.HTTPError) as e:
            # Le client de Prefect (httpx) ne lève pas OSError quand le serveur est éteint.
            raise CourrierErreur(
                f"Le serveur Prefect {api_url} ne répond pas ou refuse l'inscription : {e}"
            ) from e
    return noms


def commande_du_moteur() -> str:
    """Ce que le worker lance pour une exécution : `prefect.engine`, avec le Python où Courrier
    est installé (le même chemin sur chaque machine de worker : /opt/courrier/.venv dans la
    recette, l'image dans Docker Compose). Sans commande, Prefect 3.9 intercale un processus de
    supervision qui importe Prefect une fois de plus : ~2,7 s de calcul et 3 s d'attente par
    exécution (mesuré par preuves/bench_communes.py)."""
    return f"{shlex.quote(sys.executable)} -m prefect.engine"


def regler_la_file(client: Any, file: str) -> None:
    """Crée la file (type « process ») avec la commande du moteur ; une file existante sans
    commande la reçoit (mise à jour de Courrier), une commande posée à la main est gardée."""
    from prefect.client.schemas.actions import WorkPoolCreate, WorkPoolUpdate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    try:
        existante = client.read_work_pool(file)
    except ObjectNotFound:
        modele = ProcessWorker.get_default_base_job_template()
        modele["variables"]["properties"]["command"]["default"] = commande_du_moteur()
        client.create_work_pool(WorkPoolCreate(name=file, type="process", base_job_template=modele))
        return
    modele = copy.deepcopy(existante.base_job_template)
    commande = modele.get("variables", {}).get("properties", {}).get("command")
    if existante.type == "process" and commande is not None and not commande.get("default"):
        commande["default"] = commande_du_moteur()
        client.update_work_pool(file, WorkPoolUpdate(base_job_template=modele))
