"""Le moteur prêt : ce que le worker Prefect lance pour chaque exécution.

Sans lui, chaque exécution (la relève d'une commune, son digest…) est un Python neuf, `python -m
prefect.engine`, qui réimporte Prefect, Courrier et openai avant de commencer : ~1,7 s de calcul
sur une machine calme, ~3,4 s quand les cœurs sont occupés (preuves/bench_communes.py), soit,
pour une nuit de trente communes sur deux cœurs, autant de temps pris à l'OCR et à l'analyse.

`python -m flows.moteur` (la commande que `courrier planifier --installer` donne à la file de
travail) demande plutôt l'exécution à un **processus prêt** de la même machine, qui a déjà tout
importé et se dédouble (fork) pour chacune :

- la première exécution ne trouve personne : elle démarre le processus prêt, pour les
  suivantes, et s'exécute elle-même comme avant (`prefect.engine`) ;
- les suivantes lui passent leur environnement, leur dossier et leurs sorties (les descripteurs
  eux-mêmes, SCM_RIGHTS) ; le double prend ces sorties, cet environnement, ce dossier, lance
  `prefect.engine` et finit comme un processus ordinaire ; le lanceur attend son code de sortie
  et le rend au worker ; un signal reçu par le lanceur (annulation) lui est transmis ; un
  lanceur tué sans prévenir emporte son double ;
- le processus prêt sert un seul environnement (le même Python, les mêmes réglages ; seules les
  variables propres à chaque exécution, `PREFECT__…`, changent) : un autre environnement en a
  un autre ; il s'arrête avec le dernier worker qu'il a servi (un worker redémarré en
  démarre un neuf), après `COURRIER_MOTEUR_ATTENTE_S` secondes sans exécution (une heure par
  défaut), et dès qu'un module qu'il a importé change sur le disque (mise à jour de Courrier
  ou d'une dépendance : l'exécution passe alors par `prefect.engine`, et le suivant démarre à
  neuf) ; il note chaque exécution servie dans `<prise>.log` ;
- s'il y a le moindre doute (processus prêt absent, qui ne répond pas, qui refuse), l'exécution
  passe par `prefect.engine`, comme avant : le processus prêt ne fait que gagner du temps.
  `COURRIER_MOTEUR_PRET=non` le met de côté.

Le processus prêt n'a qu'un fil (vérifié avant de servir : un fork depuis un processus à
plusieurs fils peut hériter d'un verrou pris) et ne parle à personne avant le fork : aucun
client Prefect, aucune base, aucun fichier ouvert n'est partagé entre exécutions.

Ce module n'importe que la bibliothèque standard : le lanceur coûte ~30 ms.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Ce que le processus prêt importe avant de servir (le moteur de Prefect, les flows de
# Courrier, donc Courrier, et le client du LLM).
PRECHARGES = (
    "prefect.engine",
    "prefect.flow_engine",
    "prefect.task_engine",
    "flows.releve",
    "flows.digest",
    "flows.envoi",
    "openai",
)
# Ce que systemd pose pour chaque instance de service (courrier-worker@1, @2…) : sans effet
# sur Python ; les workers d'une machine partagent ainsi un processus prêt.
PROPRES_A_UNE_INSTANCE = frozenset(
    {"INVOCATION_ID", "JOURNAL_STREAM", "SYSTEMD_EXEC_PID", "MANAGERPID"}
)
ATTENTE_PAR_DEFAUT_S = 3600.0
REPONSE_S = 60.0  # la réponse du processus prêt à une demande
REFUS_S = 86400.0  # un processus prêt qui a refusé de servir n'est pas redémarré avant
SIGNAUX_TRANSMIS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
ENTETE = struct.Struct("!I")


def desactive(env: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    return env.get("COURRIER_MOTEUR_PRET", "").strip().lower() in ("0", "non", "no", "false")


def cle(env: dict[str, str] | os._Environ[str], executable: str = sys.executable) -> str:
    """Ce qui distingue un processus prêt d'un autre : le Python et l'environnement, hors les
    variables propres à une exécution (`PREFECT__FLOW_RUN_ID`, `PREFECT__CONTROL_PORT`…)."""
    stable = sorted(
        (k, v)
        for k, v in env.items()
        if not k.startswith("PREFECT__") and k not in PROPRES_A_UNE_INSTANCE
    )
    return hashlib.sha256(json.dumps([executable, stable]).encode()).hexdigest()[:16]


def chemin_prise(env: dict[str, str] | os._Environ[str]) -> Path:
    """La prise (socket Unix) du processus prêt de cet environnement, dans un dossier à cet
    utilisateur seul (un chemin court : une prise Unix tient en 107 octets)."""
    dossier = Path(env.get("COURRIER_MOTEUR_DOSSIER") or tempfile.gettempdir())
    return dossier / f"courrier-moteur-{os.getuid()}" / f"{cle(env)}.sock"


def dossier_prive(dossier: Path) -> None:
    dossier.mkdir(mode=0o700, exist_ok=True)
    etat = dossier.stat()
    if etat.st_uid != os.getuid() or etat.st_mode & 0o077:
        raise PermissionError(f"le dossier {dossier} n'est pas à cet utilisateur seul")


# --- Le lanceur : ce que le worker exécute ---------------------------------------------------


def moteur_direct(arguments: list[str]) -> None:
    """L'exécution par `prefect.engine`, dans ce processus (remplacé) : le chemin d'avant."""
    os.execv(sys.executable, [sys.executable, "-m", "prefect.engine", *arguments])


def demarrer_pret(prise: Path) -> None:
    """Le processus prêt, détaché (sa propre session), pour les exécutions suivantes ; ce qu'il
    a à dire va dans `<prise>.log`."""
    with contextlib.suppress(OSError):
        dossier_prive(prise.parent)
        with open(prise.with_suffix(".log"), "ab") as journal:
            subprocess.Popen(
                [sys.executable, "-m", "flows.moteur", "--pret", str(prise), str(os.getppid())],
                stdin=subprocess.DEVNULL,
                stdout=journal,
                stderr=journal,
                cwd=prise.parent,
                start_new_session=True,
            )


def _lire_ligne(s: socket.socket, tampon: bytearray) -> str | None:
    while b"\n" not in tampon:
        morceau = s.recv(4096)
        if not morceau:
            return None
        tampon += morceau
    ligne, _, reste = bytes(tampon).partition(b"\n")
    tampon[:] = reste
    return ligne.decode("utf-8", "replace")


def demander(prise: Path, arguments: list[str]) -> int | None:
    """L'exécution demandée au processus prêt ; son code de sortie, ou None s'il n'a pas pu la
    prendre (rien n'a commencé : l'appelant passe par `prefect.engine`)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(5)
        s.connect(str(prise))
        demande = json.dumps(
            {
                "env": dict(os.environ),
                "cwd": os.getcwd(),
                "arguments": arguments,
                "worker": os.getppid(),
            }
        ).encode()
        socket.send_fds(s, [ENTETE.pack(len(demande))], [0, 1, 2])
        s.sendall(demande)
        # Assez longtemps pour ne pas abandonner une demande qu'il va prendre (le double
        # tournerait en même temps que prefect.engine) ; il ne la prend plus une fois la
        # connexion fermée.
        s.settimeout(REPONSE_S)
        tampon = bytearray()
        reponse = _lire_ligne(s, tampon)
    except OSError:
        s.close()
        return None
    if not reponse or not reponse.startswith("P"):
        s.close()
        return None  # refusée (module changé sur le disque…) : rien n'a commencé
    return _attendre(s, tampon)


