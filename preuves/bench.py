"""Banc de performance (issue #6) : une nuit reproductible mesurée contre ses bornes.

    .venv/bin/python -m preuves.bench [--echelle 1000] [--latence 1.0] [--paliers 250,500,1000]

La nuit (preuves/generateur.py) : pour 1 000 éléments, 800 courriels (200 avec un PDF joint,
dont 50 PDF qui ne sont qu'une image de page) et 200 lettres numérisées A4 à 300 dpi. Ils
passent par le vrai chemin : fichiers .eml dans le dossier `COURRIER_DEPOT_EML`, PNG dans
`COURRIER_DEPOT_SCANS`, registre SQLite, flow Prefect `releve` (serveur Prefect temporaire,
comme toute exécution du flow sans serveur indiqué ; `courrier releve` n'en démarre plus),
client `openai` contre le serveur de test compatible OpenAI (tests/serveur_llm.py) qui répond
après une latence fixe. La pseudonymisation est activée, comme pour un LLM distant.

Ce qui est mesuré, dans la même exécution :
- la borne OCR : la CLI `tesseract` seule (sortie texte, un fil OpenMP) sur les mêmes pages
  (scans et pages des PDF image), sur autant de processus que l'OCR de Courrier (2 : un par
  cœur) ;
- la borne LLM : appels comptés par le serveur × latence ÷ appels simultanés configurés ;
- la nuit de bout en bout (l'appel du flow `releve`, imports exclus), dans un processus à
  part, et ses étapes : le temps passé dans le corps de chaque tâche Prefect (relève des
  sources, lecture et OCR, analyse et brouillons) ;
- la part de Prefect : le temps de la nuit passé hors du corps des tâches (démarrage du
  serveur temporaire, création et suivi des exécutions de tâches, artefact du bilan), plus le
  temps passé à prendre et rendre une place de la limite globale « courrier-llm » autour de
  chaque appel au LLM (un aller-retour vers l'API Prefect), divisé par le nombre d'appels
  simultanés puisque ces attentes se recouvrent ;
- les appels au LLM par courrier (analyse) et par brouillon rédigé par l'IA, comptés par le
  serveur ;
- le pic de mémoire : VmHWM du processus de la nuit (pas `getrusage`, qui compte le parent au
  moment du fork), et, par échantillonnage de /proc toutes les 0,25 s, les processus de
  lecture (forkserver) et les `tesseract` qu'ils lancent ; une nuit par palier (250, 500,
  1 000 éléments) pour voir si la mémoire reste plate ;
- la seconde nuit : le flow relancé dans le même processus, rien de nouveau à relever.

Il imprime les ratios à côté de leurs cibles (OK / manqué) et, pour chaque cible manquée,
l'étape qui la retient. Il n'affirme rien : `make bench` sort en 0 même si une cible est
manquée. Les temps dépendent de la machine et de ce qui tourne à côté.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from preuves.generateur import Nuit, deposer

RACINE = Path(__file__).resolve().parents[1]
GRAINE = 2026

CIBLE_NUIT = 1.2
CIBLE_OCR = 0.9
CIBLE_PREFECT = 0.05
CIBLE_APPELS = 1.0
CIBLE_MEMOIRE = 0.20  # « plate » : le pic grandit de moins de 20 % du plus petit au plus grand
CIBLE_SECONDE_NUIT_S = 5.0


# -- la nuit, dans son propre processus --------------------------------------------------------


def _vmhwm_mo(pid: int | str = "self") -> float:
    try:
        texte = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return 0.0
    for ligne in texte.splitlines():
        if ligne.startswith("VmHWM:"):
            return int(ligne.split()[1]) / 1024
    return 0.0


class Echantillonneur(threading.Thread):
    """Pic de mémoire des descendants : processus de lecture, tesseract, autres (Prefect)."""

    def __init__(self, periode_s: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.periode_s = periode_s
        self.pics: dict[str, float] = {"lecture": 0.0, "tesseract": 0.0, "autres": 0.0}
        self._arret = threading.Event()

    def run(self) -> None:
        while not self._arret.wait(self.periode_s):
            self.releve()

    def arreter(self) -> None:
        self._arret.set()
        self.join(timeout=5)
        self.releve()

    def releve(self) -> None:
        parents: dict[int, int] = {}
        noms: dict[int, str] = {}
        for entree in Path("/proc").iterdir():
            if not entree.name.isdigit():
                continue
            try:
                stat = (entree / "stat").read_text(encoding="ascii", errors="replace")
                ligne = (entree / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            fin = stat.rfind(")")
            champs = stat[fin + 2 :].split()
            parents[int(entree.name)] = int(champs[1])
            noms[int(entree.name)] = ligne.decode("utf-8", "replace")
        moi = os.getpid()
        descendants: set[int] = set()
        frontiere = [moi]
        while frontiere:
            pere = frontiere.pop()
            for pid, ppid in parents.items():
                if ppid == pere and pid not in descendants:
                    descendants.add(pid)
                    frontiere.append(pid)
        lecteurs = {p for p in descendants if "forkserver" in noms.get(p, "")}
        for pid in descendants:
            commande = noms.get(pid, "")
            if "tesseract" in commande.split(" ", 1)[0]:
                classe = "tesseract"
            elif pid in lecteurs or parents.get(pid) in lecteurs:
                classe = "lecture"
            else:
                classe = "autres"
            self.pics[classe] = max(self.pics[classe], _vmhwm_mo(pid))


def _nuit_enfant(sortie: Path) -> None:
    """Corps du processus de la nuit : le flow `releve` chronométré, deux fois."""
    depart = time.perf_counter()
    from prefect import Task

    import flows.releve as flow_releve

    imports_s = time.perf_counter() - depart
    intervalles: list[tuple[str, float, float]] = []
    verrou = threading.Lock()
    limite = {"cumul_s": 0.0, "appels": 0}
    origine = [0.0]

    def chronometrer(nom: str, fonction: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fonction)
        def enveloppe(*args: Any, **kwargs: Any) -> Any:
            debut = time.perf_counter()
            try:
                return fonction(*args, **kwargs)
            finally:
                with verrou:
                    intervalles.append((nom, debut - origine[0], time.perf_counter() - origine[0]))

        return enveloppe

    for objet in list(vars(flow_releve).values()):
        if isinstance(objet, Task):
            objet.fn = chronometrer(objet.name, objet.fn)

    limiteur_origine = flow_releve._limite_globale_llm

    @contextmanager
    def limiteur_chronometre() -> Iterator[object]:
        debut = time.perf_counter()
        gestionnaire: AbstractContextManager[object] = limiteur_origine()
        with gestionnaire as place:
            pris = time.perf_counter()
            yield place
            rendu = time.perf_counter()
        with verrou:
            limite["cumul_s"] += (pris - debut) + (time.perf_counter() - rendu)
            limite["appels"] += 1

    flow_releve._limite_globale_llm = limiteur_chronometre

    # Chaque courrier lu passe par le rapport (la barre de progression de la CLI) : son instant
    # donne le débit de la fin de la lecture, où il ne reste que les scans.
    lus: list[float] = []

    class RapportChrono:
        def debut(self, etape: str, total: int | None) -> None:
            pass

        def avance(self, etape: str, pas: int = 1) -> None:
            if etape == "Lecture et OCR":
                lus.append(time.perf_counter() - origine[0])

    flow_releve.definir_rapport(RapportChrono())
    echantillons = Echantillonneur()
    echantillons.start()
    origine[0] = time.perf_counter()
    bilan = flow_releve.releve()
    nuit_s = time.perf_counter() - origine[0]
    pic_principal = _vmhwm_mo()
    echantillons.arreter()
    with verrou:
        intervalles_nuit = list(intervalles)
        lus_nuit = list(lus)
        limite_nuit = dict(limite)

    debut = time.perf_counter()
    seconde = flow_releve.releve()
    seconde_s = time.perf_counter() - debut

    resultat = {
        "imports_s": imports_s,
        "nuit_s": nuit_s,
        "intervalles": intervalles_nuit,
        "lus": lus_nuit,
        "limite_llm_s": limite_nuit["cumul_s"],
        "limite_llm_appels": limite_nuit["appels"],
        "pic_principal_mo": pic_principal,
        "pics_enfants_mo": echantillons.pics,
        "nouveaux": sum(b.nouveaux for b in bilan.sources),
        "erreurs_sources": sum(len(b.erreurs) for b in bilan.sources),
        "extraits": bilan.extraction.extraits,
        "erreurs_lecture": len(bilan.extraction.en_erreur),
        "analyses": bilan.analyse.analyses,
        "par_llm": bilan.analyse.par_llm,
        "replis": bilan.analyse.replis,
        "brouillons": bilan.analyse.brouillons,
        "erreurs_analyse": len(bilan.analyse.erreurs),
        "seconde_nuit_s": seconde_s,
        "seconde_nouveaux": sum(b.nouveaux for b in seconde.sources),
        "seconde_analyses": seconde.analyse.analyses,
    }
    sortie.write_text(json.dumps(resultat), encoding="utf-8")


# -- le banc -----------------------------------------------------------------------------------


@dataclass
class Palier:
    elements: int
    nuit: Nuit
    mesure: dict[str, Any]
    enregistres: int = 0
    pages_lues_ocr: int = 0
    brouillons_ia: int = 0
    appels_analyse: int = 0
    appels_redaction: int = 0
    duree_processus_s: float = 0.0

    def etape(self, nom: str) -> float:
        return sum(fin - debut for n, debut, fin in self.mesure["intervalles"] if n == nom)

    @property
    def taches_s(self) -> float:
        """Temps couvert par au moins une tâche (les tâches peuvent se recouvrir)."""
        couvert, fin_courante = 0.0, float("-inf")
        for _, debut, fin in sorted(self.mesure["intervalles"], key=lambda i: i[1]):
            if debut > fin_courante:
                couvert += fin - debut
                fin_courante = fin
            elif fin > fin_courante:
                couvert += fin - fin_courante
                fin_courante = fin
        return couvert


@dataclass
class Resultats:
    echelle: int
    latence_s: float
    parallele: int
    processus: int
    graine: int
    paliers: list[Palier] = field(default_factory=list)
    borne_ocr_s: float = 0.0
    pages_borne: int = 0

    @property
    def principal(self) -> Palier:
        return max(self.paliers, key=lambda p: p.elements)


def _environnement(
    dossier: Path, prefect: Path, url_llm: str, parallele: int, processus: int
) -> dict[str, str]:
    env = {
        cle: valeur
        for cle, valeur in os.environ.items()
        if not cle.startswith(("COURRIER_", "PREFECT_"))
    }
    env.update(
        {
            "PYTHONPATH": str(RACINE),
            "OMP_THREAD_LIMIT": "1",
            "DO_NOT_TRACK": "1",
            "PREFECT_HOME": str(prefect),
            "PREFECT_LOGGING_LEVEL": "CRITICAL",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "COURRIER_DONNEES": str(dossier / "donnees"),
            "COURRIER_DEPOT_EML": str(dossier / "depot-eml"),
            "COURRIER_DEPOT_SCANS": str(dossier / "depot-scans"),
            "COURRIER_DEPOT_DELAI_STABILITE_S": "0",
            "COURRIER_OCR_PROCESSUS": str(processus),
            "COURRIER_LLM_URL": url_llm,
            "COURRIER_LLM_MODELE": "modele-test",
            "COURRIER_LLM_CLE": "cle-de-banc",
            "COURRIER_LLM_PARALLELE": str(parallele),
            "COURRIER_LLM_PSEUDONYMISER": "oui",
            "COURRIER_COMMUNE": "Saint-Aubin-sur-Loire",
            "COURRIER_MAIRE": "Hélène Moreau",
        }
    )
    return env


def _prechauffer_prefect(prefect: Path) -> None:
    """Un premier flow crée la base de Prefect (12 à 16 s la première fois) : une installation
    qui tourne chaque nuit ne paie plus ce coût, la nuit mesurée non plus."""
    env = _environnement(prefect.parent, prefect, "", 1, 1)
    code = "from prefect import flow\nflow(name='prechauffage')(lambda: None)()\n"
    subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=prefect.parent,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _compter_registre(donnees: Path) -> tuple[int, int, int]:
    """(courriers enregistrés, pages lues par OCR, brouillons préparés par l'IA)."""
    with sqlite3.connect(f"file:{donnees / 'registre.sqlite3'}?mode=ro", uri=True) as base:
        enregistres = base.execute("SELECT COUNT(*) FROM courriers").fetchone()[0]
        brouillons_ia = base.execute(
            "SELECT COUNT(*) FROM brouillons WHERE prepare_par_ia"
        ).fetchone()[0]
        pages = base.execute(
            "SELECT COALESCE(SUM(pages), 0) FROM courriers WHERE methode_extraction LIKE '%ocr'"
        ).fetchone()[0]
        pages += base.execute(
            "SELECT COALESCE(SUM(pages), 0) FROM pieces WHERE methode LIKE '%ocr'"
        ).fetchone()[0]
    return int(enregistres), int(pages), int(brouillons_ia)


def _jouer_palier(
    elements: int,
    racine: Path,
    cache: Path,
    prefect: Path,
    serveur: Any,
    options: argparse.Namespace,
) -> Palier:
    dossier = racine / f"nuit-{elements}"
    shutil.rmtree(dossier, ignore_errors=True)
    dossier.mkdir(parents=True)
    nuit = deposer(options.graine, elements, cache, dossier / "depot-eml", dossier / "depot-scans")
    env = _environnement(dossier, prefect, serveur.url, options.parallele, options.processus)
    sortie = dossier / "mesure.json"
    avant = len(serveur.requetes)
    depart = time.perf_counter()
    with (dossier / "nuit.log").open("wb") as journal:
        processus = subprocess.run(
            [sys.executable, "-m", "preuves.bench", "--enfant", str(sortie)],
            env=env,
            cwd=dossier,
            stdout=journal,
            stderr=subprocess.STDOUT,
            check=False,
        )
    duree = time.perf_counter() - depart
    if processus.returncode != 0 or not sortie.exists():
        raise RuntimeError(
            f"La nuit de {elements} éléments a échoué (code {processus.returncode}) : "
            f"voir {dossier / 'nuit.log'}."
        )
    requetes = serveur.requetes[avant:]
    palier = Palier(elements=elements, nuit=nuit, mesure=json.loads(sortie.read_text()))
    palier.duree_processus_s = duree
    palier.appels_analyse = sum(1 for r in requetes if r.get("response_format"))
    palier.appels_redaction = len(requetes) - palier.appels_analyse
    palier.enregistres, palier.pages_lues_ocr, palier.brouillons_ia = _compter_registre(
        dossier / "donnees"
    )
    return palier


def borne_ocr(pages: list[Path], processus: int, langues: str = "fra") -> float:
    """Durée de la CLI `tesseract` seule sur ces pages, `processus` à la fois."""
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}

    def lire(page: Path) -> None:
        subprocess.run(
            ["tesseract", str(page), "stdout", "-l", langues],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    depart = time.perf_counter()
    with ThreadPoolExecutor(max_workers=processus) as pool:
        list(pool.map(lire, pages))
    return time.perf_counter() - depart


def mesurer(options: argparse.Namespace, racine: Path) -> Resultats:
    from tests.serveur_llm import ServeurLLM

    cache = racine / f"cache-{options.graine}"
    prefect = racine / "prefect"
    resultats = Resultats(
        echelle=options.echelle,
        latence_s=options.latence,
        parallele=options.parallele,
        processus=options.processus,
        graine=options.graine,
    )
    paliers = sorted({*options.paliers, options.echelle})
    _afficher(f"Préparation de Prefect ({prefect}) …")
    _prechauffer_prefect(prefect)
    with ServeurLLM(latence_s=options.latence) as serveur:
        for elements in paliers:
            _afficher(f"Nuit de {elements} éléments …")
            palier = _jouer_palier(elements, racine, cache, prefect, serveur, options)
            _afficher(
                f"  {palier.mesure['nuit_s']:.1f} s ; pic mémoire "
                f"{palier.mesure['pic_principal_mo']:.0f} Mo"
            )
            resultats.paliers.append(palier)
    pages = resultats.principal.nuit.pages_ocr or []
    _afficher(f"Borne OCR : tesseract seul sur {len(pages)} pages, {options.processus} processus …")
    resultats.pages_borne = len(pages)
    resultats.borne_ocr_s = borne_ocr(pages, options.processus) if pages else 0.0
    return resultats


def _afficher(texte: str) -> None:
    print(texte, file=sys.stderr, flush=True)


# -- le rapport --------------------------------------------------------------------------------


def _n(valeur: float, decimales: int = 1) -> str:
    return f"{valeur:,.{decimales}f}".replace(",", " ").replace(".", ",")


def _e(valeur: int) -> str:
    return f"{valeur:,}".replace(",", " ")


@dataclass
class Ratio:
    libelle: str
    valeur: float
    affiche: str
    cible: str
    atteint: bool
    note: str = ""


def _note_nuit(
    p: Palier,
    borne_ocr_s: float,
    borne_llm_s: float,
    releve_s: float,
    lecture_s: float,
    analyse_s: float,
    prefect_s: float,
) -> str:
    """Où passe l'écart entre la nuit et sa borne : chaque morceau, en secondes."""
    intervalles = p.mesure["intervalles"]

    def fin(nom: str) -> float:
        return max((f for n, _, f in intervalles if n == nom), default=0.0)

    premiere = min((d for _, d, _ in intervalles), default=0.0)
    morceaux = [
        f"avant la première tâche (démarrage de Prefect) {_n(premiere)} s",
        f"relève des sources {_n(releve_s)} s, avant la lecture (une transaction et une "
        "écriture d'archive par élément)",
    ]
    recouvrement = lecture_s + analyse_s > 0 and p.taches_s < 0.95 * (
        releve_s + lecture_s + analyse_s
    )
    if not recouvrement:
        morceaux.append(
            "lecture (OCR) puis analyse (LLM) en séquence : la nuit dure leur somme, quand les "
            "bornes n'en demandent que le maximum"
        )
    else:
        queue = fin("analyser et préparer les brouillons") - fin("lire les courriers")
        if borne_ocr_s >= borne_llm_s or lecture_s > borne_llm_s:
            morceaux.append(
                f"la lecture, qui retient la nuit, dure {_n(lecture_s)} s contre "
                f"{_n(borne_ocr_s)} s pour tesseract seul (l'analyse et ses fils prennent du "
                "calcul aux mêmes cœurs)"
            )
        morceaux.append(f"analyse des derniers courriers lus, après la lecture : {_n(queue)} s")
    return (
        f"Étapes : relève {_n(releve_s)} s, lecture et OCR {_n(lecture_s)} s, analyse "
        f"{_n(analyse_s)} s{' (elles se recouvrent)' if recouvrement else ''}, Prefect "
        f"{_n(prefect_s)} s. "
        "L'écart à la borne : " + " ; ".join(morceaux) + "."
    )


def _duree_des_scans(p: Palier) -> float:
    """De la lecture du dernier courriel à celle du dernier scan (les scans passent en
    dernier) ; 0 si les comptes ne le permettent pas."""
    lus = sorted(p.mesure.get("lus", []))
    if not p.nuit.scans or len(lus) != p.elements or p.nuit.scans >= len(lus):
        return 0.0
    return lus[-1] - lus[-p.nuit.scans - 1]


def ratios(r: Resultats) -> tuple[dict[str, float], list[Ratio]]:
    p = r.principal
    m = p.mesure
    appels = p.appels_analyse + p.appels_redaction
    borne_llm = appels * r.latence_s / r.parallele
    bornes = max(r.borne_ocr_s, borne_llm)
    nuit_s = m["nuit_s"]
    releve_s = p.etape("relever une source")
    lecture_s = p.etape("lire les courriers")
    analyse_s = p.etape("analyser et préparer les brouillons")
    prefect_s = max(0.0, nuit_s - p.taches_s) + m["limite_llm_s"] / r.parallele
    chiffres = {
        "borne_ocr_s": r.borne_ocr_s,
        "borne_llm_s": borne_llm,
        "nuit_s": nuit_s,
        "releve_s": releve_s,
        "lecture_s": lecture_s,
        "analyse_s": analyse_s,
        "prefect_s": prefect_s,
        "limite_llm_s": m["limite_llm_s"],
        "appels_llm": appels,
        "seconde_nuit_s": m["seconde_nuit_s"],
    }
    liste: list[Ratio] = []

    rapport_nuit = nuit_s / bornes if bornes else float("inf")
    note = _note_nuit(p, r.borne_ocr_s, borne_llm, releve_s, lecture_s, analyse_s, prefect_s)
    liste.append(
        Ratio(
            "nuit ÷ max(borne OCR, borne LLM)",
            rapport_nuit,
            _n(rapport_nuit, 2),
            f"≤ {_n(CIBLE_NUIT)}",
            rapport_nuit <= CIBLE_NUIT,
            note,
        )
    )

    debit = r.borne_ocr_s / lecture_s if lecture_s else 0.0
    scans_s = _duree_des_scans(p)
    debit_scans = (
        (p.nuit.scans / scans_s) / (r.pages_borne / r.borne_ocr_s)
        if scans_s and r.pages_borne and r.borne_ocr_s
        else 0.0
    )
    chiffres["scans_s"] = scans_s
    chiffres["debit_scans"] = debit_scans
    liste.append(
        Ratio(
            "débit de la lecture ÷ débit de tesseract seul",
            debit,
            _n(debit, 2),
            f"≥ {_n(CIBLE_OCR)}",
            debit >= CIBLE_OCR,
            "La lecture fait, en plus de l'OCR des mêmes pages, le décodage MIME de "
            f"{_e(p.nuit.courriels)} courriels, la couche texte de "
            f"{_e(p.nuit.avec_pdf - p.nuit.pdf_image)} PDF, le rendu des pages des PDF image "
            "(pypdfium2), la sortie TSV de Tesseract (confiances) et une écriture au registre "
            "par courrier, dans le processus principal, où tournent aussi les fils de "
            "l'analyse. Sur la fin de la lecture, où il ne reste que les scans, le débit vaut "
            f"{_n(debit_scans, 2)} fois celui de tesseract seul ({_e(p.nuit.scans)} scans en "
            f"{_n(scans_s)} s).",
        )
    )

    part = prefect_s / nuit_s if nuit_s else 0.0
    liste.append(
        Ratio(
            "part de Prefect dans la nuit",
            part,
            f"{_n(100 * part)} %",
            f"≤ {_n(100 * CIBLE_PREFECT, 0)} %",
            part <= CIBLE_PREFECT,
            f"Hors des tâches : {_n(max(0.0, nuit_s - p.taches_s))} s (surtout le démarrage du "
            "serveur Prefect temporaire) ; limite globale « courrier-llm » : "
            f"{_n(m['limite_llm_s'])} s cumulés sur {_e(m['limite_llm_appels'])} appels, "
            f"{_n(m['limite_llm_s'] / r.parallele)} s de nuit.",
        )
    )

    par_courrier = p.appels_analyse / m["analyses"] if m["analyses"] else 0.0
    liste.append(
        Ratio(
            "appels LLM d'analyse par courrier",
            par_courrier,
            _n(par_courrier, 2),
            f"≤ {_n(CIBLE_APPELS, 0)}",
            par_courrier <= CIBLE_APPELS,
        )
    )
    par_brouillon = p.appels_redaction / p.brouillons_ia if p.brouillons_ia else 0.0
    liste.append(
        Ratio(
            "appels LLM de rédaction par brouillon de l'IA",
            par_brouillon,
            _n(par_brouillon, 2),
            f"≤ {_n(CIBLE_APPELS, 0)}",
            par_brouillon <= CIBLE_APPELS,
        )
    )

    petit = min(r.paliers, key=lambda x: x.elements)
    if len(r.paliers) > 1 and petit.mesure["pic_principal_mo"]:
        croissance = p.mesure["pic_principal_mo"] / petit.mesure["pic_principal_mo"] - 1
        lecture_petit = petit.mesure["pics_enfants_mo"]["lecture"] or 1.0
        croissance_lecture = p.mesure["pics_enfants_mo"]["lecture"] / lecture_petit - 1
        pire = max(croissance, croissance_lecture)
        liste.append(
            Ratio(
                f"croissance du pic mémoire, {_e(petit.elements)} → {_e(p.elements)} éléments",
                pire,
                f"{'+' if pire >= 0 else ''}{_n(100 * pire, 0)} %",
                f"≤ +{_n(100 * CIBLE_MEMOIRE, 0)} %",
                pire <= CIBLE_MEMOIRE,
                f"Processus principal {_n(100 * croissance, 0)} %, processus de lecture "
                f"{_n(100 * croissance_lecture, 0)} %. Le processus principal garde la liste "
                "des courriers à lire et à analyser (textes compris) et les résultats de "
                "lecture jusqu'à la fin de l'étape.",
            )
        )

    seconde = m["seconde_nuit_s"]
    liste.append(
        Ratio(
            "seconde nuit, rien de nouveau",
            seconde,
            f"{_n(seconde)} s",
            f"≤ {_n(CIBLE_SECONDE_NUIT_S, 0)} s",
            seconde <= CIBLE_SECONDE_NUIT_S,
            "Le flow relancé dans le même processus (serveur Prefect déjà démarré) ; la CLI "
            "`courrier releve`, qui se passe de Prefect, se mesure avec preuves.releve_a_vide.",
        )
    )
    return chiffres, liste


def rapport(r: Resultats) -> str:
    p = r.principal
    m = p.mesure
    chiffres, liste = ratios(r)
    lignes = [
        f"Banc de performance de Courrier — nuit de {_e(p.elements)} éléments (graine {r.graine})",
        f"  {_e(p.nuit.courriels)} courriels dont {_e(p.nuit.avec_pdf)} avec un PDF joint "
        f"({_e(p.nuit.pdf_image)} PDF image seule), {_e(p.nuit.scans)} scans A4 à 300 dpi",
        "  sources : dossier de fichiers .eml (COURRIER_DEPOT_EML) et dossier des scans "
        "(COURRIER_DEPOT_SCANS) ; registre SQLite ; flow Prefect `releve`, serveur temporaire",
        f"  LLM : serveur de test compatible OpenAI, latence {_n(r.latence_s, 2)} s, "
        f"{r.parallele} appels simultanés (COURRIER_LLM_PARALLELE), pseudonymisation activée",
        f"  OCR : {r.processus} processus (COURRIER_OCR_PROCESSUS), {os.cpu_count()} cœurs",
        "",
        "Mesures",
    ]

    def ligne(libelle: str, valeur: str) -> None:
        lignes.append(f"  {libelle:<58} {valeur:>12}")

    ligne(
        f"borne OCR : tesseract seul, {_e(r.pages_borne)} pages, {r.processus} processus",
        f"{_n(chiffres['borne_ocr_s'])} s",
    )
    ligne(
        f"borne LLM : {_e(int(chiffres['appels_llm']))} appels × {_n(r.latence_s, 2)} s ÷ "
        f"{r.parallele}",
        f"{_n(chiffres['borne_llm_s'])} s",
    )
    ligne("nuit de bout en bout (flow `releve`)", f"{_n(chiffres['nuit_s'])} s")
    ligne("  relève des sources (archive, registre)", f"{_n(chiffres['releve_s'])} s")
    ligne(f"  lecture et OCR ({_e(p.pages_lues_ocr)} pages OCR)", f"{_n(chiffres['lecture_s'])} s")
    ligne(f"    dont les {_e(p.nuit.scans)} scans, lus en dernier", f"{_n(chiffres['scans_s'])} s")
    ligne("  analyse et brouillons", f"{_n(chiffres['analyse_s'])} s")
    ligne("  Prefect (hors tâches, limite LLM)", f"{_n(chiffres['prefect_s'])} s")
    ligne("imports (Python, Prefect), hors nuit", f"{_n(m['imports_s'])} s")
    ligne("courriers enregistrés / générés", f"{_e(p.enregistres)} / {_e(p.elements)}")
    ligne(
        "courriers lus / en erreur de lecture", f"{_e(m['extraits'])} / {_e(m['erreurs_lecture'])}"
    )
    ligne(
        "courriers analysés / dont par le LLM / replis",
        f"{_e(m['analyses'])} / {_e(m['par_llm'])} / {_e(m['replis'])}",
    )
    ligne(
        "appels LLM : analyse / rédaction",
        f"{_e(p.appels_analyse)} / {_e(p.appels_redaction)}",
    )
    ligne("brouillons / dont préparés par l'IA", f"{_e(m['brouillons'])} / {_e(p.brouillons_ia)}")
    ligne("seconde nuit (rien de nouveau)", f"{_n(m['seconde_nuit_s'])} s")
    lignes += ["", "Pic mémoire (Mo) par palier"]
    lignes.append(
        f"  {'éléments':>9} {'nuit (s)':>10} {'principal':>10} {'lecture':>9} "
        f"{'tesseract':>10} {'autres':>8}"
    )
    for palier in sorted(r.paliers, key=lambda x: x.elements):
        pics = palier.mesure["pics_enfants_mo"]
        lignes.append(
            f"  {_e(palier.elements):>9} {_n(palier.mesure['nuit_s']):>10} "
            f"{_n(palier.mesure['pic_principal_mo'], 0):>10} {_n(pics['lecture'], 0):>9} "
            f"{_n(pics['tesseract'], 0):>10} {_n(pics['autres'], 0):>8}"
        )
    lignes += ["", "Ratios", f"  {'':<50} {'mesuré':>10} {'cible':>10}  résultat"]
    for ratio in liste:
        lignes.append(
            f"  {ratio.libelle:<50} {ratio.affiche:>10} {ratio.cible:>10}  "
            f"{'OK' if ratio.atteint else 'manqué'}"
        )
    manques = [ratio for ratio in liste if not ratio.atteint and ratio.note]
    if manques:
        lignes += ["", "Notes (cibles manquées)"]
        for ratio in manques:
            lignes.append(f"  - {ratio.libelle} : {ratio.note}")
    lignes += [
        "",
        "Temps mesurés sur cette machine, avec ce qui y tournait en même temps ; rien n'est "
        "vérifié ici, le banc imprime seulement.",
    ]
    return "\n".join(lignes)


def _entiers(texte: str) -> list[int]:
    return [int(x) for x in texte.replace(" ", "").split(",") if x]


def main(arguments: list[str] | None = None) -> int:
    analyse = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    analyse.add_argument("--echelle", type=int, default=1000, help="éléments de la nuit")
    analyse.add_argument("--latence", type=float, default=1.0, help="latence du LLM (s)")
    analyse.add_argument(
        "--parallele", type=int, default=8, help="appels simultanés au LLM (défaut : 8)"
    )
    analyse.add_argument(
        "--processus", type=int, default=2, help="processus d'OCR, Courrier et tesseract seul"
    )
    analyse.add_argument(
        "--paliers",
        type=_entiers,
        default=None,
        help="tailles de nuit pour la mémoire, p. ex. 250,500,1000 (défaut : ¼, ½ et 1 × échelle)",
    )
    analyse.add_argument("--graine", type=int, default=GRAINE)
    analyse.add_argument("--dossier", type=Path, help="dossier de travail gardé (sinon temporaire)")
    analyse.add_argument("--json", type=Path, help="écrit aussi les mesures dans ce fichier")
    analyse.add_argument("--enfant", type=Path, help=argparse.SUPPRESS)
    options = analyse.parse_args(arguments)
    if options.enfant is not None:
        _nuit_enfant(options.enfant)
        return 0
    if options.echelle < 1 or options.latence < 0 or options.parallele < 1:
        analyse.error("échelle et appels simultanés d'au moins 1, latence positive")
    if options.paliers is None:
        options.paliers = sorted({max(1, options.echelle // 4), max(1, options.echelle // 2)})
    if options.dossier is not None:
        options.dossier.mkdir(parents=True, exist_ok=True)
        resultats = mesurer(options, options.dossier.resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="banc-courrier-") as dossier:
            resultats = mesurer(options, Path(dossier))
    print(rapport(resultats), flush=True)
    if options.json is not None:
        chiffres, liste = ratios(resultats)
        donnees = {
            "parametres": {
                "echelle": resultats.echelle,
                "latence_s": resultats.latence_s,
                "parallele": resultats.parallele,
                "processus": resultats.processus,
                "graine": resultats.graine,
            },
            "chiffres": chiffres,
            "ratios": [asdict(x) for x in liste],
            "paliers": [
                {k: v for k, v in asdict(x).items() if k != "nuit"}
                | {
                    "courriels": x.nuit.courriels,
                    "avec_pdf": x.nuit.avec_pdf,
                    "pdf_image": x.nuit.pdf_image,
                    "scans": x.nuit.scans,
                    "pages_ocr": len(x.nuit.pages_ocr or []),
                }
                for x in resultats.paliers
            ],
        }
        options.json.write_text(json.dumps(donnees, ensure_ascii=False, indent=1), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
