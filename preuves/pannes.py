"""Banc d'essai des pannes : une nuit tuée (SIGKILL) à un point tiré au sort, puis relancée.

    python -m preuves.pannes [--essais 50] [--graine 2026] [--rapide]

Chaque essai part de rien : une boîte neuve (un compte à lui sur un Dovecot lancé sur
127.0.0.1) où sont déposés quelques courriels (certains avec un PDF joint), un dossier de
scans (dont un lot : trois lettres et leurs feuilles séparatrices en un PDF, preuves/jeu_lots.py),
un dossier de données neuf (registre SQLite, archive). La nuit (preuves/nuit.py) tourne
dans un processus à part avec `COURRIER_PANNE=point:passage` ; elle doit mourir par SIGKILL à
ce point, et tout son groupe de processus (processus d'OCR compris) est tué avec elle, comme
par une coupure de courant. Une seconde nuit, sans panne, doit alors tout finir. L'analyse se
fait tantôt par les règles seules (le réglage par défaut), tantôt avec un LLM (le serveur
compatible OpenAI des tests, par le vrai client). On vérifie ensuite :

- chaque courriel (par Message-ID) et chaque scan (par sha256) est au registre une fois et une
  seule, ses octets d'origine dans l'archive ;
- les numéros chrono se suivent sans trou (1..N), `Registre.verifier()` ne trouve rien ;
- la boîte : INBOX vide, « Traité » contient chaque message exactement une fois ; le dossier
  de scans : vide hormis `traites/`, qui contient chaque scan exactement une fois ;
- chaque courrier est lu et analysé, une fois (un seul événement de chaque étape), sans
  erreur, et ses brouillons sont ceux d'une nuit sans panne (la nuit témoin) : aucun en double ;
- un seul doublon reconnu, et seulement après une panne entre la validation et le rangement ;
  sauf si la panne tombe au milieu du lot de scans : ses lettres déjà enregistrées (au plus
  trois) sont alors reconnues à la reprise, et rien d'autre. Le lot est rangé une fois dans
  `traites/`, chacune de ses lettres est au registre une fois (par le sha256 de son PDF).

Sur les doublons dans « Traité » : Dovecot annonce MOVE (RFC 6851), déplacement atomique ;
aucun doublon n'est donc toléré. Un serveur sans MOVE passe par COPY puis EXPUNGE : une panne
entre les deux laisserait le message dans les deux dossiers, et la nuit suivante (qui le
reconnaît sans le réenregistrer) le copierait une seconde fois dans « Traité » ; ce cas n'est
pas exercé ici.

Après l'analyse, la secrétaire (simulée) valide par courriel chaque brouillon qui a une adresse,
et l'envoi part vers un vrai serveur SMTP (aiosmtpd, 127.0.0.1), avec la copie dans
« Envoyés » de la boîte de l'essai. Trois points de panne tombent pendant l'envoi (avant
l'appel SMTP, après son acceptation, après la copie). On vérifie aussi qu'aucune réponse n'est
reçue deux fois, et que chaque brouillon validé finit envoyé (reçu une fois, sous son
Message-ID) ou, seulement après une panne pendant l'envoi, « à vérifier » pour la secrétaire.
"""

from __future__ import annotations

import argparse
import contextlib
import email
import email.policy
import hashlib
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from imapclient import IMAPClient

from preuves import jeu_lots
from preuves.jeu import courriels, scans
from registre.archive import Archive
from registre.base import creer_moteur
from registre.registre import Registre
from tests.serveur_llm import ServeurLLM
from tests.serveurs import Dovecot, ServeurSmtp, dovecot, serveur_smtp

RACINE = Path(__file__).resolve().parents[1]
PROCESSUS_OCR = 2
DELAI_NUIT_S = 180
TRAITE = "Traité"


@dataclass(frozen=True)
class Point:
    """Un point de panne, et les passages où la nuit y meurt à coup sûr."""

    ou: str
    premier: int
    dernier: int
    tue_la_nuit: bool = True  # faux : seul un processus d'OCR meurt, la nuit doit survivre


