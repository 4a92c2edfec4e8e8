"""Une nuit d'essai isolée, pour les bancs de pannes : sa boîte IMAP, son dossier de scans et
de données, son environnement, et la nuit lancée dans un processus à part (preuves/nuit.py)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from imapclient import IMAPClient

from preuves import jeu_lots
from preuves.jeu import courriels, scans
from preuves.serveurs import Dovecot

RACINE = Path(__file__).resolve().parents[1]
PROCESSUS_OCR = 2
DELAI_NUIT_S = 180
TRAITE = "Traité"
DOMAINE_MAIRIE = "saint-aubin.example"


@dataclass(frozen=True)
class Boite:
    """Une boîte neuve par essai : un compte à elle sur le Dovecot de la campagne."""

    serveur: Dovecot
    utilisateur: str

    def client(self) -> IMAPClient:
        client = IMAPClient("127.0.0.1", port=self.serveur.port, ssl=False, timeout=10)
        client.login(self.utilisateur, self.serveur.mot_de_passe)
        return client


def remplir(boite: Boite, dossier: Path, avec_lot: bool = False) -> None:
    client = boite.client()
    try:
        for c in courriels():
            client.append("INBOX", c.contenu, msg_time=c.recu_le)
    finally:
        client.logout()
    depot = dossier / "scans"
    depot.mkdir()
    for s in scans():
        (depot / s.nom).write_bytes(s.contenu)
    if avec_lot:
        (depot / jeu_lots.NOM_LOT).write_bytes(jeu_lots.lot())


def environnement(
    boite: Boite, dossier: Path, url_llm: str | None, port_smtp: int | None = None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURRIER_")}
    # Un processus tué ne range pas ses fichiers temporaires (copies des scans pour l'OCR,
    # sockets du forkserver) : ils restent dans le dossier de l'essai, pas dans /tmp.
    temporaires = dossier / "tmp"
    temporaires.mkdir(exist_ok=True)
    env.update(
        TMPDIR=str(temporaires),
        PYTHONPATH=str(RACINE),
        OMP_THREAD_LIMIT="1",
        DO_NOT_TRACK="1",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        COURRIER_DONNEES=str(dossier / "donnees"),
        COURRIER_IMAP_HOTE="127.0.0.1",
        COURRIER_IMAP_PORT=str(boite.serveur.port),
        COURRIER_IMAP_UTILISATEUR=boite.utilisateur,
        COURRIER_IMAP_MOT_DE_PASSE=boite.serveur.mot_de_passe,
        COURRIER_IMAP_SECURITE="aucune",
        COURRIER_IMAP_DOSSIER_TRAITE=TRAITE,
        COURRIER_IMAP_DELAI_S="10",
        COURRIER_DEPOT_SCANS=str(dossier / "scans"),
        COURRIER_DEPOT_DELAI_STABILITE_S="0",
        COURRIER_OCR_PROCESSUS=str(PROCESSUS_OCR),
        COURRIER_COMMUNE="Saint-Aubin-sur-Loire",
        COURRIER_MAIRE="Hélène Marchand",
    )
    if port_smtp:
        # Chaque essai envoie depuis sa propre adresse : le serveur SMTP commun les distingue.
        env.update(
            COURRIER_PREUVE_SECRETAIRE="oui",
            COURRIER_SMTP_HOTE="127.0.0.1",
            COURRIER_SMTP_PORT=str(port_smtp),
            COURRIER_SMTP_SECURITE="aucune",
            COURRIER_SMTP_DELAI_S="10",
            COURRIER_ADRESSE_MAIRIE=f"{boite.utilisateur}@{DOMAINE_MAIRIE}",
        )
    if url_llm:
        env.update(
            COURRIER_LLM_URL=url_llm,
            COURRIER_LLM_CLE="cle-de-test",
            COURRIER_LLM_MODELE="modele-test",
            COURRIER_LLM_DELAI_S="10",
            COURRIER_LLM_TENTATIVES="1",
        )
    return env


def lancer_nuit(env: dict[str, str], dossier: Path, nom: str, panne: str = "") -> int:
    """Lance une nuit ; rend son code de sortie (-9 : tuée par SIGKILL).

    Sa sortie va dans des fichiers, pas dans des tubes : les processus d'OCR orphelins d'une
    nuit tuée les garderaient ouverts. Le groupe entier est tué ensuite, comme la machine.
    """
    if panne:
        env = {**env, "COURRIER_PANNE": panne}
    with (
        (dossier / f"{nom}.out").open("wb") as sortie,
        (dossier / f"{nom}.err").open("wb") as erreurs,
    ):
        processus = subprocess.Popen(
            [sys.executable, "-m", "preuves.nuit"],
            cwd=dossier,  # aucun .env du développeur ne s'invite
            env=env,
            stdout=sortie,
            stderr=erreurs,
            start_new_session=True,
        )
        try:
            code = processus.wait(timeout=DELAI_NUIT_S)
        except subprocess.TimeoutExpired:
            code = None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(processus.pid, signal.SIGKILL)
        if code is None:
            code = processus.wait()
            raise TimeoutError(f"la nuit « {nom} » dépasse {DELAI_NUIT_S} s")
    return code


def fin_erreurs(dossier: Path, nom: str) -> str:
    lignes = (dossier / f"{nom}.err").read_text(errors="replace").strip().splitlines()
    return " | ".join(lignes[-3:])


@contextmanager
def dossier_d_essai(nom: str, garder: Callable[[], bool]) -> Iterator[Path]:
    dossier = Path(tempfile.mkdtemp(prefix=f"courrier-preuve-{nom}-"))
    try:
        yield dossier
    finally:
        if not garder():
            shutil.rmtree(dossier, ignore_errors=True)
