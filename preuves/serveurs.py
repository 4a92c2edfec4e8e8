"""Vrais serveurs pour les tests, sur 127.0.0.1 seulement, arrêtés à la fin du test.

Dovecot (IMAP) et PostgreSQL viennent des paquets Debian installés par `make test`.
"""

from __future__ import annotations

import asyncio
import email
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from connecteurs.smtp import ParametresSmtp
from courrier.service_horaires import api_saine

MOT_DE_PASSE = "secret-de-test"


def port_libre() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def attendre_port(port: int, delai: float = 10.0) -> None:
    fin = time.monotonic() + delai
    while time.monotonic() < fin:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"rien n'écoute sur 127.0.0.1:{port}")


@dataclass
class Dovecot:
    port: int
    dossier: Path
    utilisateurs: list[str]
    mot_de_passe: str = MOT_DE_PASSE


@contextmanager
def dovecot(utilisateurs: list[str], introspection: str | None = None) -> Iterator[Dovecot]:
    """`introspection` : l'URL RFC 7662 d'un fournisseur OAuth2 ; XOAUTH2 et OAUTHBEARER sont
    alors acceptés (passdb oauth2), à côté du mot de passe qui sert au test à déposer."""
    binaire = shutil.which("dovecot") or "/usr/sbin/dovecot"
    dossier = Path(tempfile.mkdtemp(prefix="courrier-dovecot-"))
    # Le dossier doit être lisible par l'utilisateur « dovecot » (mkdtemp le crée en 0700).
    dossier.chmod(0o755)
    port = port_libre()
    (dossier / "users").write_text(
        "".join(f"{u}:{{PLAIN}}{MOT_DE_PASSE}::::\n" for u in utilisateurs), encoding="utf-8"
    )
    for sous in ("run", "state", "home"):
        (dossier / sous).mkdir()
    shutil.chown(dossier / "home", "nobody", "nogroup")
    conf = dossier / "dovecot.conf"
    mecanismes, passdb_oauth = "plain login", ""
    if introspection is not None:
        (dossier / "dovecot-oauth2.conf.ext").write_text(
            f"""introspection_mode = post
introspection_url = {introspection}
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
""",
            encoding="utf-8",
        )
        mecanismes += " xoauth2 oauthbearer"
        passdb_oauth = f"""
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {dossier}/dovecot-oauth2.conf.ext
}}"""
    conf.write_text(
        f"""
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = {mecanismes}
base_dir = {dossier}/run
state_dir = {dossier}/state
log_path = {dossier}/dovecot.log
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u {dossier}/users
}}{passdb_oauth}
userdb {{
  driver = passwd-file
  args = username_format=%u {dossier}/users
  default_fields = uid=nobody gid=nogroup home={dossier}/home/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
""",
        encoding="utf-8",
    )
    processus = subprocess.Popen([binaire, "-F", "-c", str(conf)], start_new_session=True)
    try:
        attendre_port(port)
        yield Dovecot(port=port, dossier=dossier, utilisateurs=utilisateurs)
    finally:
        processus.terminate()
        try:
            processus.wait(timeout=10)
        except subprocess.TimeoutExpired:
            processus.kill()
        shutil.rmtree(dossier, ignore_errors=True)


def binaire_postgres(nom: str) -> str | None:
    candidats = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{nom}"), reverse=True)
    return candidats[0] if candidats else shutil.which(nom)


def creer_base(url_grappe: str, nom: str) -> str:
    """Une base neuve `nom` sur la grappe de `postgres()` ; rend son URL."""
    from sqlalchemy import create_engine, text

    moteur = create_engine(url_grappe, isolation_level="AUTOCOMMIT")
    with moteur.connect() as connexion:
        connexion.execute(text(f'CREATE DATABASE "{nom}"'))
    moteur.dispose()
    return url_grappe.rsplit("/", 1)[0] + f"/{nom}"


