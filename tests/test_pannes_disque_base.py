"""Disque plein, base verrouillée, base arrêtée : la relève s'arrête sur une phrase française,
ne laisse rien d'à moitié fait, et la relève suivante finit tout.

Chaque test lance la vraie commande `courrier releve` (sans moteur Prefect) dans un processus à
part, contre un vrai Dovecot. Le dossier de données est un tmpfs de quelques mégaoctets que le
courrier remplit ; la base SQLite est verrouillée (BEGIN EXCLUSIVE) par un autre programme en
pleine relève ; le serveur PostgreSQL est arrêté en pleine relève. Pour frapper « en pleine
relève », la commande se suspend elle-même (`COURRIER_PANNE=apres_enregistrement:3:pause`,
SIGSTOP) après le 3e courrier enregistré ; le test fait tomber le disque ou la base, puis la
réveille.

Après l'arrêt : code non nul, une seule ligne en français sur la sortie d'erreur (aucune trace
Python) ; chaque message est soit au registre, octets dans l'archive, soit encore dans la
boîte (rien dans « Traité » sans sa ligne au registre) ; `verifier()` ne trouve rien ; aucun
fichier provisoire dans l'archive. Après la relance : chaque message une fois et une seule, la
boîte vide, le chrono sans trou, tout lu et analysé.

Le dossier de Prefect (PREFECT_HOME) est hors du tmpfs : ce qui est éprouvé ici, c'est le
registre et son archive. (Avec PREFECT_HOME sur un disque plein, le serveur Prefect temporaire
ne démarre plus ; la commande le dit aussi en une phrase.)
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
from imapclient import IMAPClient

from preuves import serveurs
from preuves.pannes import Boite as BoitePreuve
from preuves.pannes import message_ids
from registre.archive import Archive
from registre.base import creer_engine
from registre.registre import Registre

RACINE = Path(__file__).resolve().parents[1]
TRAITE = "Traité"
POSTGRES = ["runuser", "-u", "postgres", "--"]
AUTH = ["--auth=trust", "-E", "UTF8"]

pytestmark = [
    pytest.mark.lent,
    pytest.mark.skipif(os.geteuid() != 0, reason="monter un tmpfs demande d'être root"),
]


@contextlib.contextmanager
def tmpfs(dossier: Path, taille: str) -> Iterator[Path]:
    dossier.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={taille},mode=0755", "tmpfs", str(dossier)],
        check=True,
    )
    try:
        yield dossier
    finally:
        subprocess.run(["umount", "-l", str(dossier)], check=False)


def agrandir(dossier: Path, taille: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={taille}", str(dossier)], check=True)


def courriel(i: int, octets_joints: int) -> bytes:
    m = EmailMessage()
    m["From"] = f"Habitant {i} <habitant{i}@exemple.example>"
    m["To"] = "mairie@saint-aubin-sur-loire.example"
    m["Subject"] = f"Demande numéro {i}"
    m["Message-ID"] = f"<panne-{i}@exemple.example>"
    m["Date"] = "Thu, 19 Nov 2026 22:15:00 +0000"
    m.set_content(f"Madame, Monsieur,\nje sollicite une copie de mon acte de naissance ({i}).\n")
    if octets_joints:
        # Des octets aléatoires : incompressibles, gardés et listés, jamais ouverts.
        m.add_attachment(
            random.Random(i).randbytes(octets_joints),
            maintype="application",
            subtype="octet-stream",
            filename=f"piece-{i}.bin",
        )
    return m.as_bytes()


@dataclass
class Banc:
    dovecot: serveurs.Dovecot
    dossier: Path
    donnees: Path
    attendus: list[str]  # les Message-ID déposés
    url: str = ""

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("COURRIER_", "PREFECT_"))}
        env.update(
            PYTHONPATH=str(RACINE),
            OMP_THREAD_LIMIT="1",
            DO_NOT_TRACK="1",
            PREFECT_HOME=str(self.dossier / "prefect"),
            COURRIER_DONNEES=str(self.donnees),
            COURRIER_IMAP_HOTE="127.0.0.1",
            COURRIER_IMAP_PORT=str(self.dovecot.port),
            COURRIER_IMAP_UTILISATEUR="mairie",
            COURRIER_IMAP_MOT_DE_PASSE=self.dovecot.mot_de_passe,
            COURRIER_IMAP_SECURITE="aucune",
            COURRIER_IMAP_DOSSIER_TRAITE=TRAITE,
            COURRIER_IMAP_DELAI_S="10",
            COURRIER_OCR_PROCESSUS="1",
            COURRIER_PANNE_DELAI_VERROU_S="2",
        )
        if self.url:
            env["COURRIER_BASE_DE_DONNEES"] = self.url
        return env

    def lancer(self, panne: str = "") -> subprocess.Popen[str]:
        env = self.env()
        if panne:
            env["COURRIER_PANNE"] = panne
        return subprocess.Popen(
            [sys.executable, "-m", "courrier", "releve"],
            cwd=self.dossier,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def releve(self) -> tuple[int, str]:
        processus = self.lancer()
        _, erreurs = processus.communicate(timeout=300)
        return processus.returncode, erreurs

    def registre(self) -> Registre:
        url = self.url or f"sqlite:///{self.donnees / 'registre.sqlite3'}"
        return Registre(creer_engine(url), Archive(self.donnees / "archive"))

    def boite(self, dossier: str) -> list[str]:
        """Les Message-ID d'un dossier de la boîte « mairie »."""
        return message_ids(BoitePreuve(self.dovecot, "mairie"), dossier)


