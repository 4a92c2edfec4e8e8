"""La nuit d'une intercommunalité, jouée en vrai sur 127.0.0.1 : la mise en place et la mesure.

PostgreSQL réel (un schéma par commune), un serveur Prefect (`prefect server start`), des
workers `prefect worker start --pool courrier`, le LLM local à latence fixe
(preuves/serveur_llm.py). Les communes sont ajoutées par la vraie commande (`courrier commune
ajouter`, qui inscrit leurs déploiements `releve-<commune>`), chacune avec ses dossiers de
dépôt : des courriels .eml (preuves/generateur.py, plus deux du corpus réel,
../shared/corpus/emails/MANIFEST.tsv) et quelques lettres numérisées qui passent par Tesseract.

Le banc (preuves/bench_communes.py) et le test (tests/test_echelle.py) appellent `jouer`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from hashlib import sha256
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from preuves import serveurs
from preuves.generateur import element, genre

RACINE = Path(__file__).resolve().parent.parent
CORPUS = RACINE.parent / "shared" / "corpus" / "emails"
# Deux courriels réels et bien formés du corpus (MANIFEST.tsv : SpamScope/mail-parser).
DU_CORPUS = ("11_spamscope_mail_test_2.eml", "12_spamscope_mail_test_3.eml")
POOL = "courrier"
# Les réglages de Prefect de la recette (deploiement/README.md, 2c ; systemd ; Compose), joués
# tels quels : une place refusée de la limite « courrier-llm » redemandée au plus 1 s après (et
# non 30), la file regardée toutes les 2 s (et non 10). tests/test_deploiement.py les compare.
REGLAGES_SERVEUR = {"PREFECT_SERVER_CONCURRENCY_MAXIMUM_CONCURRENCY_SLOT_WAIT_SECONDS": "1"}
REGLAGES_WORKER = {"PREFECT_WORKER_QUERY_SECONDS": "2"}


@dataclass
class Options:
    communes: int = 30
    courriers: int = 100
    workers: int = 2
    en_panne: int = 0
    latence_s: float = 0.2
    llm_parallele: int = 4
    scans_pour_cent: float = 5.0
    limite_worker: int = 2  # exécutions à la fois par worker (`--limit`)
    temoin: bool = True  # la même nuit sans Prefect
    borne: bool = True  # la borne OCR (tesseract seul sur les mêmes pages)
    moteur_pret: bool = True  # les exécutions nées du moteur prêt (flows/moteur.py)


@dataclass
class Commune:
    identifiant: str
    empreintes: list[str] = field(default_factory=list)  # sha256 de chaque courrier déposé
    pages_ocr: list[Path] = field(default_factory=list)
    en_panne: str = ""  # "" : saine ; "port fermé" ou "serveur muet" : sa boîte IMAP


@dataclass
class Resultat:
    communes: list[Commune]
    nuit_s: float = 0.0  # de la demande des relèves à la fin de la dernière commune saine
    temps_s: dict[str, float] = field(default_factory=dict)  # par commune (début → fin)
    etats: dict[str, tuple[str, str]] = field(default_factory=dict)  # (état, message)
    noms: dict[str, str] = field(default_factory=dict)  # le nom de chaque exécution
    problemes: dict[str, list[str]] = field(default_factory=dict)  # vérification, par commune
    appels_llm: int = 0
    llm_simultanes_max: int = 0  # au plus fort, appels au LLM en cours à la fois
    llm_en_vol: dict[int, float] = field(default_factory=dict)  # secondes de la nuit par niveau
    llm_premier_s: float = 0.0  # le premier appel au LLM, compté depuis la demande des relèves
    llm_dernier_s: float = 0.0  # la fin du dernier appel
    directe_s: float = 0.0
    calcul_s: dict[str, float] = field(default_factory=dict)  # pendant la nuit, par rôle
    ocr_s: float = 0.0
    pages_ocr: int = 0
    mise_en_place_s: float = 0.0


def rangs(courriers: int, scans_pour_cent: float) -> list[int]:
    """Les rangs du générateur à déposer : `scans_pour_cent` % de lettres numérisées (au moins
    une s'il en faut), le reste en courriels (certains avec un PDF à couche texte)."""
    scans = round(courriers * scans_pour_cent / 100) if scans_pour_cent > 0 else 0
    scans = max(scans, 1 if scans_pour_cent > 0 and courriers >= 2 else 0)
    choisis, reste = [], courriers - scans
    rang = 0
    while scans or reste:
        sorte = genre(rang)
        if sorte == "scan" and scans:
            choisis.append(rang)
            scans -= 1
        elif sorte in ("courriel", "pdf_texte") and reste:
            choisis.append(rang)
            reste -= 1
        rang += 1
    return choisis


def deposer(commune: Commune, graine: int, options: Options, cache: Path, depots: Path) -> None:
    """Les courriers de la nuit d'une commune, dans ses dossiers de dépôt."""
    eml, scans = depots / "eml", depots / "scans"
    eml.mkdir(parents=True, exist_ok=True)
    scans.mkdir(parents=True, exist_ok=True)
    du_corpus = [CORPUS / n for n in DU_CORPUS if (CORPUS / n).is_file()][: options.courriers // 4]
    for source in du_corpus:
        cible = eml / source.name
        shutil.copyfile(source, cible)
        commune.empreintes.append(sha256(source.read_bytes()).hexdigest())
    for rang in rangs(options.courriers - len(du_corpus), options.scans_pour_cent):
        sorte, fichier, page = element(graine, rang, cache / str(graine))
        cible = (scans if sorte == "scan" else eml) / fichier.name
        try:
            cible.hardlink_to(fichier)
        except OSError:
            shutil.copyfile(fichier, cible)
        commune.empreintes.append(sha256(fichier.read_bytes()).hexdigest())
        if page is not None:
            commune.pages_ocr.append(page)


@contextmanager
def environnement(env: dict[str, str]) -> Iterator[None]:
    """Le processus du banc prend l'environnement de l'installation le temps d'une commande."""
    from courrier import config

    avant = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    config.reglages.cache_clear()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(avant)
        config.reglages.cache_clear()


def courrier(env: dict[str, str], *arguments: str) -> str:
    """Une commande `courrier …`, la vraie (l'application typer), dans ce processus."""
    from typer.testing import CliRunner

    from interfaces.cli import app

    with environnement(env):
        resultat = CliRunner().invoke(app, list(arguments))
    if resultat.exit_code != 0:
        raise RuntimeError(f"courrier {' '.join(arguments[:2])} : {resultat.output[-2000:]}")
    return resultat.output


def ajouter(env: dict[str, str], commune: Commune, depots: Path, port: int) -> None:
    reglages = [
        f"COURRIER_DEPOT_EML={depots / 'eml'}",
        f"COURRIER_DEPOT_SCANS={depots / 'scans'}",
        f"COURRIER_DESTINATAIRES_DIGEST=maire@{commune.identifiant}.example",
    ]
    if commune.en_panne:
        # La boîte est injoignable (rien n'écoute sur le port, ou un serveur qui ne répond
        # jamais) ; le reste de la commune tourne.
        reglages += [
            "COURRIER_IMAP_HOTE=127.0.0.1",
            f"COURRIER_IMAP_PORT={port}",
            "COURRIER_IMAP_DELAI_S=2",
            "COURRIER_IMAP_UTILISATEUR=mairie",
            "COURRIER_IMAP_MOT_DE_PASSE=x",
            "COURRIER_IMAP_SECURITE=aucune",
        ]
    arguments = ["commune", "ajouter", commune.identifiant, "--nom", commune.identifiant.upper()]
    for r in reglages:
        arguments += ["--reglage", r]
    courrier(env, *arguments)


async def _relever_toutes(url: str, communes: list[Commune], delai_s: float) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: url}):
        async with get_client() as client:
            ids = []
            for c in communes:
                d = await client.read_deployment_by_name(f"releve/releve-{c.identifiant}")
                ids.append((await client.create_flow_run_from_deployment(d.id)).id)
            fin = time.monotonic() + delai_s
            filtre = FlowRunFilter(id=FlowRunFilterId(any_=ids))
            while True:
                # Une requête toutes les deux secondes : le banc ne doit pas peser sur le
                # serveur qu'il mesure (une lecture par exécution deux fois par seconde y
                # prenait une bonne part d'un cœur). Les temps viennent des exécutions.
                lus = {
                    r.id: r
                    for r in await client.read_flow_runs(flow_run_filter=filtre, limit=len(ids))
                }
                runs = [lus[i] for i in ids if i in lus]
                if len(runs) == len(ids) and all(r.state and r.state.is_final() for r in runs):
                    return runs
                if time.monotonic() > fin:
                    etats = [(r.name, r.state_name) for r in runs]
                    raise RuntimeError(f"relèves non terminées après {delai_s:.0f} s : {etats}")
                await asyncio.sleep(2)