def _points() -> dict[str, Point]:
    n_c = len(courriels())
    n = n_c + len(scans()) + jeu_lots.lettres()
    return {
        "pendant_releve": Point("message lu dans la boîte IMAP, pas encore archivé", 1, n_c),
        "apres_archive": Point("octets archivés, ligne du registre pas encore écrite", 1, n),
        "avant_validation": Point("dans la transaction du registre, avant la validation", 1, n),
        "apres_enregistrement": Point("ligne validée, pas encore rangée à la source", 1, n),
        "apres_acquittement": Point("rangée à la source (IMAP « Traité », traites/)", 1, n),
        # Chaque lettre du lot de scans passe par ce point avant d'être remise à la relève.
        "pendant_decoupage": Point(
            "lot de scans découpé, lettre suivante pas encore remise", 1, jeu_lots.lettres()
        ),
        "pendant_ocr": Point("lectures en cours dans les processus d'OCR", 1, n),
        # Chaque processus d'OCR compte ses passages ; un processus neuf repart de zéro. Au 1er
        # passage, la relecture à part mourrait aussi : c'est le document qui fait tomber son
        # lecteur, qu'`extraire_en_attente` marque en erreur, pas une panne dont on se relève.
        # Au-delà de ⌈n/P⌉, le point pourrait n'être jamais atteint.
        "pendant_extraction": Point(
            "un processus d'OCR tué seul, la nuit continue",
            2,
            math.ceil(n / PROCESSUS_OCR),
            tue_la_nuit=False,
        ),
        "apres_extraction": Point("texte lu et consigné", 1, n),
        "pendant_llm": Point("juste avant l'appel au LLM", 1, n),
        "apres_analyse": Point("analyse et brouillons consignés", 1, n),
        # L'envoi des réponses validées (la secrétaire simulée valide tout ce qui a une
        # adresse) : il y en a au moins REPONSES_MIN par nuit.
        "avant_smtp": Point("Message-ID et intention écrits, juste avant l'appel SMTP", 1, 3),
        "apres_smtp": Point("réponse acceptée par le serveur SMTP, rien d'autre noté", 1, 3),
        "apres_copie_envoyes": Point("copie dans « Envoyés », registre pas encore à jour", 1, 3),
    }


POINTS = _points()
POINTS_ENVOI = {"avant_smtp", "apres_smtp", "apres_copie_envoyes"}
# Une panne à l'un de ces points, tombée au milieu du lot de scans, laisse des lettres
# enregistrées et le fichier pas encore rangé : la nuit suivante les reconnaît (doublons).
POINTS_DU_LOT = {
    "apres_archive",
    "avant_validation",
    "apres_enregistrement",
    "apres_acquittement",
    "pendant_decoupage",
}
REPONSES_MIN = 3
DOMAINE_MAIRIE = "saint-aubin.example"


@dataclass(frozen=True)
class Essai:
    numero: int
    point: str
    passage: int
    llm: bool  # faux : les règles seules analysent (le réglage par défaut)

    @property
    def panne(self) -> str:
        return f"{self.point}:{self.passage}"

    @property
    def doublons_attendus(self) -> int:
        # Seul un élément validé mais pas rangé revient à la relève suivante.
        return 1 if self.point == "apres_enregistrement" else 0


@dataclass
class Resultat:
    essai: Essai | None  # None : la nuit témoin
    llm: bool
    anomalies: list[str] = field(default_factory=list)
    duree_s: float = 0.0
    signature: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def reussi(self) -> bool:
        return not self.anomalies


def tirer_essais(nombre: int, graine: int) -> list[Essai]:
    """Les points par tours mélangés (chacun revient aussi souvent), le passage et le moteur
    d'analyse au hasard."""
    rng = random.Random(graine)
    essais: list[Essai] = []
    while len(essais) < nombre:
        tour = sorted(POINTS)
        rng.shuffle(tour)
        for nom in tour:
            passage = rng.randint(POINTS[nom].premier, POINTS[nom].dernier)
            llm = nom == "pendant_llm" or rng.random() < 0.5
            essais.append(Essai(len(essais) + 1, nom, passage, llm))
    return essais[:nombre]


# --- Mise en place ---------------------------------------------------------------------------


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


def _fin_erreurs(dossier: Path, nom: str) -> str:
    lignes = (dossier / f"{nom}.err").read_text(errors="replace").strip().splitlines()
    return " | ".join(lignes[-3:])


# --- Vérifications ---------------------------------------------------------------------------


