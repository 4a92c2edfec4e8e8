"""Durée d'une `courrier releve` lancée à la main quand rien n'est nouveau (issue #13, point 5).

    .venv/bin/python -m preuves.releve_a_vide [--fois 5]

Un dossier de données neuf, un dossier de dépôt `.eml` avec un courriel : une première relève
l'enregistre (base créée, migrations), puis la vraie commande est relancée `--fois` fois, rien
de nouveau ; chaque durée (processus entier, démarrage de Python compris) est imprimée, avec la
médiane et la cible (3 s). Rien n'est vérifié : le banc imprime seulement.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RACINE = Path(__file__).resolve().parents[1]
CIBLE_S = 3.0


def mesurer(dossier: Path, fois: int) -> list[float]:
    depot = dossier / "depot-eml"
    depot.mkdir(parents=True)
    exemple = next(iter(sorted((RACINE / "courrier" / "demo" / "courriels").glob("*.eml"))))
    shutil.copy(exemple, depot / exemple.name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COURRIER_", "PREFECT_"))}
    env.update(
        {
            "PYTHONPATH": str(RACINE),
            "COURRIER_DONNEES": str(dossier / "donnees"),
            "COURRIER_DEPOT_EML": str(depot),
            "COURRIER_DEPOT_DELAI_STABILITE_S": "0",
        }
    )
    durees = []
    for rang in range(fois + 1):
        debut = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "courrier", "releve"],
            env=env,
            cwd=dossier,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if rang:  # la première enregistre le courriel : elle n'est pas « à vide »
            durees.append(time.perf_counter() - debut)
    return durees


def main(arguments: list[str] | None = None) -> int:
    analyse = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    analyse.add_argument("--fois", type=int, default=5, help="relèves à vide mesurées")
    options = analyse.parse_args(arguments)
    with tempfile.TemporaryDirectory(prefix="releve-a-vide-") as dossier:
        durees = mesurer(Path(dossier), max(1, options.fois))
    mediane = statistics.median(durees)
    print("courrier releve, rien de nouveau : " + ", ".join(f"{d:.2f} s" for d in durees))
    print(
        f"médiane {mediane:.2f} s (cible ≤ {CIBLE_S:.0f} s : "
        f"{'OK' if mediane <= CIBLE_S else 'manqué'}), sur {os.cpu_count()} cœurs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
