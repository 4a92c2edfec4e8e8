"""Aides des tests qui lancent `courrier planifier --servir` : l'environnement du processus et
des exécutions demandées « ensemble » pour de bon."""

from __future__ import annotations

import asyncio
import datetime
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Le Runner de Prefect interroge le serveur toutes les ~10 s (±30 %) et prend les exécutions
# prévues dans les 10 s qui suivent (`prefetch_seconds`). Deux exécutions créées « pour tout
# de suite » l'une après l'autre peuvent tomber de part et d'autre d'une interrogation : la
# première, vite finie, n'a alors jamais croisé la seconde. Prévues au même instant, plus loin
# que cet horizon, elles sont vues par la même interrogation et soumises ensemble.
HORIZON_RUNNER_S = 12


def env_servir(tmp_path: Path, donnees: Path) -> dict[str, str]:
    """L'environnement d'un `courrier` lancé à part : ni COURRIER_* ni PREFECT_* hérités."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COURRIER_", "PREFECT_"))}
    return env | {
        "COURRIER_DONNEES": str(donnees),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "DO_NOT_TRACK": "1",
    }


async def executions_ensemble(
    url: str,
    deploiements: list[str],
    delai_s: float,
    quand_une_finit: Callable[[], None] | None = None,
) -> list[Any]:
    """Une exécution de chaque déploiement (« flow/nom »), prévues au même instant ; les
    exécutions une fois toutes finies (AssertionError si le délai passe). `quand_une_finit`
    est appelé une fois, dès que la première a fini (pour libérer celles qu'un test retient)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.states import Scheduled

    instant = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=HORIZON_RUNNER_S)
    with temporary_settings(updates={PREFECT_API_URL: url}):
        async with get_client() as client:
            ids = []
            for nom in deploiements:
                d = await client.read_deployment_by_name(nom)
                run = await client.create_flow_run_from_deployment(
                    d.id, state=Scheduled(scheduled_time=instant)
                )
                ids.append(run.id)
            fin = time.monotonic() + HORIZON_RUNNER_S + delai_s
            while True:
                runs = [await client.read_flow_run(i) for i in ids]
                if quand_une_finit and any(r.state and r.state.is_final() for r in runs):
                    quand_une_finit()
                    quand_une_finit = None
                if all(r.state and r.state.is_final() for r in runs):
                    return runs
                assert time.monotonic() < fin, [(r.name, r.state_name) for r in runs]
                await asyncio.sleep(0.5)
