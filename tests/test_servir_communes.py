"""`courrier planifier --servir` sur une machine qui porte plusieurs communes : chacune a ses
horaires, une commune ajoutée pendant le service est servie sans redémarrer, et la limite
d'exécutions à la fois vaut pour toutes les communes ensemble."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from courrier.planification import flows_disponibles
from courrier.service_horaires import fichier_api_url
from tests.prefect_essai import env_servir, executions_ensemble

# La vraie commande, la veille des communes ajoutées ramenée d'une minute à une seconde.
LANCER = (
    "import runpy, sys; import courrier.service_horaires as p; p.VEILLE_COMMUNES_S = 1.0; "
    "sys.argv = ['courrier', 'planifier', '--servir', '--limite', '1']; "
    "runpy.run_module('courrier', run_name='__main__')"
)


def _courrier(env: dict[str, str], *arguments: str) -> str:
    fini = subprocess.run(
        [sys.executable, "-m", "courrier", *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert fini.returncode == 0, fini.stdout + fini.stderr
    return fini.stdout


async def _noms_des_deploiements(url: str) -> set[str]:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: url}):
        async with get_client() as client:
            return {d.name for d in await client.read_deployments()}


def _attendre(condition: Any, processus: subprocess.Popen[bytes], delai_s: float) -> None:
    fin = time.monotonic() + delai_s
    while not condition():
        assert processus.poll() is None, processus.communicate()
        assert time.monotonic() < fin, "délai dépassé"
        time.sleep(0.5)


@pytest.mark.lent
@pytest.mark.timeout(300)
def test_servir_sert_chaque_commune_prend_les_nouvelles_et_borne_les_executions(
    tmp_path: Path,
) -> None:
    donnees = tmp_path / "donnees"
    env = env_servir(tmp_path, donnees)
    _courrier(env, "commune", "ajouter", "saint-jean", "--nom", "Saint-Jean")
    flows = [h.flow for h, _ in flows_disponibles()]
    processus = subprocess.Popen(
        [sys.executable, "-c", LANCER],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        chemin = fichier_api_url(donnees)
        _attendre(chemin.is_file, processus, 120)
        url = chemin.read_text(encoding="utf-8").strip()
        attendus = {*flows, *(f"{f}-saint-jean" for f in flows)}
        _attendre(lambda: asyncio.run(_noms_des_deploiements(url)) >= attendus, processus, 60)

        # Une commune ajoutée pendant le service : ses horaires arrivent sans redémarrer.
        _courrier(env, "commune", "ajouter", "beaulieu", "--nom", "Beaulieu")
        attendus |= {f"{f}-beaulieu" for f in flows}
        _attendre(lambda: asyncio.run(_noms_des_deploiements(url)) >= attendus, processus, 60)
        assert asyncio.run(_noms_des_deploiements(url)) == attendus

        # --limite 1 : deux relèves de communes différentes demandées ensemble passent l'une
        # après l'autre (sans limite, le Runner de Prefect en lance cinq à la fois).
        runs = asyncio.run(
            executions_ensemble(url, ["releve/releve-saint-jean", "releve/releve-beaulieu"], 120)
        )
        assert [r.state_name for r in runs] == ["Completed", "Completed"]
        premiere, seconde = sorted(runs, key=lambda r: r.start_time)
        assert seconde.start_time >= premiere.end_time, [
            (r.name, r.start_time, r.end_time) for r in runs
        ]
    finally:
        processus.send_signal(signal.SIGTERM)
        sortie, erreur = processus.communicate(timeout=60)
    assert processus.returncode == 0, erreur
    texte = sortie.decode()
    assert "releve-saint-jean" in texte and "1 exécution(s) à la fois au plus" in texte
    assert "Commune « beaulieu » ajoutée : ses horaires sont servis." in texte
    assert "ne sont pas servies" not in texte
    assert "Traceback" not in erreur.decode()
