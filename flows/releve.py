"""Le flow Prefect `releve` : sources → registre → lecture et analyse (qui se recouvrent).

Il ne fait que confier à Prefect les étapes de courrier/etapes.py, dans le même déroulé que la
relève lancée à la main ; il y ajoute ce qu'apporte l'orchestrateur : les reprises d'une source
en panne passagère comme tâches visibles, la limite globale des appels au LLM (plusieurs
workers) et le bilan de la nuit en artefact.

Les tâches reçoivent des noms, pas des objets : les réglages sont relus de l'environnement
(les secrets ne passent jamais en paramètre, ni dans l'interface de Prefect).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from courrier.analyser import BilanAnalyse
from courrier.config import reglages
from courrier.etapes import (
    NOMS_SOURCES,
    REPRISES_S,
    BilanReleve,
    LimiteTolerante,
    analyser_tout,
    construire_analyseur,
    construire_source,
    definir_rapport,
    derouler,
    lire,
    registre_courant,
    relever_nommee,
    sources_configurees,
)
from courrier.releve import BilanExtraction, BilanSource, est_passagere

# Ce que d'autres modules prenaient ici avant que les étapes ne passent dans courrier/etapes.py.
__all__ = [
    "NOMS_SOURCES",
    "BilanReleve",
    "construire_analyseur",
    "construire_source",
    "definir_rapport",
    "registre_courant",
    "releve",
    "sources_configurees",
]


def _reessayer(_task: Any, _task_run: Any, state: Any) -> bool:
    try:
        erreur = state.result(raise_on_failure=False)
    except Exception:
        return False
    return isinstance(erreur, BaseException) and est_passagere(erreur)


@task(
    name="relever une source",
    retries=len(REPRISES_S),
    retry_delay_seconds=list(REPRISES_S),
    retry_condition_fn=_reessayer,
    cache_policy=NO_CACHE,
)
def relever(nom_source: str) -> BilanSource:
    return relever_nommee(nom_source)


@task(name="lire les courriers", cache_policy=NO_CACHE)
def extraire() -> BilanExtraction:
    return lire()


# Les lectures en cours dans ce processus, par clé : la tâche d'analyse reçoit la clé (un nom),
# pas l'objet, et suit la lecture qui tourne à côté d'elle.
_lectures_en_cours: dict[str, threading.Event] = {}


@task(name="analyser et préparer les brouillons", cache_policy=NO_CACHE)
def analyser(lecture: str | None = None) -> BilanAnalyse:
    """Sans `lecture`, analyse ce qui est lu ; avec la clé d'une lecture en cours, analyse
    aussi, au fil de l'eau, ce qu'elle lit, jusqu'à ce qu'elle finisse."""
    finie = _lectures_en_cours.get(lecture) if lecture else None
    fabrique = _limiteur_llm()
    return analyser_tout(LimiteTolerante(fabrique) if fabrique else None, finie)


def _limite_globale_llm() -> AbstractContextManager[object]:
    """Une place de la limite globale « courrier-llm » (créée par `courrier planifier`) ;
    sans elle, rien n'est bloqué."""
    from prefect.concurrency.sync import concurrency

    from courrier.planification import LIMITE_LLM

    return concurrency(LIMITE_LLM, occupy=1, strict=False)


def _limiteur_llm() -> Callable[[], AbstractContextManager[object]] | None:
    """La limite globale, si `courrier planifier` l'a créée ; sinon rien, vérifié une fois par
    nuit : sans limite, chaque appel au LLM ferait quand même deux allers-retours vers l'API
    Prefect (20 à 80 ms de calcul chacun, pris aux cœurs de l'OCR)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    from courrier.planification import LIMITE_LLM

    try:
        with get_client(sync_client=True) as client:
            client.read_global_concurrency_limit_by_name(LIMITE_LLM)
    except ObjectNotFound:
        return None
    except Exception:  # API muette : chaque appel redemandera, comme sans cette vérification
        return _limite_globale_llm
    return _limite_globale_llm


def _analyser_a_cote(finie: threading.Event) -> Callable[[], BilanAnalyse]:
    cle = uuid.uuid4().hex
    _lectures_en_cours[cle] = finie
    futur = analyser.submit(cle)

    def attendre() -> BilanAnalyse:
        try:
            futur.wait()
            return futur.result()
        finally:
            _lectures_en_cours.pop(cle, None)

    return attendre


@flow(name="releve", log_prints=False)
def releve() -> BilanReleve:
    """La relève de la nuit : chaque source, puis la lecture et, au fil de la lecture,
    l'analyse et les brouillons."""
    bilan = derouler(relever, extraire, _analyser_a_cote)
    _publier_bilan(bilan)
    return bilan


def bilan_markdown(bilan: BilanReleve, url_publique: str | None) -> str:
    """Le tableau de la nuit, en Markdown, pour l'interface de Prefect."""
    lignes = [
        "# Relève de la nuit",
        "",
        "| source | nouveaux | déjà enregistrés | en attente | erreurs |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for b in bilan.sources:
        lignes.append(
            f"| {NOMS_SOURCES.get(b.source, b.source)} | {b.nouveaux} | {b.doublons} | "
            f"{b.en_attente} | {len(b.erreurs)} |"
        )
    ex, an = bilan.extraction, bilan.analyse
    lignes += [
        "",
        f"Lecture : {ex.extraits} courrier(s) lu(s), {len(ex.en_erreur)} en erreur. "
        f"Analyse : {an.analyses} courrier(s), dont {an.par_llm} par le LLM et {an.replis} par "
        f"les règles faute de LLM ; {an.brouillons} brouillon(s) à valider.",
    ]
    erreurs = [(NOMS_SOURCES.get(b.source, b.source), r) for b in bilan.sources for r in b.erreurs]
    erreurs += [*ex.en_erreur, *an.erreurs]
    if erreurs:
        lignes += ["", "## Erreurs", ""]
        for qui, raison in erreurs:
            lien = qui
            if url_publique and "-" in qui and qui[:4].isdigit():
                lien = f"[{qui}]({url_publique.rstrip('/')}/courrier/{qui})"
            # Le texte vient de l'extérieur : une ligne, sans balises Markdown actives.
            propre = " ".join(raison.split()).replace("|", "/").replace("[", "(")[:300]
            lignes.append(f"- {lien} : {propre}")
    return "\n".join(lignes) + "\n"


def _publier_bilan(bilan: BilanReleve) -> None:
    from prefect.artifacts import create_markdown_artifact

    r = reglages()
    create_markdown_artifact(
        key="releve-de-la-nuit",
        markdown=bilan_markdown(bilan, r.url_publique),
        description="Bilan de la relève : sources, lecture, analyse, erreurs",
    )
