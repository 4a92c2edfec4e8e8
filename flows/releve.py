"""Le flow Prefect `releve` : sources → registre → lecture et analyse (qui se recouvrent).

Il ne fait que confier à Prefect les étapes de courrier/etapes.py, dans le même déroulé que la
relève lancée à la main ; il y ajoute ce qu'apporte l'orchestrateur : les reprises d'une source
en panne passagère comme tâches visibles, la limite globale des appels au LLM (plusieurs
workers) et le bilan de la nuit en artefact.

Le contexte de la relève (réglages, registre, rapport, point de panne) est créé ici, point
d'entrée, et passé explicitement à chaque tâche ; Prefect n'en montre que le type (les secrets
ne passent jamais dans son interface).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager

from prefect import flow

from courrier.analyser import BilanAnalyse
from courrier.etapes import (
    NOMS_SOURCES,
    BilanReleve,
    ContexteReleve,
    LimiteTolerante,
    analyser_tout,
    construire_analyseur,
    construire_source,
    derouler,
    lire,
    registre_courant,
    relever_nommee,
    sources_configurees,
)
from courrier.pannes import depuis_environnement
from courrier.releve import BilanExtraction, BilanSource
from courrier.reprises import PANNES_PASSAGERES, est_passagere
from flows.communes import nom_execution, reglages_de
from flows.reprises import condition, tache
from noyau.erreurs import CourrierErreur

# Ce que d'autres modules prenaient ici avant que les étapes ne passent dans courrier/etapes.py.
__all__ = [
    "NOMS_SOURCES",
    "BilanReleve",
    "CommuneEnPanne",
    "ContexteReleve",
    "construire_analyseur",
    "construire_source",
    "registre_courant",
    "releve",
    "sources_configurees",
]


# La condition de reprise des pannes passagères, telle que Prefect l'appelle.
_reessayer = condition(est_passagere)


@tache("relever une source", PANNES_PASSAGERES)
def relever(nom_source: str, contexte: ContexteReleve) -> BilanSource:
    return relever_nommee(nom_source, contexte)


@tache("lire les courriers")
def extraire(contexte: ContexteReleve) -> BilanExtraction:
    return lire(contexte)


@tache("analyser et préparer les brouillons")
def analyser(
    contexte: ContexteReleve, lecture_finie: threading.Event | None = None
) -> BilanAnalyse:
    """Sans `lecture_finie`, analyse ce qui est lu ; avec l'événement d'une lecture en cours,
    analyse aussi, au fil de l'eau, ce qu'elle lit, jusqu'à ce qu'elle finisse."""
    fabrique = limiteur_llm()
    limite = LimiteTolerante(fabrique) if fabrique else None
    try:
        return analyser_tout(contexte, limite, lecture_finie)
    finally:
        if limite is not None:
            limite.fermer()  # les places gardées retournent aux autres communes


def _limite_globale_llm() -> AbstractContextManager[object]:
    """Une place de la limite globale « courrier-llm » (créée par `courrier planifier`) ;
    sans elle, rien n'est bloqué."""
    from prefect.concurrency.sync import concurrency

    from courrier.planification import LIMITE_LLM

    return concurrency(LIMITE_LLM, occupy=1, strict=False)


def limiteur_llm() -> Callable[[], AbstractContextManager[object]] | None:
    """La limite globale, si `courrier planifier` l'a créée ; sinon rien, vérifié une fois par
    nuit : sans limite, chaque appel au LLM ferait quand même deux allers-retours vers l'API
    Prefect (20 à 80 ms de calcul chacun, pris aux cœurs de l'OCR)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    from courrier.places import PlacesGardees
    from courrier.planification import LIMITE_LLM

    try:
        with get_client(sync_client=True) as client:
            client.read_global_concurrency_limit_by_name(LIMITE_LLM)
    except ObjectNotFound:
        return None
    except Exception:  # API muette : chaque appel redemandera, comme sans cette vérification
        return PlacesGardees(_limite_globale_llm)
    # Une place gardée le temps de plusieurs appels (courrier/places.py) : une prise par appel
    # coûtait l'essentiel d'une nuit de trente communes.
    return PlacesGardees(_limite_globale_llm)


def _analyser_a_cote(
    contexte: ContexteReleve, finie: threading.Event
) -> Callable[[], BilanAnalyse]:
    futur = analyser.submit(contexte, finie)

    def attendre() -> BilanAnalyse:
        futur.wait()
        return futur.result()

    return attendre


class CommuneEnPanne(CourrierErreur):
    """Une source d'une commune est restée en panne : sa relève a fait tout le reste."""


@flow(name="releve", log_prints=False, flow_run_name=nom_execution("releve"))
def releve(contexte: ContexteReleve | None = None, commune: str | None = None) -> BilanReleve:
    """La relève de la nuit : chaque source, puis la lecture et, au fil de la lecture,
    l'analyse et les brouillons. Sans contexte (la planification), un neuf : réglages de
    `commune` (sans elle, de l'environnement), consigne de panne de l'environnement, registre
    fermé à la fin.

    Pour une commune nommée (son déploiement `releve-<commune>`), une source restée en panne
    fait finir l'exécution en échec, avec sa raison, une fois tout le reste fait : dans
    l'interface de Prefect, la commune en panne se voit parmi les autres. Sans commune, une
    source en panne reste une ligne du bilan et du journal, comme avant."""
    c = contexte or ContexteReleve.ouvrir(reglages_de(commune), panne=depuis_environnement())
    pannes: list[str] = []

    def relever_en_notant(nom: str) -> BilanSource:
        try:
            return relever(nom, c)
        except Exception as e:  # `derouler` la consigne au journal ; ici, on la retient
            raison = str(e) if isinstance(e, CourrierErreur) else e.__class__.__name__
            pannes.append(f"{NOMS_SOURCES.get(nom, nom)} : {raison}")
            raise

    try:
        bilan = derouler(
            c,
            relever_en_notant,
            lambda: extraire(c),
            lambda finie: _analyser_a_cote(c, finie),
        )
        _publier_bilan(bilan, c.r.url_publique)
    finally:
        if contexte is None:
            c.fermer()
    if commune is not None and pannes:
        raise CommuneEnPanne(
            f"Commune « {commune} » : relève incomplète, source en panne ({'; '.join(pannes)})."
        )
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


def _publier_bilan(bilan: BilanReleve, url_publique: str | None) -> None:
    from prefect.artifacts import create_markdown_artifact

    create_markdown_artifact(
        key="releve-de-la-nuit",
        markdown=bilan_markdown(bilan, url_publique),
        description="Bilan de la relève : sources, lecture, analyse, erreurs",
    )
