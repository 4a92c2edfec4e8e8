"""Le moteur prêt (flows/moteur.py, flows/moteur_pret.py), en vrai : le lanceur que le worker
exécute (`python -m flows.moteur`), le processus prêt qu'il démarre, le vrai `prefect.engine`.

Sans serveur Prefect : le moteur reçoit un numéro d'exécution invalide (il le dit et sort en 1),
ou un valide avec une API qui ne répond jamais (il attend : de quoi l'annuler ou le tuer). Les
exécutions d'un worker réel passent par lui dans tests/test_deploiement.py et test_echelle.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from flows.moteur import ENTETE, chemin_prise
from tests.conftest import RACINE

INVALIDE = "Invalid flow run id"


@pytest.fixture
def dossier() -> Iterator[Path]:
    """Un dossier de prises court (une prise Unix tient en 107 octets), et, à la fin, plus
    aucun processus prêt de ce test."""
    d = Path(tempfile.mkdtemp(prefix="cm-"))
    yield d
    for journal in d.glob("courrier-moteur-*/*.log"):
        for pid in re.findall(r"prêt : processus (\d+)", journal.read_text(errors="replace")):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGTERM)
    shutil.rmtree(d, ignore_errors=True)


def environnement(dossier: Path, **autres: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COURRIER_", "PREFECT_"))}
    return env | {
        "PYTHONPATH": str(RACINE),
        "PREFECT_HOME": str(dossier / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "COURRIER_MOTEUR_DOSSIER": str(dossier),
        "COURRIER_MOTEUR_ATTENTE_S": "120",
        **autres,
    }


def lancer(env: dict[str, str], *arguments: str, **options: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "flows.moteur", *arguments],
        env=env,
        cwd=tempfile.gettempdir(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **options,  # type: ignore[call-overload]
    )


def executer(env: dict[str, str], run: str | None = None) -> tuple[int, str]:
    """Une exécution, jusqu'au bout : son code de sortie, sa sortie d'erreur."""
    env = env | {"PREFECT__FLOW_RUN_ID": run or str(uuid4())}
    p = lancer(env, "pas-un-numero")
    _, err = p.communicate(timeout=120)
    return p.returncode, err


def attendre(condition: Callable[[], object], delai: float = 90.0) -> None:
    fin = time.monotonic() + delai
    while not condition():
        assert time.monotonic() < fin, "attente dépassée"
        time.sleep(0.1)


def journal(env: dict[str, str]) -> str:
    chemin = chemin_prise(env).with_suffix(".log")
    return chemin.read_text(errors="replace") if chemin.exists() else ""


def pret(env: dict[str, str]) -> int:
    """Le processus prêt de cet environnement, une fois qu'il écoute."""
    attendre(lambda: "prêt : processus" in journal(env))
    return int(re.findall(r"prêt : processus (\d+)", journal(env))[-1])


