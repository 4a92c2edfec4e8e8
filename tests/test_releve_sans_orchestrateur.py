"""Issue #14, point 3 : une relève à la main ne tombe pas quand Prefect tarde ou manque.

La vraie commande `courrier releve`, dans un processus à part, face à un Prefect rendu lent ou
impossible pour de vrai : un serveur temporaire qui n'a qu'une seconde pour démarrer (la panne
vue en mairie : « Timed out while attempting to connect to ephemeral Prefect API server »), une
API indiquée par PREFECT_API_URL qui accepte la connexion sans jamais répondre, une API dont
le port est fermé. Chaque fois : la relève se fait, chaque courrier une fois au registre, chrono
sans trou ; relancée, elle n'enregistre rien deux fois.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from courrier.etapes import LimiteTolerante
from preuves import serveurs
from registre.registre import Registre
from tests.conftest import RACINE

DEMO = RACINE / "courrier" / "demo" / "courriels"


@contextmanager
def api_muette() -> Iterator[str]:
    """Un serveur TCP sur 127.0.0.1 qui accepte les connexions et ne répond jamais ; fermé
    (connexions comprises) en sortant."""
    ecoute = socket.create_server(("127.0.0.1", 0))
    port = ecoute.getsockname()[1]
    arret = threading.Event()
    tenues: list[socket.socket] = []

    def accepter() -> None:
        ecoute.settimeout(0.2)
        while not arret.is_set():
            try:
                connexion, _ = ecoute.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            tenues.append(connexion)  # gardée ouverte, sans un octet en retour

    fil = threading.Thread(target=accepter, daemon=True)
    fil.start()
    try:
        yield f"http://127.0.0.1:{port}/api"
    finally:
        arret.set()
        fil.join(timeout=5)
        for connexion in tenues:
            connexion.close()
        ecoute.close()


def _environnement(tmp_path: Path, prefect: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COURRIER_", "PREFECT_"))}
    env.update(
        {
            "PYTHONPATH": str(RACINE),
            "COURRIER_DONNEES": str(tmp_path / "donnees"),
            "COURRIER_DEPOT_EML": str(tmp_path / "depot-eml"),
            "COURRIER_DEPOT_DELAI_STABILITE_S": "0",
            "PREFECT_HOME": str(tmp_path / "prefect"),
            **prefect,
        }
    )
    return env


def _releve(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "courrier", "releve"],
        env={**env, "COLUMNS": "200"},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _verifier_registre(donnees: Path, attendus: int) -> None:
    registre = Registre.ouvrir(f"sqlite:///{donnees / 'registre.sqlite3'}", donnees)
    try:
        courriers = registre.courriers()
        assert sorted(c.rang for c in courriers) == list(range(1, attendus + 1))
        assert len({c.empreinte for c in courriers}) == attendus
        assert {c.statut for c in courriers} == {"analyse"}
        assert registre.verifier() == []
    finally:
        registre.fermer()


@pytest.mark.parametrize("panne", ["temporaire_trop_lent", "api_muette", "api_refusee"])
def test_la_releve_a_la_main_se_fait_quand_prefect_tarde_ou_manque(
    tmp_path: Path, panne: str
) -> None:
    depot = tmp_path / "depot-eml"
    depot.mkdir()
    for fichier in sorted(DEMO.glob("*.eml")):
        shutil.copy(fichier, depot / fichier.name)
    attendus = len(list(depot.iterdir()))
    with api_muette() as muette:
        prefect = {
            # Le serveur temporaire n'aurait qu'une seconde pour répondre : il n'y arrive pas.
            "temporaire_trop_lent": {"PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "1"},
            "api_muette": {"PREFECT_API_URL": muette},
            "api_refusee": {"PREFECT_API_URL": f"http://127.0.0.1:{serveurs.port_libre()}/api"},
        }[panne]
        env = _environnement(tmp_path, prefect)
        debut = time.monotonic()
        premiere = _releve(env, tmp_path)
        duree = time.monotonic() - debut
        seconde = _releve(env, tmp_path)

    for resultat in (premiere, seconde):
        sortie = resultat.stdout + resultat.stderr
        assert resultat.returncode == 0, sortie
        assert "Traceback" not in sortie and "Erreur " not in sortie, sortie
        if panne == "temporaire_trop_lent":
            assert "Attention" not in sortie, sortie
        else:
            # Une phrase, une ligne, qui dit que la relève s'est faite sans l'orchestrateur.
            (ligne,) = [x for x in resultat.stderr.splitlines() if x.strip()]
            assert ligne.startswith("Attention : Le serveur Prefect http://127.0.0.1:"), ligne
            assert "ne répond pas : la relève se fait sans lui" in ligne, ligne
    assert "│ Dossier .eml / mbox │        7 │" in premiere.stdout, premiere.stdout
    assert "│ Dossier .eml / mbox │        0 │" in seconde.stdout, seconde.stdout
    _verifier_registre(tmp_path / "donnees", attendus)
    # Aucun serveur Prefect temporaire n'a été démarré : sa base n'existe pas.
    assert not list((tmp_path / "prefect").glob("*.db"))
    # L'API muette ne fait pas attendre la relève au-delà de la vérification (2 s) : borne
    # large, la machine de test est partagée ; c'est l'absence de blocage qui est vérifiée.
    assert duree < 120


def test_la_limite_globale_du_llm_tombee_laisse_passer_les_appels() -> None:
    """L'orchestrateur qui cesse de répondre en pleine analyse : les appels suivants passent,
    bornés par la seule machine, et la panne est notée (la CLI la dit en une phrase)."""
    prises: list[str] = []

    @contextmanager
    def place() -> Iterator[object]:
        if len(prises) >= 2:
            raise ConnectionRefusedError("l'API Prefect ne répond plus")
        prises.append("place")
        yield None

    limite = LimiteTolerante(place)
    faits = []
    for i in range(5):
        with limite():
            faits.append(i)
    assert faits == [0, 1, 2, 3, 4]
    assert prises == ["place", "place"]
    assert limite.tombee.is_set()


def test_l_orchestrateur_qui_tombe_en_pleine_releve_ne_la_fait_pas_perdre(tmp_path: Path) -> None:
    """Un vrai serveur Prefect tient la limite globale des appels au LLM (1 à la fois, quand la
    machine en permettrait 4) ; il est arrêté pendant l'analyse. La relève se finit sans lui,
    chaque courrier analysé par le LLM (aucun ne retombe aux règles), et le dit en une phrase."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from courrier.planification import LIMITE_LLM
    from preuves.serveur_llm import ServeurLLM

    depot = tmp_path / "depot-eml"
    depot.mkdir()
    for fichier in sorted(DEMO.glob("*.eml")):
        shutil.copy(fichier, depot / fichier.name)
    attendus = len(list(depot.iterdir()))
    env_serveur = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("COURRIER_", "PREFECT_"))},
        "PREFECT_HOME": str(tmp_path / "prefect-serveur"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    with ServeurLLM(latence_s=1.0) as llm, ExitStack() as orchestrateur:
        url = orchestrateur.enter_context(
            serveurs.prefect_serveur(env_serveur, tmp_path / "prefect-serveur.log", delai=180)
        )
        with (
            temporary_settings(updates={PREFECT_API_URL: url}),
            get_client(sync_client=True) as client,
        ):
            client.upsert_global_concurrency_limit_by_name(LIMITE_LLM, 1)
        env = _environnement(
            tmp_path,
            {
                "PREFECT_API_URL": url,
                "COURRIER_LLM_URL": llm.url,
                "COURRIER_LLM_MODELE": "modele-test",
                "COURRIER_LLM_PARALLELE": "4",
                "COURRIER_LLM_DELAI_S": "30",
            },
        )
        processus = subprocess.Popen(
            [sys.executable, "-m", "courrier", "releve"],
            env={**env, "COLUMNS": "200"},
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            fin = time.monotonic() + 180
            while len(llm.requetes) < 2 and processus.poll() is None:
                assert time.monotonic() < fin, "l'analyse n'a pas commencé"
                time.sleep(0.1)
            concurrence_avant = llm.concurrence_max
            orchestrateur.close()  # le serveur Prefect s'arrête en pleine analyse
            sortie, erreurs = processus.communicate(timeout=300)
        finally:
            if processus.poll() is None:
                processus.kill()
                processus.wait()

    assert processus.returncode == 0, sortie + erreurs
    assert "Traceback" not in sortie + erreurs, erreurs
    assert concurrence_avant == 1  # la limite globale tenait, tant que le serveur répondait
    lignes = [x for x in erreurs.splitlines() if x.strip()]
    assert len(lignes) == 1, erreurs
    (ligne,) = lignes
    assert "a cessé de répondre pendant la relève : elle s'est finie sans lui" in ligne, ligne
    _verifier_registre(tmp_path / "donnees", attendus)
    registre = Registre.ouvrir(
        f"sqlite:///{tmp_path / 'donnees' / 'registre.sqlite3'}", tmp_path / "donnees"
    )
    try:
        assert {c.moteur for c in registre.courriers()} == {"llm:modele-test"}
    finally:
        registre.fermer()