def message_ids(boite: Boite, dossier_imap: str) -> list[str]:
    client = boite.client()
    try:
        if not client.folder_exists(dossier_imap):
            return []
        client.select_folder(dossier_imap, readonly=True)
        uids = client.search(["ALL"])
        if not uids:
            return []
        reponses = client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
        ids = []
        for donnees in reponses.values():
            brut = next(v for k, v in donnees.items() if k.startswith(b"BODY[HEADER"))
            ids.append(bytes(brut).decode().partition(":")[2].strip())
        return ids
    finally:
        client.logout()


def _doublons_ou_manques(trouves: list[str], attendus: list[str]) -> str:
    compte = Counter(trouves)
    manquants = [a for a in attendus if compte[a] == 0]
    doubles = sorted(k for k, n in compte.items() if n > 1)
    inconnus = sorted(k for k in compte if k not in attendus)
    morceaux = []
    if manquants:
        morceaux.append(f"manquants {manquants}")
    if doubles:
        morceaux.append(f"en double {doubles}")
    if inconnus:
        morceaux.append(f"inattendus {inconnus}")
    return ", ".join(morceaux)


def verifier_nuit(
    boite: Boite,
    dossier: Path,
    doublons_attendus: int,
    lot_touche_permis: bool = False,
    avec_lot: bool = False,
) -> tuple[list[str], dict[str, tuple[str, ...]]]:
    """Les anomalies trouvées, et la signature de chaque courrier (clé → catégorie, moteur,
    brouillons), à comparer à celle de la nuit témoin.

    Le lot de scans est rangé dans traites/ tel quel, mais ce sont ses lettres qui sont au
    registre, chacune une fois."""
    anomalies: list[str] = []
    ids = [c.message_id for c in courriels()]
    arrivees = {c.message_id: c.recu_le for c in courriels()}
    lettres_du_lot = list(jeu_lots.empreintes_des_lettres()) if avec_lot else []
    empreintes = [s.empreinte for s in scans()] + lettres_du_lot
    fichiers = [s.empreinte for s in scans()]
    if avec_lot:
        fichiers.append(hashlib.sha256(jeu_lots.lot()).hexdigest())

    if reste := message_ids(boite, "INBOX"):
        anomalies.append(f"INBOX n'est pas vide : {sorted(reste)}")
    if ecart := _doublons_ou_manques(message_ids(boite, TRAITE), ids):
        anomalies.append(f"« {TRAITE} » : {ecart}")
    depot = dossier / "scans"
    if reste_scans := sorted(p.name for p in depot.iterdir() if p.name != "traites"):
        anomalies.append(f"le dossier de scans n'est pas vide : {reste_scans}")
    ranges = [
        hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (depot / "traites").glob("*")
        if p.is_file()
    ]
    if ecart := _doublons_ou_manques(ranges, fichiers):
        anomalies.append(f"traites/ : {ecart}")

    donnees = dossier / "donnees"
    # Sans Registre.ouvrir : la nuit a déjà migré la base, et Alembic n'aime pas les fils.
    registre = Registre(
        creer_moteur(f"sqlite:///{donnees / 'registre.sqlite3'}"), Archive(donnees / "archive")
    )
    try:
        anomalies += [f"verifier() : {a}" for a in registre.verifier()]
        courriers = registre.courriers()
        evenements = registre.evenements()
    finally:
        registre.fermer()
    archive = registre.archive

    emails = [c.message_id for c in courriers if c.canal == "email"]
    if ecart := _doublons_ou_manques(emails, ids):
        anomalies.append(f"registre, courriels par Message-ID : {ecart}")
    des_scans = [c.empreinte for c in courriers if c.canal == "scan"]
    if ecart := _doublons_ou_manques([e[:12] for e in des_scans], [e[:12] for e in empreintes]):
        anomalies.append(f"registre, scans par sha256 : {ecart}")
    if len(courriers) != len(ids) + len(empreintes):
        anomalies.append(
            f"{len(courriers)} courriers au registre, {len(ids) + len(empreintes)} attendus"
        )

    par_annee: dict[int, list[int]] = {}
    for c in courriers:
        par_annee.setdefault(c.annee, []).append(c.rang)
    for annee, rangs in par_annee.items():
        if sorted(rangs) != list(range(1, len(rangs) + 1)):
            anomalies.append(f"chrono {annee} : rangs {sorted(rangs)}, attendu 1..{len(rangs)}")
    if len({c.numero for c in courriers}) != len(courriers):
        anomalies.append("deux courriers portent le même numéro")

    numeros_du_lot = {c.numero for c in courriers if c.empreinte in lettres_du_lot}
    doublons_du_lot = sum(e.type == "doublon" and e.numero in numeros_du_lot for e in evenements)
    doublons = sum(e.type == "doublon" for e in evenements) - doublons_du_lot
    if doublons_du_lot:
        # La panne est tombée au milieu du lot : ses lettres déjà enregistrées sont reconnues,
        # et rien d'autre n'a pu l'être.
        if not lot_touche_permis or doublons_du_lot > len(lettres_du_lot):
            anomalies.append(f"{doublons_du_lot} doublon(s) reconnu(s) dans le lot de scans")
        doublons_attendus = 0
    if doublons != doublons_attendus:
        anomalies.append(f"{doublons} doublon(s) reconnu(s), {doublons_attendus} attendu(s)")
    etapes = Counter((e.numero, e.type) for e in evenements if e.numero)
    signature: dict[str, tuple[str, ...]] = {}
    for c in courriers:
        cle = c.message_id if c.canal == "email" else c.empreinte[:12]
        fichier = archive.chemin(c.empreinte)
        if not fichier.is_file() or hashlib.sha256(fichier.read_bytes()).hexdigest() != c.empreinte:
            anomalies.append(f"{c.numero} : octets d'origine absents ou altérés dans l'archive")
        if c.canal == "email" and c.recu_le != arrivees.get(c.message_id):
            anomalies.append(f"{c.numero} : reçu le {c.recu_le}, pas à son INTERNALDATE")
        if c.statut not in ("analyse", "repondu") or c.extrait_le is None or c.analyse_le is None:
            anomalies.append(f"{c.numero} ({cle}) : statut « {c.statut} », {c.erreur[:120]}")
        for type_ in ("recu", "enregistre", "extrait", "analyse"):
            if etapes[(c.numero, type_)] != 1:
                anomalies.append(
                    f"{c.numero} : {etapes[(c.numero, type_)]} événement(s) « {type_} »"
                )
        if etapes[(c.numero, "erreur")]:
            anomalies.append(f"{c.numero} : {etapes[(c.numero, 'erreur')]} événement(s) d'erreur")
        if etapes[(c.numero, "brouillon")] != len(c.brouillons):
            anomalies.append(
                f"{c.numero} : {etapes[(c.numero, 'brouillon')]} événements « brouillon » "
                f"pour {len(c.brouillons)} brouillons"
            )
        rangs = [b.rang for b in c.brouillons]
        if rangs != list(range(1, len(rangs) + 1)):
            anomalies.append(f"{c.numero} : brouillons de rangs {rangs}")
        signature[cle] = (
            c.categorie or "",
            c.moteur or "",
            *sorted(f"{b.type}/{b.auteur}" for b in c.brouillons),
        )
    return anomalies, signature