def vivant(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # un zombie (fini, pas encore ramassé) compte pour mort
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except OSError:
        return False


def double_de(env: dict[str, str], run: str) -> int:
    motif = rf"exécution {run} : processus (\d+)"
    attendre(lambda: re.search(motif, journal(env)))
    return int(re.findall(motif, journal(env))[0])


@pytest.mark.timeout(300)
def test_la_premiere_execution_demarre_le_moteur_pret_et_les_suivantes_naissent_de_lui(
    dossier: Path,
) -> None:
    env = environnement(dossier)
    code, err = executer(env)
    assert code == 1 and INVALIDE in err  # faite comme avant, par prefect.engine
    pid = pret(env)
    runs = [str(uuid4()) for _ in range(3)]
    for run in runs:
        code, err = executer(env, run)
        # Le code de sortie et la sortie d'erreur du double arrivent au worker par le lanceur.
        assert code == 1 and INVALIDE in err, err
        assert "RuntimeWarning" not in err
        assert double_de(env, run) != pid
    assert vivant(pid)
    # Un autre environnement (d'autres réglages) a son propre processus prêt.
    autre = environnement(dossier, PREFECT_LOGGING_LEVEL="WARNING")
    assert chemin_prise(autre) != chemin_prise(env)
    assert executer(autre)[0] == 1
    assert pret(autre) != pid


@pytest.mark.timeout(300)
def test_un_signal_du_worker_va_au_double_et_un_lanceur_tue_emporte_son_double(
    dossier: Path,
) -> None:
    # Une API qui accepte la connexion et ne répond jamais : le moteur attend.
    with socket.socket() as muet:
        muet.bind(("127.0.0.1", 0))
        muet.listen(64)
        api = f"http://127.0.0.1:{muet.getsockname()[1]}/api"
        env = environnement(dossier, PREFECT_API_URL=api)
        executer(env)  # démarre le processus prêt
        pret(env)
        for signum, attendu in ((signal.SIGTERM, None), (signal.SIGKILL, -signal.SIGKILL)):
            run = str(uuid4())
            lanceur = lancer(env | {"PREFECT__FLOW_RUN_ID": run}, start_new_session=True)
            double = double_de(env, run)
            time.sleep(1)
            assert vivant(double) and lanceur.poll() is None
            # Le worker signale tout le groupe du lanceur (annulation, arrêt).
            os.killpg(lanceur.pid, signum)
            lanceur.communicate(timeout=60)
            if attendu is not None:
                assert lanceur.returncode == attendu
            else:
                assert lanceur.returncode != 0  # le moteur a reçu SIGTERM et s'est arrêté
            attendre(lambda d=double: not vivant(d), 30)  # type: ignore[misc]


@pytest.mark.timeout(300)
def test_un_module_change_sur_le_disque_arrete_le_moteur_pret_sans_perdre_l_execution(
    dossier: Path,
) -> None:
    # Un module de plus, importé par tout Python de cet environnement (sitecustomize) : « mise à
    # jour » de l'installation pendant que le processus prêt tourne.
    modules = dossier / "modules"
    modules.mkdir()
    ajoute = modules / "sitecustomize.py"
    ajoute.write_text("VERSION = 1\n", encoding="utf-8")
    env = environnement(dossier, PYTHONPATH=f"{modules}{os.pathsep}{RACINE}")
    executer(env)
    pid = pret(env)
    run = str(uuid4())
    assert executer(env, run)[0] == 1 and double_de(env, run)
    ajoute.write_text("VERSION = 2\n", encoding="utf-8")
    os.utime(ajoute, (time.time() + 5, time.time() + 5))
    run = str(uuid4())
    code, err = executer(env, run)
    assert code == 1 and INVALIDE in err  # faite quand même, par prefect.engine
    assert f"exécution {run}" not in journal(env)
    attendre(lambda: not vivant(pid), 30)
    assert "Un module a changé sur le disque" in chemin_prise(env).with_suffix(".log").read_text()
    # L'exécution suivante en démarre un neuf, qui sert celle d'après.
    executer(env)
    attendre(lambda: "prêt : processus" in journal(env))
    run = str(uuid4())
    assert executer(env, run)[0] == 1 and double_de(env, run)


@pytest.mark.timeout(300)
def test_le_moteur_pret_s_arrete_avec_le_dernier_worker_qu_il_a_servi(dossier: Path) -> None:
    env = environnement(dossier)
    # Un « worker » qui lance une exécution, attend que le processus prêt écoute, puis s'arrête.
    worker = (
        "import pathlib, subprocess, sys, time\n"
        "subprocess.run([sys.executable, '-m', 'flows.moteur', 'x'], capture_output=True)\n"
        "journal = pathlib.Path(sys.argv[1])\n"
        "fin = time.monotonic() + 90\n"
        "while time.monotonic() < fin and 'prêt : processus' not in (\n"
        "    journal.read_text() if journal.exists() else ''):\n"
        "    time.sleep(0.1)\n"
    )
    log = chemin_prise(env).with_suffix(".log")
    subprocess.run([sys.executable, "-c", worker, str(log)], env=env, check=True, timeout=120)
    texte = journal(env)
    pid = int(re.findall(r"prêt : processus (\d+)", texte)[-1])
    attendre(lambda: not vivant(pid), 30)
    assert not chemin_prise(env).exists()  # la prise est retirée


@pytest.mark.timeout(300)
def test_demandes_hostiles_et_refus(dossier: Path) -> None:
    env = environnement(dossier)
    executer(env)
    pid = pret(env)
    prise = str(chemin_prise(env))
    # Des octets quelconques, une demande sans descripteurs, une taille absurde, une connexion
    # muette coupée : le processus prêt les ignore et sert la suivante.
    for envoi in (b"n'importe quoi\n" * 100, ENTETE.pack(10) + b"{}", b""):
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(prise)
            s.sendall(envoi)
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(prise)
        socket.send_fds(s, [ENTETE.pack(2**31)], [0, 1, 2])
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(prise)
        socket.send_fds(s, [ENTETE.pack(7)], [0, 1, 2])
        s.sendall(b"pas du json")
    run = str(uuid4())
    assert executer(env, run)[0] == 1 and double_de(env, run) and vivant(pid)
    assert "Demande illisible, ignorée" in journal(env)

    # Une demande abandonnée par son lanceur (passé par prefect.engine) avant que le processus
    # prêt ne la lise (il est retenu 5 s par une connexion muette) : rien n'est lancé, elle ne
    # tournerait pas deux fois.
    abandonnee = str(uuid4())
    corps = json.dumps(
        {
            "env": env | {"PREFECT__FLOW_RUN_ID": abandonnee},
            "cwd": tempfile.gettempdir(),
            "arguments": ["pas-un-numero"],
            "worker": os.getpid(),
        }
    ).encode()
    with socket.socket(socket.AF_UNIX) as muette:
        muette.connect(prise)
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(prise)
            socket.send_fds(s, [ENTETE.pack(len(corps))], [0, 1, 2])
            s.sendall(corps)
        attendre(lambda: journal(env).count("Demande illisible") >= 5, 30)
    run = str(uuid4())
    assert executer(env, run)[0] == 1 and double_de(env, run)
    assert f"exécution {abandonnee}" not in journal(env)

    # COURRIER_MOTEUR_PRET=non : prefect.engine directement, aucun processus prêt.
    sans = environnement(dossier, COURRIER_MOTEUR_PRET="non")
    code, err = executer(sans)
    assert code == 1 and INVALIDE in err
    assert not chemin_prise(sans).exists()
    assert not chemin_prise(sans).with_suffix(".log").exists()

    # Un dossier de prises ouvert à tous (autre utilisateur possible) : refusé, l'exécution
    # passe par prefect.engine.
    ouvert = dossier / "ouvert"
    ouvert.mkdir()
    env_ouvert = environnement(ouvert)
    chemin_prise(env_ouvert).parent.mkdir(mode=0o777)
    chemin_prise(env_ouvert).parent.chmod(0o777)
    for _ in range(2):
        code, err = executer(env_ouvert)
        assert code == 1 and INVALIDE in err
    assert not chemin_prise(env_ouvert).exists()


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    ("fichier", "contenu", "raison"),
    [
        # Un fork depuis un processus à plusieurs fils peut hériter d'un verrou pris.
        (
            "sitecustomize.py",
            "import threading, time\n"
            "threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()\n",
            "fils ouverts après les imports",
        ),
        # Une dépendance cassée : openai remplacé par un module qui ne s'importe pas.
        (
            "openai.py",
            "raise ImportError('openai cassé pour ce test')\n",
            "import impossible (ImportError : openai cassé pour ce test)",
        ),
    ],
    ids=["fil-ouvert", "import-casse"],
)
def test_un_processus_pret_qui_ne_peut_pas_servir_le_dit_et_n_est_pas_redemarre(
    dossier: Path, fichier: str, contenu: str, raison: str
) -> None:
    """Il refuse, le dit, et n'est pas redémarré à chaque exécution (ce qui coûterait un import
    complet de plus chaque fois) ; chaque exécution passe par prefect.engine."""
    modules = dossier / "modules"
    modules.mkdir()
    (modules / fichier).write_text(contenu, encoding="utf-8")
    env = environnement(dossier, PYTHONPATH=f"{modules}{os.pathsep}{RACINE}")
    executer(env)
    refus = chemin_prise(env).with_suffix(".refus")
    attendre(refus.exists)
    assert raison in refus.read_text()
    attendre(lambda: "Pas de dédoublement" in journal(env))
    ecrit = refus.stat().st_mtime_ns
    for _ in range(2):
        code, err = executer(env)
        assert code == 1 and INVALIDE in err
    time.sleep(5)  # le temps qu'un processus prêt redémarré importe tout et refuse de nouveau
    assert refus.stat().st_mtime_ns == ecrit  # aucun n'a été redémarré
    assert not chemin_prise(env).exists()
    assert "prêt : processus" not in journal(env)