def verifier(env: dict[str, str], commune: Commune) -> list[str]:
    """Ce qui ne va pas dans le registre de la commune : ses courriers (les siens, tous, une
    fois), numérotés 1..N sans trou, sa vérification propre."""
    from courrier.config import charger
    from registre.registre import Registre

    with environnement(env):
        r = charger(commune_id=commune.identifiant)
    registre = Registre.ouvrir(r.url_base, r.donnees, commune=r.commune_id)
    try:
        problemes = []
        courriers = registre.courriers()
        attendu = len(commune.empreintes)
        if registre.commune != commune.identifiant:
            problemes.append(f"registre de la commune {registre.commune}")
        if sorted(c.rang for c in courriers) != list(range(1, attendu + 1)):
            problemes.append(f"rangs {sorted(c.rang for c in courriers)[:5]}… sur {attendu}")
        if sorted(c.empreinte for c in courriers) != sorted(commune.empreintes):
            problemes.append("courriers qui ne sont pas ceux déposés pour cette commune")
        problemes += [f"vérification : {a}" for a in registre.verifier()]
        return problemes
    finally:
        registre.fermer()


def _initialiser_temoin(env: dict[str, str]) -> None:
    os.environ.clear()
    os.environ.update(env)


def _releve_temoin(identifiant: str, semaphore: Any) -> int:
    """La même relève sans Prefect (courrier/etapes.releve_directe), dans un processus du
    témoin ; le LLM borné par le même nombre de places, partagé entre processus."""
    from courrier.config import charger
    from courrier.etapes import ContexteReleve, releve_directe

    contexte = ContexteReleve.ouvrir(charger(commune_id=identifiant))
    try:
        bilan = releve_directe(lambda: semaphore, contexte=contexte)
    finally:
        contexte.fermer()
    return sum(b.nouveaux for b in bilan.sources)