def verifier_envoi(dossier: Path, recus: list[bytes], point_de_panne: str | None) -> list[str]:
    """Aucune réponse reçue deux fois ; chaque brouillon validé fini : envoyé (et reçu une
    fois, sous son Message-ID) ou, seulement après une panne pendant l'envoi, « à vérifier »
    (et reçu au plus une fois)."""
    anomalies: list[str] = []
    messages = [email.message_from_bytes(m, policy=email.policy.default) for m in recus]
    par_id = Counter(str(m["Message-ID"]).strip() for m in messages)
    par_brouillon = Counter(
        (str(m["X-Courrier-Numero"]), str(m["Subject"]).strip()) for m in messages
    )
    if doubles := sorted(k for k, n in par_brouillon.items() if n > 1):
        anomalies.append(f"réponses reçues plusieurs fois : {doubles}")
    donnees = dossier / "donnees"
    registre = Registre(
        creer_moteur(f"sqlite:///{donnees / 'registre.sqlite3'}"), Archive(donnees / "archive")
    )
    try:
        courriers = registre.courriers()
    finally:
        registre.fermer()
    valides = [(c, b) for c in courriers for b in c.brouillons if b.mode == "courriel"]
    if len(valides) < REPONSES_MIN:
        anomalies.append(f"{len(valides)} réponses validées, au moins {REPONSES_MIN} attendues")
    for c, b in valides:
        cle = (c.numero, " ".join(b.objet.split()))
        if b.statut == "envoye":
            if par_id[b.message_id_envoi] != 1:
                anomalies.append(
                    f"{c.numero} brouillon {b.rang} « envoyé », reçu {par_id[b.message_id_envoi]} "
                    "fois sous son Message-ID"
                )
            if c.statut != "repondu" or c.repondu_le is None:
                anomalies.append(f"{c.numero} : réponse envoyée, courrier « {c.statut} »")
        elif b.statut == "a_verifier" and point_de_panne in POINTS_ENVOI:
            if par_brouillon[cle] > 1:
                anomalies.append(f"{c.numero} brouillon {b.rang} reçu {par_brouillon[cle]} fois")
        else:
            anomalies.append(f"{c.numero} brouillon {b.rang} fini « {b.statut} »")
    return anomalies


