"""Le seul décorateur de tâche des flows : Prefect y reçoit, comme ses propres `retries`, la
politique de reprise écrite une fois dans courrier/reprises.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from prefect import Task, task
from prefect.cache_policies import NO_CACHE

from courrier.reprises import Reprise

P = ParamSpec("P")
R = TypeVar("R")

ConditionPrefect = Callable[[Any, Any, Any], bool]


def condition(retenter: Callable[[BaseException], bool]) -> ConditionPrefect:
    """La `retry_condition_fn` de Prefect : l'erreur de l'état raté, jugée par `retenter`."""

    def reessayer(_task: Any, _task_run: Any, state: Any) -> bool:
        try:
            erreur = state.result(raise_on_failure=False)
        except Exception:
            return False
        return isinstance(erreur, BaseException) and retenter(erreur)

    return reessayer


def tache(nom: str, reprise: Reprise | None = None) -> Callable[[Callable[P, R]], Task[P, R]]:
    """Une tâche sans cache (chaque nuit relit tout) ; avec `reprise`, retentée par Prefect."""
    if reprise is None:
        return task(name=nom, cache_policy=NO_CACHE)
    return task(
        name=nom,
        cache_policy=NO_CACHE,
        retries=len(reprise.attentes_s),
        retry_delay_seconds=list(reprise.attentes_s),
        retry_condition_fn=condition(reprise.retenter),
    )