def _attendre(s: socket.socket, tampon: bytearray) -> int:
    """Le double tourne : ses signaux lui sont transmis, son code de sortie rendu."""

    def transmettre(signum: int, _cadre: object) -> None:
        with contextlib.suppress(OSError):
            s.sendall(f"S{signum}\n".encode())

    for sig in SIGNAUX_TRANSMIS:
        signal.signal(sig, transmettre)
    s.settimeout(None)
    while True:
        try:
            ligne = _lire_ligne(s, tampon)
        except InterruptedError:
            continue
        except OSError:
            ligne = None
        if ligne is None:
            print(
                "Courrier : le processus prêt s'est arrêté pendant l'exécution ; "
                "son issue est inconnue.",
                file=sys.stderr,
            )
            return 1
        if ligne.startswith("X"):
            code = int(ligne[1:])
            return 128 - code if code < 0 else code  # tué par un signal : comme un shell


def _a_demarrer(prise: Path) -> bool:
    """Personne ne sert cette prise (son verrou est libre), et aucun processus prêt ne l'a
    refusée pour de bon."""
    with contextlib.suppress(OSError):
        if time.time() - prise.with_suffix(".refus").stat().st_mtime < REFUS_S:
            return False
    try:
        verrou = os.open(prise.with_suffix(".verrou"), os.O_RDONLY)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        fcntl.flock(verrou, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return False  # un processus prêt le tient : il s'ouvre, ou se ferme
    finally:
        os.close(verrou)
    return True


def lancer(arguments: list[str]) -> int:
    if desactive():
        moteur_direct(arguments)
    prise = chemin_prise(os.environ)
    code = demander(prise, arguments)
    if code is not None:
        return code
    if _a_demarrer(prise):
        demarrer_pret(prise)
    moteur_direct(arguments)
    return 1  # pas atteint : execv remplace le processus


def principal(arguments: list[str]) -> int:
    if arguments[:1] == ["--pret"] and len(arguments) == 3:
        from flows.moteur_pret import servir

        attente = float(os.environ.get("COURRIER_MOTEUR_ATTENTE_S") or ATTENTE_PAR_DEFAUT_S)
        return servir(Path(arguments[1]), attente, int(arguments[2]))
    return lancer(arguments)


if __name__ == "__main__":
    sys.exit(principal(sys.argv[1:]))
