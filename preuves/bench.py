"""Banc de performance (issue #6) : une nuit reproductible mesurée contre ses bornes.

    .venv/bin/python -m preuves.bench [--echelle 1000] [--latence 1.0] [--paliers 250,500,1000]

La nuit (preuves/generateur.py) : pour 1 000 éléments, 800 courriels (200 avec un PDF joint,
dont 50 PDF qui ne sont qu'une image de page) et 200 lettres numérisées A4 à 300 dpi. Ils
passent par le vrai chemin : fichiers .eml dans le dossier `COURRIER_DEPOT_EML`, PNG dans
`COURRIER_DEPOT_SCANS`, registre SQLite, flow Prefect `releve` (serveur Prefect temporaire,
comme toute exécution du flow sans serveur indiqué ; `courrier releve` n'en démarre plus),
client `openai` contre le serveur de test compatible OpenAI (preuves/serveur_llm.py) qui répond
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

Le code : la nuit mesurée dans son processus (preuves/bench_nuit.py), les paliers et la borne
OCR (preuves/bench_paliers.py), les ratios et le rapport (preuves/bench_rapport.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from preuves.bench_nuit import nuit_enfant
from preuves.bench_paliers import mesurer
from preuves.bench_rapport import rapport, ratios

__all__ = ["main", "mesurer", "rapport", "ratios"]

GRAINE = 2026


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
        nuit_enfant(options.enfant)
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
