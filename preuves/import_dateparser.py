"""Ce que coûte dateparser à l'import, et ce que son import paresseux épargne au connecteur LLM.

Chaque mesure est un interpréteur neuf (`python -c`), répété ; on garde la médiane. La base est
`python -c pass`, mesurée dans le même passage : les ratios ne dépendent pas de la machine.

    .venv/bin/python -m preuves.import_dateparser --fois 7
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

MESURES = {
    "base (python -c pass)": "pass",
    "import connecteurs.llm (dateparser paresseux)": "import connecteurs.llm",
    "import dateparser": "import dateparser",
    "import connecteurs.llm puis dateparser": "import connecteurs.llm, dateparser",
    "import connecteurs.reponse_llm": "import connecteurs.reponse_llm",
    "reponse_llm puis une première date en lettres": (
        "from datetime import date; from connecteurs.reponse_llm import lire_date; "
        "lire_date('15 janvier 2027', date(2026, 11, 2))"
    ),
}


def _duree(code: str) -> float:
    debut = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - debut


def main(arguments: list[str] | None = None) -> None:
    parseur = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parseur.add_argument("--fois", type=int, default=5, help="répétitions par mesure")
    fois = parseur.parse_args(arguments).fois
    medianes = {
        nom: statistics.median(_duree(code) for _ in range(fois)) for nom, code in MESURES.items()
    }
    base = medianes["base (python -c pass)"]
    print(f"{'mesure':<50} {'médiane':>9} {'÷ base':>8}")
    for nom, duree in medianes.items():
        print(f"{nom:<50} {duree:>8.3f}s {duree / base:>7.1f}×")
    paresseux = medianes["import connecteurs.llm (dateparser paresseux)"]
    complet = medianes["import connecteurs.llm puis dateparser"]
    print(f"épargné au connecteur LLM par l'import paresseux : {complet - paresseux:.3f} s")
    premiere = medianes["reponse_llm puis une première date en lettres"]
    seul = medianes["import connecteurs.reponse_llm"]
    print(f"coût de la première date en lettres (import et langues) : {premiere - seul:.3f} s")


if __name__ == "__main__":
    main()
