"""Les places de relève d'une machine (courrier/places_releve.py) : des verrous `flock` réels,
pris par de vrais processus."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from courrier.places_releve import place_de_releve
from noyau.erreurs import ConfigurationErreur

RACINE = Path(__file__).resolve().parent.parent

TENIR = """
import sys, time
from pathlib import Path
from courrier.places_releve import place_de_releve
with place_de_releve(int(sys.argv[2]), Path(sys.argv[1])) as rang:
    print(rang, flush=True)
    time.sleep(float(sys.argv[3]))
"""


def _tenir(dossier: Path, nombre: int, duree_s: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(RACINE)}
    return subprocess.Popen(
        [sys.executable, "-c", TENIR, str(dossier), str(nombre), str(duree_s)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_jamais_plus_de_releves_au_travail_que_de_places(tmp_path: Path) -> None:
    dossier = tmp_path / "places"
    tenues: list[int] = []
    maximum = [0]
    verrou = threading.Lock()
    depart = threading.Barrier(6)

    def releve() -> None:
        depart.wait()
        with place_de_releve(2, dossier, attente_s=0.01) as rang:
            with verrou:
                assert rang not in tenues
                tenues.append(rang)
                maximum[0] = max(maximum[0], len(tenues))
            time.sleep(0.2)
            with verrou:
                tenues.remove(rang)

    fils = [threading.Thread(target=releve) for _ in range(6)]
    for f in fils:
        f.start()
    for f in fils:
        f.join(timeout=30)
    assert not any(f.is_alive() for f in fils)
    assert maximum[0] == 2 and tenues == []


def test_la_place_d_un_processus_tue_revient_aussitot(tmp_path: Path) -> None:
    dossier = tmp_path / "places"
    tenant = _tenir(dossier, 1, 600)
    try:
        assert tenant.stdout is not None
        assert tenant.stdout.readline().strip() == "0"  # il tient la seule place
        attentes: list[float] = []

        def dormir(s: float) -> None:
            attentes.append(s)
            if len(attentes) == 3:  # la relève attend : son voisin est tué (kill -9)
                os.kill(tenant.pid, signal.SIGKILL)
                tenant.wait(timeout=30)
            time.sleep(s)

        with place_de_releve(1, dossier, attente_s=0.05, dormir=dormir) as rang:
            assert rang == 0
        assert len(attentes) >= 3
    finally:
        tenant.kill()
        tenant.wait(timeout=30)


def test_une_place_rendue_par_un_autre_processus_est_reprise(tmp_path: Path) -> None:
    dossier = tmp_path / "places"
    tenants = [_tenir(dossier, 2, 1.0) for _ in range(2)]
    try:
        rangs = sorted(int(t.stdout.readline()) for t in tenants if t.stdout is not None)
        assert rangs == [0, 1]
        debut = time.monotonic()
        with place_de_releve(2, dossier, attente_s=0.02) as rang:
            attendu_s = time.monotonic() - debut
        assert rang in (0, 1) and attendu_s > 0.2  # elle a bien attendu qu'une place revienne
    finally:
        for t in tenants:
            t.wait(timeout=30)


def test_sans_limite_rien_n_attend_ni_n_est_cree(tmp_path: Path) -> None:
    with place_de_releve(0, tmp_path / "places") as rang:
        assert rang is None
    assert not (tmp_path / "places").exists()


def test_un_dossier_impossible_est_dit_en_francais(tmp_path: Path) -> None:
    fichier = tmp_path / "pas-un-dossier"
    fichier.write_text("x", encoding="utf-8")
    with (
        pytest.raises(ConfigurationErreur, match=r"places de relève .* ne peut pas être créé"),
        place_de_releve(2, fichier / "places"),
    ):
        pass