def nuit_temoin(env: dict[str, str], communes: list[Commune], parallele: int, places: int) -> float:
    contexte = get_context("spawn")
    with contexte.Manager() as gestionnaire:
        semaphore = gestionnaire.BoundedSemaphore(places)
        with ProcessPoolExecutor(
            parallele, mp_context=contexte, initializer=_initialiser_temoin, initargs=(env,)
        ) as pool:
            debut = time.perf_counter()
            list(
                pool.map(
                    _releve_temoin, [c.identifiant for c in communes], [semaphore] * len(communes)
                )
            )
            return time.perf_counter() - debut


@contextmanager
def serveur_muet() -> Iterator[int]:
    """Un port où la connexion aboutit (file d'attente du noyau) mais où rien ne répond jamais :
    une boîte IMAP « qui ne répond pas »."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        yield int(s.getsockname()[1])


def demarrer_workers(pile: ExitStack, options: Options, env: dict[str, str], dossier: Path) -> None:
    """`prefect worker start --pool courrier`, chacun borné à `limite_worker` relèves à la fois."""
    env_worker = env | REGLAGES_WORKER
    for n in range(options.workers):
        commande = [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL]
        commande += ["--type", "process", "--name", f"w{n}"]
        commande += ["--limit", str(options.limite_worker)]
        pile.enter_context(
            serveurs.processus_journalise(
                commande, dossier / f"worker-{n}.log", env_worker, signaux=2
            )
        )


def noter_executions(
    resultat: Resultat, demandees: list[Commune], runs: list[Any], t0: float
) -> None:
    """L'état, le nom et le temps de chaque exécution ; la nuit finit avec la dernière commune
    saine."""
    fins = []
    for c, run in zip(demandees, runs, strict=True):
        message = (run.state and run.state.message) or ""
        resultat.etats[c.identifiant] = (run.state_name or "", message)
        resultat.noms[c.identifiant] = run.name
        if run.start_time and run.end_time:
            resultat.temps_s[c.identifiant] = (run.end_time - run.start_time).total_seconds()
            if not c.en_panne:
                fins.append(run.end_time.timestamp())
    resultat.nuit_s = (max(fins) - t0) if fins else 0.0


def noter_llm(resultat: Resultat, llm: Any, t0: float) -> None:
    """Comment le LLM a été occupé pendant la nuit : ce qui sépare la nuit de sa borne."""
    resultat.llm_en_vol = llm.occupation(t0, t0 + resultat.nuit_s)
    vols = [t for t, _ in llm.en_vol if t >= t0]
    if vols:
        resultat.llm_premier_s, resultat.llm_dernier_s = vols[0] - t0, vols[-1] - t0


def jouer(options: Options, dossier: Path) -> Resultat:
    """La nuit entière ; `dossier` garde les journaux (serveur, workers) pour qui cherche."""
    from preuves.bench_paliers import borne_ocr
    from preuves.calcul import difference, releve_du_calcul
    from preuves.serveur_llm import ServeurLLM

    debut = time.monotonic()
    cache, donnees = dossier / "cache", dossier / "donnees"
    saines = [Commune(f"c{i:02d}") for i in range(1, options.communes + 1)]
    pannes = [
        Commune(f"panne{i:02d}", en_panne="serveur muet" if i % 2 == 0 else "port fermé")
        for i in range(1, options.en_panne + 1)
    ]
    temoins = (
        [Commune(f"t{i:02d}") for i in range(1, options.communes + 1)] if options.temoin else []
    )
    with ExitStack() as pile:
        grappe = pile.enter_context(serveurs.postgres())
        llm = pile.enter_context(ServeurLLM(latence_s=options.latence_s))
        llm.taire_les_coupures()
        base = {k: v for k, v in os.environ.items() if not k.startswith(("COURRIER_", "PREFECT_"))}
        base |= {
            "PREFECT_HOME": str(dossier / "prefect"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "OMP_THREAD_LIMIT": "1",
            "PYTHONPATH": str(RACINE),
            # Le moteur prêt des workers (flows/moteur.py), à ce banc (une prise Unix : court).
            "COURRIER_MOTEUR_DOSSIER": pile.enter_context(
                tempfile.TemporaryDirectory(prefix="cm-")
            ),
            "COURRIER_MOTEUR_PRET": "oui" if options.moteur_pret else "non",
        }
        env_prefect = (
            base
            | REGLAGES_SERVEUR
            | {
                "PREFECT_API_DATABASE_CONNECTION_URL": serveurs.creer_base(
                    grappe, "prefect"
                ).replace("+psycopg", "+asyncpg"),
            }
        )
        url = pile.enter_context(serveurs.prefect_serveur(env_prefect, dossier / "serveur.log"))
        env = base | {
            "COURRIER_DONNEES": str(donnees),
            "COURRIER_BASE_DE_DONNEES": serveurs.creer_base(grappe, "courrier"),
            "COURRIER_LLM_URL": llm.url,
            "COURRIER_LLM_MODELE": "banc",
            "COURRIER_LLM_PARALLELE": str(options.llm_parallele),
            "COURRIER_DEPOT_DELAI_STABILITE_S": "0",
            "PREFECT_API_URL": url,
        }
        courrier(env, "planifier", "--installer")
        # Les workers tournent avant que la première commune n'existe : chaque commune ajoutée
        # ensuite est prise sans les redémarrer.
        demarrer_workers(pile, options, env, dossier)
        port_ferme, muet = serveurs.port_libre(), pile.enter_context(serveur_muet())
        graines = [*range(len(saines)), *range(100, 100 + len(pannes)), *range(len(temoins))]
        for graine, c in zip(graines, [*saines, *pannes, *temoins], strict=True):
            depots = dossier / "depots" / c.identifiant
            # Un témoin reçoit exactement les courriers de la commune saine de même rang.
            deposer(c, 1000 + graine, options, cache, depots)
            # Les témoins n'ont pas de déploiement : ils sont ajoutés sans serveur Prefect.
            env_ajout = (
                env
                if not c.identifiant.startswith("t")
                else {k: v for k, v in env.items() if k != "PREFECT_API_URL"}
            )
            port = muet if c.en_panne == "serveur muet" else port_ferme
            ajouter(env_ajout, c, depots, port)
        resultat = Resultat(communes=[*saines, *pannes])
        resultat.mise_en_place_s = time.monotonic() - debut
        appels = llm.nombre
        calcul_avant = releve_du_calcul(grappe, env["COURRIER_MOTEUR_DOSSIER"])
        t0 = time.time()
        # Les communes en panne sont demandées d'abord : elles prennent une place chez les
        # workers pendant que les saines attendent, le pire cas pour les autres.
        demandees = [*pannes, *saines]
        runs = asyncio.run(_relever_toutes(url, demandees, 1800))
        resultat.appels_llm = llm.nombre - appels
        resultat.llm_simultanes_max = llm.concurrence_max
        resultat.calcul_s = difference(
            calcul_avant, releve_du_calcul(grappe, env["COURRIER_MOTEUR_DOSSIER"])
        )
        noter_executions(resultat, demandees, runs, t0)
        noter_llm(resultat, llm, t0)
        for c in [*saines, *pannes]:
            resultat.problemes[c.identifiant] = verifier(env, c)
        if temoins:
            env_temoin = {k: v for k, v in env.items() if k != "PREFECT_API_URL"}
            parallele = options.workers * options.limite_worker
            resultat.directe_s = nuit_temoin(env_temoin, temoins, parallele, options.llm_parallele)
        if options.borne:
            pages = [p for c in saines for p in c.pages_ocr]
            resultat.pages_ocr = len(pages)
            resultat.ocr_s = borne_ocr(pages, os.cpu_count() or 1)
    return resultat
