"""Aucun test ne dépend du jour où il tourne : les tests qui manient des dates (registre, digest,
délais légaux, brouillons, conservation) sont rejoués ici avec l'horloge de la machine avancée
d'un an et un jour (libfaketime, paquet Debian faketime). `make test-decale` rejoue toute la
suite avec la date avancée dans chaque programme Python (tests/decalage/sitecustomize.py).
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


# Déjà décalée (make test-decale, ou sous libfaketime) : ces tests-ci n'ajouteraient qu'un
# décalage par-dessus le premier.
DEJA_DECALEE = "faketime" in os.environ.get("LD_PRELOAD", "") or bool(
    os.environ.get("TEMPS_DECALE_JOURS")
)
pytestmark = pytest.mark.skipif(DEJA_DECALEE, reason="la suite tourne déjà décalée")
DECALAGE = RACINE / "tests" / "decalage"
# Ce qu'un programme voit : l'heure, la date, et ce que dure une attente bornée entre fils.
SONDE = (
    "import datetime, threading, time; d = time.monotonic(); threading.Event().wait(0.2); "
    "print(time.time(), datetime.datetime.now().timestamp(), time.monotonic() - d)"
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


def _sonde(decalage: str | None) -> list[float]:
    env = {k: v for k, v in os.environ.items() if k != "TEMPS_DECALE_JOURS"}
    env["PYTHONPATH"] = str(DECALAGE)
    if decalage is not None:
        env["TEMPS_DECALE_JOURS"] = decalage
    fait = subprocess.run(
        [sys.executable, "-c", SONDE],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return [float(x) for x in fait.stdout.split()]


def test_make_test_decale_avance_la_date_de_chaque_programme_python_sans_bloquer_les_attentes() -> (
    None
):
    """Le sitecustomize de `make test-decale` décale la date d'un programme qui le trouve dans son
    sys.path (ici par PYTHONPATH ; le passage entier par un .pth), et une attente bornée entre
    fils y dure ce qu'elle doit (sous libfaketime : un an)."""
    temps, maintenant, attente = _sonde("366")
    temps_0, maintenant_0, _ = _sonde(None)
    for decale, normal in ((temps, temps_0), (maintenant, maintenant_0)):
        assert 366 * 86400 - 120 < decale - normal < 366 * 86400 + 120
    assert 0.2 <= attente < 30
    recule, _, _ = _sonde("-200")
    assert -200 * 86400 - 120 < recule - temps_0 < -200 * 86400 + 120