@pytest.fixture
def banc(tmp_path: Path) -> Iterator[Banc]:
    with serveurs.dovecot(["mairie"]) as d:
        yield Banc(d, tmp_path, tmp_path / "donnees", [])


def deposer(banc: Banc, nombre: int, octets_joints: int) -> None:
    client = IMAPClient("127.0.0.1", port=banc.dovecot.port, ssl=False, timeout=10)
    client.login("mairie", banc.dovecot.mot_de_passe)
    try:
        for i in range(nombre):
            client.append("INBOX", courriel(i, octets_joints))
            banc.attendus.append(f"<panne-{i}@exemple.example>")
    finally:
        client.logout()


def attendre_suspension(processus: subprocess.Popen[str], delai: float = 120) -> None:
    """Attend que la relève se suspende d'elle-même (SIGSTOP au point de panne)."""
    fin = time.monotonic() + delai
    while time.monotonic() < fin:
        if processus.poll() is not None:
            raise AssertionError(f"la relève a fini sans se suspendre : {processus.stderr}")
        etat = Path(f"/proc/{processus.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if etat == "T":
            return
        time.sleep(0.05)
    raise AssertionError("la relève ne s'est pas suspendue au point de panne")


def verifier_arret(code: int, erreurs: str) -> str:
    """Code non nul, une seule ligne en français, aucune trace ; rend la ligne."""
    lignes = [ligne for ligne in erreurs.splitlines() if ligne.strip()]
    assert code != 0
    assert len(lignes) == 1, erreurs
    assert "Traceback" not in erreurs
    assert lignes[0].startswith("Erreur :"), lignes[0]
    return lignes[0]


def verifier_rien_d_a_moitie(banc: Banc) -> int:
    """Chaque message est au registre (octets archivés) ou encore dans la boîte ; rien dans
    « Traité » sans sa ligne ; le registre est intègre. Rend le nombre de courriers."""
    registre = banc.registre()
    try:
        assert registre.verifier() == []
        courriers = registre.courriers()
    finally:
        registre.fermer()
    inscrits = Counter(c.message_id for c in courriers)
    assert all(n == 1 for n in inscrits.values()), inscrits
    archive = Archive(banc.donnees / "archive")
    for c in courriers:
        fichier = archive.chemin(c.empreinte)
        assert hashlib.sha256(fichier.read_bytes()).hexdigest() == c.empreinte, c.numero
    boite, traite = banc.boite("INBOX"), banc.boite(TRAITE)
    assert set(traite) <= set(inscrits), "rangé dans « Traité » sans ligne au registre"
    for message_id in banc.attendus:
        assert message_id in inscrits or message_id in boite, f"{message_id} perdu"
    assert Counter(boite) + Counter(traite) == Counter(banc.attendus)
    assert not list((banc.donnees / "archive").rglob(".depot-*")), "fichier provisoire laissé"
    return len(courriers)


def verifier_tout_fini(banc: Banc) -> None:
    verifier_rien_d_a_moitie(banc)
    registre = banc.registre()
    try:
        courriers = registre.courriers()
        evenements = registre.evenements()
    finally:
        registre.fermer()
    assert sorted(c.message_id for c in courriers) == sorted(banc.attendus)
    assert sorted(c.rang for c in courriers) == list(range(1, len(banc.attendus) + 1))
    assert banc.boite("INBOX") == []
    assert sorted(banc.boite(TRAITE)) == sorted(banc.attendus)
    etapes = Counter((e.numero, e.type) for e in evenements if e.numero)
    for c in courriers:
        assert c.statut == "analyse", (c.numero, c.statut, c.erreur)
        for type_ in ("enregistre", "extrait", "analyse"):
            assert etapes[(c.numero, type_)] == 1, (c.numero, type_)


# --- Disque plein -----------------------------------------------------------------------------


def test_disque_plein_pendant_la_releve_arret_net_puis_la_relance_finit(banc: Banc) -> None:
    deposer(banc, 12, 400_000)  # ≈ 6,6 Mo de courriels pour un disque de 3 Mo
    with tmpfs(banc.donnees, "3M"):
        code, erreurs = banc.releve()
        ligne = verifier_arret(code, erreurs)
        assert re.search(r"disque[^.]* (est )?plein", ligne) and "database" not in ligne, ligne
        inscrits = verifier_rien_d_a_moitie(banc)
        assert 0 < inscrits < 12
        assert len(banc.boite("INBOX")) == 12 - inscrits

        agrandir(banc.donnees, "64M")
        code, erreurs = banc.releve()
        assert code == 0, erreurs
        verifier_tout_fini(banc)


def test_disque_plein_pendant_la_lecture_arret_net_sans_courrier_marque_en_erreur(
    banc: Banc,
) -> None:
    # Les courriels tiennent (≈ 2,8 Mo), pas leurs pièces jointes, archivées à la lecture.
    deposer(banc, 5, 400_000)
    with tmpfs(banc.donnees, "4M"):
        code, erreurs = banc.releve()
        ligne = verifier_arret(code, erreurs)
        assert re.search(r"disque[^.]* (est )?plein", ligne) and "database" not in ligne, ligne
        assert verifier_rien_d_a_moitie(banc) == 5
        registre = banc.registre()
        try:
            statuts = Counter(c.statut for c in registre.courriers())
        finally:
            registre.fermer()
        # Le disque n'est pas la faute du courrier : aucun n'est marqué illisible.
        assert statuts["erreur"] == 0, statuts

        agrandir(banc.donnees, "64M")
        code, erreurs = banc.releve()
        assert code == 0, erreurs
        verifier_tout_fini(banc)


# --- Base verrouillée, base arrêtée -----------------------------------------------------------


def test_base_sqlite_verrouillee_plus_que_le_delai_arret_net_puis_la_relance_finit(
    banc: Banc,
) -> None:
    deposer(banc, 6, 0)
    processus = banc.lancer("apres_enregistrement:3:pause")
    try:
        attendre_suspension(processus)
        # Un autre programme prend la base pour lui seul, plus longtemps que le délai (2 s).
        verrou = sqlite3.connect(banc.donnees / "registre.sqlite3", isolation_level=None)
        verrou.execute("BEGIN EXCLUSIVE")
        os.kill(processus.pid, signal.SIGCONT)
        _, erreurs = processus.communicate(timeout=300)
        verrou.execute("ROLLBACK")
        verrou.close()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(processus.pid, signal.SIGCONT)
        if processus.poll() is None:
            processus.kill()
    ligne = verifier_arret(processus.returncode, erreurs)
    assert "verrouillée" in ligne, ligne
    assert verifier_rien_d_a_moitie(banc) == 3

    code, erreurs = banc.releve()
    assert code == 0, erreurs
    verifier_tout_fini(banc)


@contextlib.contextmanager
def grappe_arretable() -> Iterator[tuple[str, Path, str]]:
    """Une grappe PostgreSQL privée, que le test arrête et redémarre ; rend (url, données,
    pg_ctl)."""
    initdb = serveurs.binaire_postgres("initdb")
    pg_ctl = serveurs.binaire_postgres("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL n'est pas installé")
    # Hors de tmp_path (0700) : l'utilisateur postgres doit pouvoir y entrer.
    dossier = Path(tempfile.mkdtemp(prefix="courrier-pg-panne-"))
    dossier.chmod(0o755)
    subprocess.run(["chown", "postgres:postgres", str(dossier)], check=True)
    donnees = dossier / "pg"
    port = serveurs.port_libre()
    subprocess.run(
        [*POSTGRES, initdb, "-D", str(donnees), "-U", "postgres", *AUTH],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {dossier} -c fsync=off"
    (dossier / "options").write_text(options)
    try:
        demarrer_pg(pg_ctl, donnees)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", donnees, pg_ctl
    finally:
        arreter_pg(pg_ctl, donnees)
        shutil.rmtree(dossier, ignore_errors=True)


def demarrer_pg(pg_ctl: str, donnees: Path) -> None:
    options = (donnees.parent / "options").read_text()
    journal = donnees.parent / "pg.log"
    subprocess.run(
        [*POSTGRES, pg_ctl, "-D", str(donnees), "-o", options, "-l", str(journal), "-w", "start"],
        check=True,
        capture_output=True,
    )


def arreter_pg(pg_ctl: str, donnees: Path) -> None:
    subprocess.run(
        [*POSTGRES, pg_ctl, "-D", str(donnees), "-m", "fast", "-w", "stop"],
        check=False,
        capture_output=True,
    )


def test_postgresql_arrete_en_pleine_releve_arret_net_puis_la_relance_finit(banc: Banc) -> None:
    deposer(banc, 6, 0)
    with grappe_arretable() as (url, donnees_pg, pg_ctl):
        banc.url = url
        processus = banc.lancer("apres_enregistrement:3:pause")
        try:
            attendre_suspension(processus)
            arreter_pg(pg_ctl, donnees_pg)
            os.kill(processus.pid, signal.SIGCONT)
            _, erreurs = processus.communicate(timeout=300)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.kill(processus.pid, signal.SIGCONT)
            if processus.poll() is None:
                processus.kill()
        ligne = verifier_arret(processus.returncode, erreurs)
        assert "ne répond pas" in ligne or "injoignable" in ligne, ligne

        demarrer_pg(pg_ctl, donnees_pg)
        assert verifier_rien_d_a_moitie(banc) == 3
        code, erreurs = banc.releve()
        assert code == 0, erreurs
        verifier_tout_fini(banc)


def test_disque_presque_plein_avec_prefect_dans_les_donnees_la_releve_a_la_main_passe(
    banc: Banc,
) -> None:
    """La relève à la main ne démarre plus de serveur Prefect temporaire (issue #14) : sa base,
    qui ne tenait pas sur un disque presque plein, n'est plus écrite ; le courrier passe."""
    deposer(banc, 2, 0)
    env = {k: v for k, v in banc.env().items() if k != "PREFECT_HOME"}  # dans les données
    with tmpfs(banc.donnees, "3M"):
        p = subprocess.run(
            [sys.executable, "-m", "courrier", "releve"],
            cwd=banc.dossier,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert p.returncode == 0, p.stderr
        assert "Traceback" not in p.stdout + p.stderr
        assert not (banc.donnees / "prefect").exists()
        assert banc.registre().nombre() == 2
    assert banc.boite("INBOX") == []