# --- Essais ----------------------------------------------------------------------------------


@contextmanager
def _dossier_d_essai(nom: str, garder: Callable[[], bool]) -> Iterator[Path]:
    dossier = Path(tempfile.mkdtemp(prefix=f"courrier-preuve-{nom}-"))
    try:
        yield dossier
    finally:
        if not garder():
            shutil.rmtree(dossier, ignore_errors=True)


def jouer(
    essai: Essai | None, boite: Boite, url_llm: str | None, smtp: ServeurSmtp | None = None
) -> Resultat:
    """Un essai ; sans essai, la nuit témoin (sans panne) du moteur d'analyse donné."""
    resultat = Resultat(essai, llm=url_llm is not None)
    debut = time.monotonic()
    with _dossier_d_essai(boite.utilisateur, lambda: not resultat.reussi) as dossier:
        try:
            remplir(boite, dossier, avec_lot=True)
            env = environnement(boite, dossier, url_llm, smtp.port if smtp else None)
            if essai is not None:
                code = lancer_nuit(env, dossier, "nuit-tuee", essai.panne)
                attendu = -signal.SIGKILL if POINTS[essai.point].tue_la_nuit else 0
                if code != attendu:
                    resultat.anomalies.append(
                        f"la nuit avec panne a rendu {code}, attendu {attendu} "
                        f"({_fin_erreurs(dossier, 'nuit-tuee')})"
                    )
            code = lancer_nuit(env, dossier, "nuit-reprise")
            if code != 0:
                resultat.anomalies.append(
                    f"la nuit de reprise a rendu {code} ({_fin_erreurs(dossier, 'nuit-reprise')})"
                )
            doublons = essai.doublons_attendus if essai else 0
            permis = essai is not None and essai.point in POINTS_DU_LOT
            anomalies, resultat.signature = verifier_nuit(
                boite, dossier, doublons, permis, avec_lot=True
            )
            resultat.anomalies += anomalies
            if smtp is not None:
                adresse = f"{boite.utilisateur}@{DOMAINE_MAIRIE}"
                recus = [m for de, _, m in list(smtp.boite.messages) if de == adresse]
                resultat.anomalies += verifier_envoi(dossier, recus, essai.point if essai else None)
        except Exception as e:  # le banc lui-même : dit comme un échec de l'essai
            resultat.anomalies.append(f"essai interrompu : {e.__class__.__name__}: {e}")
        if not resultat.reussi:
            resultat.anomalies.append(f"dossier gardé : {dossier}")
    resultat.duree_s = time.monotonic() - debut
    return resultat


def ligne(resultat: Resultat) -> str:
    essai = resultat.essai
    moteur = "LLM" if resultat.llm else "règles"
    tete = f"essai {essai.numero:02d}  {essai.panne:<22}" if essai else f"{'nuit témoin':<32}"
    tete += f"  {moteur:<6}"
    verdict = "réussi" if resultat.reussi else "ÉCHEC : " + " ; ".join(resultat.anomalies)
    return f"{tete}  {resultat.duree_s:5.1f} s  {verdict}"


@dataclass
class Bilan:
    reussis: int = 0
    echoues: int = 0
    resultats: list[Resultat] = field(default_factory=list)


