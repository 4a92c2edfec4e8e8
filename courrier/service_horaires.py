"""Une seule machine : `servir()`, le processus qui dure (le service systemd
`courrier-planification`). Il démarre lui-même un serveur Prefect sur 127.0.0.1 s'il n'en a
pas (une planification a besoin d'un vrai serveur : le serveur temporaire de Prefect ne
déclenche jamais rien), puis sert les déploiements de chaque commune
(`courrier.planification`), y compris celles ajoutées pendant le service.

Prefect n'est importé que dans les fonctions.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from courrier.planification import communes_installees, construire_deploiements, creer_limite_llm
from noyau.erreurs import ConfigurationErreur, CourrierErreur

PORT_PREFERE = 4200  # le port habituel de Prefect : l'interface reste à la même adresse
DELAI_DEMARRAGE_S = 120.0  # un PREFECT_HOME neuf crée d'abord sa base (~15 s sur 2 cœurs)
DELAI_ARRET_S = 10.0


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
