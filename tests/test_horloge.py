"""Aucun test ne dépend du jour où il tourne : les tests qui manient des dates (registre, digest,
délais légaux, brouillons, conservation) sont rejoués ici avec l'horloge de la machine avancée
d'un an et un jour (libfaketime, paquet Debian faketime). `make test-decale` rejoue toute la
suite de la même façon.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import RACINE

MODULES = [
    "tests/test_digest.py",
    "tests/test_delais.py",
    "tests/test_brouillons.py",
    "tests/test_calendrier.py",
    "tests/test_conservation.py",
    "tests/test_registre.py",
    "tests/test_indicateurs.py",
]


def _libfaketime() -> Path:
    for dossier in ("/usr/lib/x86_64-linux-gnu/faketime", "/usr/lib/aarch64-linux-gnu/faketime"):
        chemin = Path(dossier) / "libfaketime.so.1"
        if chemin.is_file():
            return chemin
    raise AssertionError("libfaketime manque : installez le paquet Debian faketime (make test).")


# Déjà sous libfaketime (make test-decale) : toute la suite tourne décalée, ces tests-ci
# n'ajouteraient qu'un décalage par-dessus le premier.
pytestmark = pytest.mark.skipif(
    "faketime" in os.environ.get("LD_PRELOAD", ""), reason="la suite tourne déjà décalée"
)


def _decale() -> dict[str, str]:
    return {**os.environ, "FAKETIME": "+366d", "LD_PRELOAD": str(_libfaketime())}


def test_les_tests_qui_manient_des_dates_passent_un_an_plus_tard() -> None:
    env = _decale()
    # La démo et PostgreSQL sont déjà couverts ailleurs : ici, SQLite et les dates.
    fait = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k",
         "not postgresql and not commande", *MODULES],
        cwd=RACINE, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    fin = fait.stdout.strip().splitlines()[-1] if fait.stdout.strip() else fait.stderr[-2000:]
    assert fait.returncode == 0, fait.stdout[-6000:] + fait.stderr[-2000:]
    assert " passed" in fin and "failed" not in fin, fin
    print(f"Un an plus tard : {fin}")


def test_l_horloge_decalee_est_bien_decalee() -> None:
    """Que le décalage agisse vraiment : sinon le test précédent ne prouverait rien."""
    env = _decale()
    fait = subprocess.run(
        [sys.executable, "-c", "import time; print(time.time())"],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    ecart = float(fait.stdout) - datetime.now(UTC).timestamp()
    assert 365 * 86400 < ecart < 367 * 86400