def comparer(resultat: Resultat, temoin: Resultat) -> None:
    """Après reprise, chaque courrier a l'analyse et les brouillons d'une nuit sans panne."""
    if not resultat.signature or resultat.signature == temoin.signature:
        return
    differents = sorted(
        k
        for k in set(temoin.signature) | set(resultat.signature)
        if temoin.signature.get(k) != resultat.signature.get(k)
    )
    ecarts = [f"{k} : {resultat.signature.get(k)} ≠ {temoin.signature.get(k)}" for k in differents]
    resultat.anomalies.append(
        "analyse ou brouillons différents de la nuit témoin : " + " ; ".join(ecarts)
    )


@contextmanager
def serveur_llm() -> Iterator[ServeurLLM]:
    with ServeurLLM() as llm:
        # Une nuit tuée coupe ses connexions en plein vol : le serveur de test écrirait une
        # trace sur la sortie d'erreur à chaque fois.
        if llm._serveur is not None:
            llm._serveur.handle_error = lambda *_: None  # type: ignore[method-assign]
        yield llm


def campagne(
    essais: list[Essai], paralleles: int = 3, ecrire: Callable[[str], None] = print
) -> Bilan:
    """Les nuits témoins et les essais, `paralleles` à la fois (chacun a sa boîte et ses
    dossiers) ; une ligne par essai, dans l'ordre."""
    bilan = Bilan()
    modes = sorted({e.llm for e in essais}, reverse=True)
    comptes = [*(f"temoin-{'llm' if m else 'regles'}" for m in modes)]
    comptes += [f"essai{e.numero:02d}" for e in essais]
    with (
        serveur_llm() as llm,
        serveur_smtp() as smtp,
        dovecot(comptes) as serveur,
        ThreadPoolExecutor(max_workers=max(1, paralleles)) as pool,
    ):
        temoins = {
            m: pool.submit(
                jouer,
                None,
                Boite(serveur, f"temoin-{'llm' if m else 'regles'}"),
                llm.url if m else None,
                smtp,
            )
            for m in modes
        }
        futurs = [
            pool.submit(
                jouer,
                e,
                Boite(serveur, f"essai{e.numero:02d}"),
                llm.url if e.llm else None,
                smtp,
            )
            for e in essais
        ]
        resultats_temoins = {m: f.result() for m, f in temoins.items()}
        for temoin in resultats_temoins.values():
            ecrire(ligne(temoin))
        if not all(t.reussi for t in resultats_temoins.values()):
            # Sans nuit témoin correcte, les essais ne prouvent rien.
            pool.shutdown(cancel_futures=True)
            bilan.echoues += 1
            return bilan
        for essai, futur in zip(essais, futurs, strict=True):
            resultat = futur.result()
            comparer(resultat, resultats_temoins[essai.llm])
            ecrire(ligne(resultat))
            bilan.resultats.append(resultat)
            if resultat.reussi:
                bilan.reussis += 1
            else:
                bilan.echoues += 1
    return bilan


def main(arguments: list[str] | None = None) -> int:
    parseur = argparse.ArgumentParser(
        prog="python -m preuves.pannes",
        description="Tue la relève (SIGKILL) à des points tirés au sort, la relance, vérifie.",
    )
    parseur.add_argument("--essais", type=int, default=50, help="nombre d'essais (50)")
    parseur.add_argument("--graine", type=int, default=2026, help="graine du tirage (2026)")
    parseur.add_argument(
        "--rapide", action="store_true", help="un essai par point de panne (pour les tests)"
    )
    parseur.add_argument("--paralleles", type=int, default=3, help="essais menés en même temps (3)")
    args = parseur.parse_args(arguments)
    nombre = len(POINTS) if args.rapide else args.essais
    debut = time.monotonic()
    print(f"graine {args.graine}, {nombre} essais, points : {', '.join(sorted(POINTS))}")
    bilan = campagne(
        tirer_essais(nombre, args.graine), args.paralleles, lambda t: print(t, flush=True)
    )
    print(f"durée totale : {time.monotonic() - debut:.0f} s")
    print(f"{bilan.reussis} passed, {bilan.echoues} failed")
    return 1 if bilan.echoues else 0


if __name__ == "__main__":
    sys.exit(main())