@contextmanager
def postgres() -> Iterator[str]:
    """Une grappe PostgreSQL privée ; rend l'URL SQLAlchemy. Tourne sous l'utilisateur postgres."""
    initdb = binaire_postgres("initdb")
    pg_ctl = binaire_postgres("pg_ctl")
    if not initdb or not pg_ctl:
        raise RuntimeError("PostgreSQL n'est pas installé (paquet Debian postgresql)")
    dossier = Path(tempfile.mkdtemp(prefix="courrier-pg-"))
    dossier.chmod(0o755)
    donnees = dossier / "donnees"
    socket_dir = dossier / "socket"
    socket_dir.mkdir()
    port = port_libre()
    en_root = os.geteuid() == 0
    if en_root:
        shutil.chown(dossier, "postgres", "postgres")
        shutil.chown(socket_dir, "postgres", "postgres")

    def lancer(commande: list[str]) -> None:
        if en_root:
            commande = ["runuser", "-u", "postgres", "--", *commande]
        subprocess.run(commande, check=True, capture_output=True)

    lancer([initdb, "-D", str(donnees), "-U", "postgres", "--auth=trust", "-E", "UTF8"])
    lancer(
        [
            pg_ctl,
            "-D",
            str(donnees),
            "-o",
            f"-p {port} -c listen_addresses=127.0.0.1 -k {socket_dir} -c fsync=off",
            "-l",
            str(dossier / "pg.log"),
            "-w",
            "start",
        ]
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        try:
            lancer([pg_ctl, "-D", str(donnees), "-m", "immediate", "-w", "stop"])
        finally:
            shutil.rmtree(dossier, ignore_errors=True)


# --- Prefect : un vrai serveur et des workers, chacun dans son groupe de processus ----------


def arreter_processus(processus: subprocess.Popen[bytes], signaux: int = 1) -> None:
    """`signaux` SIGTERM au processus (un worker Prefect en veut deux), puis SIGKILL au groupe.

    Le processus a été lancé avec `start_new_session=True` : son groupe contient aussi ce qu'il
    a lancé (les exécutions d'un worker) ; rien n'y survit."""
    import signal

    for _ in range(signaux):
        if processus.poll() is not None:
            break
        try:
            processus.send_signal(signal.SIGTERM)
            processus.wait(timeout=10)
        except subprocess.TimeoutExpired:
            continue
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(processus.pid, signal.SIGKILL)  # ce qui resterait du groupe
    if processus.poll() is None:
        processus.wait(timeout=10)


@contextmanager
def prefect_serveur(env: dict[str, str], journal: Path, delai: float = 90.0) -> Iterator[str]:
    """`prefect server start` sur 127.0.0.1, port libre, journal dans `journal` ; rend l'URL de
    l'API. `env` porte PREFECT_HOME (et, s'il le faut, la base de Prefect)."""
    import sys

    port = port_libre()
    url = f"http://127.0.0.1:{port}/api"
    commande = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
    with journal.open("ab") as sortie:
        processus = subprocess.Popen(
            [*commande, "--port", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=sortie,
            stderr=subprocess.STDOUT,
            env={k: v for k, v in env.items() if k != "PREFECT_API_URL"},
            start_new_session=True,
        )
    try:
        fin = time.monotonic() + delai
        while not api_saine(url):
            if processus.poll() is not None:
                raise RuntimeError(f"le serveur Prefect s'est arrêté ; voir {journal}")
            if time.monotonic() > fin:
                raise RuntimeError(f"le serveur Prefect ne répond pas ; voir {journal}")
            time.sleep(0.2)
        yield url
    finally:
        arreter_processus(processus, signaux=1)


@contextmanager
def prefect_worker(
    pool: str,
    nom: str,
    env: dict[str, str],
    journal: Path,
    file: str | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """`prefect worker start --pool … --type process`, dans son propre groupe de processus.

    `env` (PREFECT_API_URL, COURRIER_…) passe aux exécutions qu'il lance ; `file` : la seule
    file (work queue) du pool qu'il écoute."""
    import sys

    commande = [sys.executable, "-m", "prefect", "worker", "start", "--pool", pool]
    commande += ["--type", "process", "--name", nom]
    if file is not None:
        commande += ["--work-queue", file]
    with processus_journalise(commande, journal, env, signaux=2) as p:
        yield p


@contextmanager
def processus_journalise(
    commande: list[str], journal: Path, env: dict[str, str] | None = None, signaux: int = 1
) -> Iterator[subprocess.Popen[bytes]]:
    """Un programme dans son propre groupe, sa sortie ajoutée à `journal`, arrêté à la fin."""
    with journal.open("ab") as sortie:
        p = subprocess.Popen(
            commande,
            stdin=subprocess.DEVNULL,
            stdout=sortie,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        yield p
    finally:
        arreter_processus(p, signaux=signaux)


# --- Serveur SMTP de test ---------------------------------------------------------------------


@dataclass
class Boite:
    """Le gestionnaire aiosmtpd : garde chaque message reçu ; peut refuser ou faire attendre."""

    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    refus_rcpt: str | None = None  # p. ex. "550 5.1.1 inconnu"
    refuses: set[str] = field(default_factory=set)  # seules ces adresses reçoivent refus_rcpt
    attente_data_s: float = 0.0

    async def handle_RCPT(  # nom imposé par aiosmtpd
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.refus_rcpt and (not self.refuses or address in self.refuses):
            return self.refus_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.attente_data_s:
            await asyncio.sleep(self.attente_data_s)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepte"


@dataclass
class ServeurSmtp:
    boite: Boite
    port: int

    def parametres(self, delai_s: float = 5.0) -> ParametresSmtp:
        return ParametresSmtp("127.0.0.1", self.port, securite="aucune", delai_s=delai_s)

    def lus(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(contenu, policy=default)
            for _, _, contenu in self.boite.messages
        ]


@contextmanager
def serveur_smtp() -> Iterator[ServeurSmtp]:
    """Un vrai serveur SMTP (aiosmtpd) sur 127.0.0.1, qui garde ce qu'il reçoit."""
    boite = Boite()
    controleur = Controller(boite, hostname="127.0.0.1", port=port_libre())
    controleur.start()
    try:
        yield ServeurSmtp(boite, controleur.port)
    finally:
        controleur.stop()
