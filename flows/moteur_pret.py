"""Le processus prêt (flows/moteur.py) : il a tout importé, se dédouble pour chaque exécution
qu'un lanceur lui demande, et rend au lanceur le code de sortie du double.

Un seul fil, et rien d'ouvert vers l'extérieur avant le fork (ni client Prefect, ni base, ni
fichier) : chaque double commence comme un `python -m prefect.engine` neuf, les imports en moins.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import json
import os
import selectors
import signal
import socket
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from flows.moteur import ENTETE, PRECHARGES, SIGNAUX_TRANSMIS, dossier_prive


@dataclass
class Demande:
    """Ce qu'un double exécute : l'environnement, le dossier et les arguments du lanceur."""

    env: dict[str, str]
    cwd: str
    arguments: list[str]
    worker: int  # le processus qui a lancé le lanceur


def _empreinte_modules() -> dict[str, float]:
    empreinte = {}
    for module in list(sys.modules.values()):
        fichier = getattr(module, "__file__", None)
        if fichier:
            with contextlib.suppress(OSError):
                empreinte[fichier] = os.stat(fichier).st_mtime
    return empreinte


def _modules_changes(empreinte: dict[str, float]) -> bool:
    for fichier, mtime in empreinte.items():
        try:
            if os.stat(fichier).st_mtime != mtime:
                return True
        except OSError:
            return True
    return False


def _recevoir(conn: socket.socket) -> tuple[Demande, list[int]]:
    conn.settimeout(5)
    entete, fds, _, _ = socket.recv_fds(conn, ENTETE.size, 3)
    try:
        if len(entete) != ENTETE.size or len(fds) != 3:
            raise ValueError("demande incomplète")
        (taille,) = ENTETE.unpack(entete)
        if taille > 16 * 1024 * 1024:
            raise ValueError("demande trop grande")
        corps = bytearray()
        while len(corps) < taille:
            morceau = conn.recv(min(65536, taille - len(corps)))
            if not morceau:
                raise ValueError("demande coupée")
            corps += morceau
        d = json.loads(corps)
        demande = Demande(
            dict(d["env"]), str(d["cwd"]), [str(a) for a in d["arguments"]], int(d["worker"])
        )
        if not all(isinstance(v, str) for v in demande.env.values()):
            raise ValueError("environnement invalide")
        return demande, fds
    except Exception:
        for fd in fds:
            os.close(fd)
        raise


class Pret:
    """Le processus prêt : il accepte les demandes, se dédouble pour chacune, rend les codes de
    sortie. `servir()` rend la demande à exécuter dans le double, None dans le processus prêt
    quand il s'arrête."""

    def __init__(self, prise: Path, attente_s: float, worker: int):
        self.prise = prise
        self.attente_s = attente_s
        self.workers = {worker}  # il vit tant que l'un d'eux vit
        self.doubles: dict[int, socket.socket] = {}  # pid → connexion de son lanceur
        self.fins: dict[int, int] = {}  # pid → pidfd, lisible quand le double finit
        self.choix = selectors.DefaultSelector()
        self.ecoute: socket.socket | None = None
        self.verrou: int | None = None
        self.empreinte: dict[str, float] = {}
        self.inode = 0
        self.derniere_activite = time.monotonic()

    def ouvrir(self) -> bool:
        """Le verrou (un seul processus prêt par prise), les modules, la prise ; False si un
        autre sert déjà ou si ce processus ne peut pas se dédoubler sans risque."""
        dossier_prive(self.prise.parent)
        self.verrou = os.open(self.prise.with_suffix(".verrou"), os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(self.verrou, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # un autre processus prêt sert déjà cet environnement
        with contextlib.suppress(OSError):
            os.ftruncate(sys.stdout.fileno(), 0)  # le journal (<prise>.log) de ce processus-ci
        import importlib

        try:
            for module in PRECHARGES:
                importlib.import_module(module)
        except Exception as e:  # l'exécution, elle, passe par prefect.engine, qui le dira
            return self._refuser(f"import impossible ({e.__class__.__name__} : {e})")
        if threading.active_count() != 1:
            return self._refuser(f"fils ouverts après les imports ({threading.enumerate()})")
        self.empreinte = _empreinte_modules()
        # Les objets des imports ne sont plus parcourus par le ramasse-miettes : chaque double
        # les partage sans les recopier (copie à l'écriture) ni les repasser à chaque collecte.
        gc.collect()
        gc.freeze()
        with contextlib.suppress(FileNotFoundError):
            self.prise.unlink()  # la prise d'un processus prêt mort (le verrou est à nous)
        self.ecoute = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ecoute.bind(str(self.prise))
        os.chmod(self.prise, 0o600)
        self.inode = os.stat(self.prise).st_ino
        self.ecoute.listen(64)
        self.choix.register(self.ecoute, selectors.EVENT_READ)
        print(f"prêt : processus {os.getpid()}, {len(sys.modules)} modules importés", flush=True)
        return True

    def _refuser(self, raison: str) -> bool:
        """Pour un moment (mêmes imports, même résultat) : les lanceurs ne redémarrent pas de
        processus prêt pour cet environnement avant un jour (flows/moteur.py, REFUS_S)."""
        self.prise.with_suffix(".refus").write_text(raison + "\n", encoding="utf-8")
        print(f"Pas de dédoublement : {raison}.", flush=True)
        return False

    def servir(self) -> Demande | None:
        while self.ecoute is not None or self.doubles:
            for cle_, _ in self.choix.select(timeout=0.5):
                if cle_.fileobj is self.ecoute:
                    demande = self._accepter()
                    if demande is not None:
                        return demande  # dans le double
                elif isinstance(cle_.fileobj, int):
                    pass  # un double a fini : ramassé ci-dessous
                else:
                    self._ecouter_lanceur(cle_.fileobj)  # type: ignore[arg-type]
            self._ramasser()
            self.workers = {w for w in self.workers if _vivant(w)}
            inactif = time.monotonic() - self.derniere_activite > self.attente_s
            fini = inactif or not self.workers or not self._a_nous()
            if self.ecoute is not None and not self.doubles and fini:
                self._fermer_ecoute()
        return None

    def _a_nous(self) -> bool:
        """La prise est toujours la nôtre (pas effacée, pas remplacée)."""
        try:
            return os.stat(self.prise).st_ino == self.inode
        except OSError:
            return False

    def _fermer_ecoute(self) -> None:
        assert self.ecoute is not None
        self.choix.unregister(self.ecoute)
        if self._a_nous():
            with contextlib.suppress(OSError):
                self.prise.unlink()
        self.ecoute.close()
        self.ecoute = None

    def _accepter(self) -> Demande | None:
        assert self.ecoute is not None
        conn, _ = self.ecoute.accept()
        self.derniere_activite = time.monotonic()
        try:
            demande, fds = _recevoir(conn)
        except (OSError, ValueError, KeyError, TypeError) as e:
            print(f"Demande illisible, ignorée : {e}", flush=True)
            conn.close()
            return None
        if _coupee(conn):
            # Le lanceur n'attend plus (il est passé par prefect.engine) : ne rien lancer.
            conn.close()
            for fd in fds:
                os.close(fd)
            return None
        if _modules_changes(self.empreinte):
            print("Un module a changé sur le disque : le processus prêt s'arrête.", flush=True)
            with contextlib.suppress(OSError):
                conn.sendall(b"Rmodules changes\n")
            conn.close()
            for fd in fds:
                os.close(fd)
            self._fermer_ecoute()
            return None
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            self._dans_le_double(conn, fds)
            return demande
        for fd in fds:
            os.close(fd)
        self.doubles[pid] = conn
        self.workers.add(demande.worker)
        self.choix.register(conn, selectors.EVENT_READ, pid)
        with contextlib.suppress(OSError, AttributeError):  # Linux ≥ 5.3 ; sinon, la ronde
            self.fins[pid] = os.pidfd_open(pid)
            self.choix.register(self.fins[pid], selectors.EVENT_READ, pid)
        vise = demande.env.get("PREFECT__FLOW_RUN_ID", "")
        print(f"exécution {vise} : processus {pid}, worker {demande.worker}", flush=True)
        with contextlib.suppress(OSError):
            conn.sendall(f"P{pid}\n".encode())
        return None

    def _dans_le_double(self, conn: socket.socket, fds: list[int]) -> None:
        """Le double ne garde que les sorties de son lanceur : ni la prise, ni le verrou, ni les
        connexions des autres."""
        self.choix.close()
        for autre in self.doubles.values():
            autre.close()
        for fd in self.fins.values():
            os.close(fd)
        self.doubles, self.fins = {}, {}
        if self.ecoute is not None:
            self.ecoute.close()
        if self.verrou is not None:
            os.close(self.verrou)
        conn.close()
        for cible, fd in enumerate(fds):
            os.dup2(fd, cible)
            os.close(fd)

    def _ecouter_lanceur(self, conn: socket.socket) -> None:
        pid = next(p for p, c in self.doubles.items() if c is conn)
        try:
            donnees = conn.recv(256)
        except OSError:
            donnees = b""
        if not donnees:
            # Le lanceur est mort sans prévenir (tué par le worker) : son double le suit,
            # avec ses processus, comme un moteur lancé directement.
            _signaler(pid, signal.SIGKILL)
            self.choix.unregister(conn)
            return
        for ligne in donnees.decode("ascii", "replace").split("\n"):
            if ligne.startswith("S") and ligne[1:].isdigit():
                signum = int(ligne[1:])
                if signum in {int(s) for s in SIGNAUX_TRANSMIS}:
                    _signaler(pid, signum)

    def _ramasser(self) -> None:
        while self.doubles:
            try:
                pid, statut = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            fin = self.fins.pop(pid, None)
            if fin is not None:
                self.choix.unregister(fin)
                os.close(fin)
            conn = self.doubles.pop(pid, None)
            if conn is None:
                continue
            with contextlib.suppress(KeyError, ValueError):
                self.choix.unregister(conn)
            with contextlib.suppress(OSError):
                conn.sendall(f"X{os.waitstatus_to_exitcode(statut)}\n".encode())
            conn.close()
            self.derniere_activite = time.monotonic()


def _coupee(conn: socket.socket) -> bool:
    """Le lanceur a fermé la connexion (fin de fichier en attente)."""
    conn.setblocking(False)  # avec un délai, recv attendrait des données jusqu'au bout
    try:
        return conn.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False  # rien à lire : il attend la réponse
    except OSError:
        return True
    finally:
        conn.settimeout(5)


def _vivant(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signaler(pid: int, signum: int) -> None:
    """Au groupe du double (il a le sien, comme le moteur qu'un worker lance) : le worker
    signale de même tout le groupe du lanceur."""
    try:
        os.killpg(pid, signum)
    except OSError:
        with contextlib.suppress(OSError):
            os.kill(pid, signum)


def executer(demande: Demande) -> int:
    """Dans le double : l'exécution, comme `python -m prefect.engine` l'aurait faite."""
    import runpy

    os.setsid()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.chdir(demande.cwd)
    os.environ.clear()
    os.environ.update(demande.env)
    sys.path[0] = demande.cwd
    sys.argv = [sys.argv[0], *demande.arguments]
    # Les réglages de Prefect relus dans cet environnement (les mêmes que ceux du processus
    # prêt, hors variables d'une exécution : flows/moteur.cle) ; la fonction manque à de
    # premières versions de Prefect 3, où l'on garde ceux de l'import.
    with contextlib.suppress(ImportError):
        from prefect.context import refresh_global_settings_context

        refresh_global_settings_context()
    # runpy prévient que `prefect.engine` est déjà importé : c'est voulu (le module est rejoué
    # comme programme principal, ses dépendances déjà chargées).
    warnings.filterwarnings("ignore", ".*found in sys.modules after import", RuntimeWarning)
    # Un `exit(1)` du moteur remonte tel quel (SystemExit), comme d'un processus neuf.
    runpy.run_module("prefect.engine", run_name="__main__", alter_sys=True)
    return 0


def servir(prise: Path, attente_s: float, worker: int) -> int:
    """Le processus prêt de `prise` ; dans chaque double, l'exécution demandée."""
    pret = Pret(prise, attente_s, worker)
    if not pret.ouvrir():
        return 0
    demande = pret.servir()
    return 0 if demande is None else executer(demande)
