"""Banc de performance : chaque palier joué (nuit générée, processus enfant, comptes du
registre) et la borne OCR, `tesseract` seul sur les mêmes pages."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from preuves.generateur import Nuit, deposer

RACINE = Path(__file__).resolve().parents[1]


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
    from preuves.serveur_llm import ServeurLLM

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
