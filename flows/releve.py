"""Le flow Prefect `releve` : sources → registre → lecture et analyse (qui se recouvrent).
Il ne fait que relier les étapes.

Les tâches reçoivent des noms, pas des objets : les réglages sont relus de l'environnement
(les secrets ne passent jamais en paramètre, ni dans l'interface de Prefect).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from connecteurs.dossiers import SourceEml, SourceScans
from connecteurs.imap import SourceImap
from connecteurs.source import Source
from courrier.analyser import Analyseur, BilanAnalyse, analyser_en_attente
from courrier.brouillons import charger_crpa
from courrier.config import Reglages, reglages
from courrier.domaine import TypeEvenement
from courrier.erreurs import ConfigurationErreur, CourrierErreur, RegistreErreur
from courrier.extraction import lire_entetes
from courrier.releve import (
    BilanExtraction,
    BilanSource,
    Rapport,
    RapportMuet,
    est_passagere,
    extraire_en_attente,
    relever_source,
)
from registre.registre import Registre
from regles.chargement import charger_regles
from regles.moteur import MoteurRegles

_rapport: Rapport = RapportMuet()


def definir_rapport(rapport: Rapport | None) -> None:
    """La CLI branche ici sa barre de progression ; sans elle, la relève est muette."""
    global _rapport
    _rapport = rapport or RapportMuet()


@dataclass
class BilanReleve:
    sources: list[BilanSource] = field(default_factory=list)
    extraction: BilanExtraction = field(default_factory=BilanExtraction)
    analyse: BilanAnalyse = field(default_factory=BilanAnalyse)


def sources_configurees(r: Reglages) -> list[str]:
    noms = []
    if r.imap_configure:
        noms.append("imap")
    if r.depot_scans is not None:
        noms.append("depot_scans")
    if r.depot_eml is not None:
        noms.append("depot_eml")
    return noms


def construire_source(nom: str, r: Reglages) -> Source:
    if nom == "imap":
        return SourceImap(r.parametres_imap())
    if nom == "depot_scans" and r.depot_scans is not None:
        return SourceScans(r.depot_scans, r.depot_delai_stabilite_s)
    if nom == "depot_eml" and r.depot_eml is not None:
        return SourceEml(r.depot_eml, r.depot_delai_stabilite_s)
    raise ConfigurationErreur(f"Source inconnue ou non configurée : {nom}.")


@lru_cache(maxsize=4)
def _registre(url: str, donnees: str) -> Registre:
    return Registre.ouvrir(url, Path(donnees))


def registre_courant() -> Registre:
    r = reglages()
    return _registre(r.url_base, str(r.donnees))


def construire_analyseur(
    r: Reglages, limiteur: Callable[[], AbstractContextManager[object]] | None = None
) -> Analyseur:
    """Règles, accusés de réception, voix de la commune et, s'il est configuré, le LLM."""
    from connecteurs.llm import ClientLLM, ParametresLLM

    llm = None
    if r.llm_url and r.llm_modele:
        llm = ClientLLM(
            ParametresLLM(
                url=r.llm_url,
                cle=r.llm_cle.get_secret_value() if r.llm_cle else "",
                modele=r.llm_modele,
                parallele=r.llm_parallele,
                delai_s=r.llm_delai_s,
                tentatives=r.llm_tentatives,
                budget_jetons=r.llm_budget_jetons,
                pseudonymiser=r.pseudonymisation,
            ),
            limiteur,
        )
    commune = r.commune_de_la_mairie()
    return Analyseur(MoteurRegles(charger_regles(r.regles)), charger_crpa(r.regles), commune, llm)


def _reessayer(_task: Any, _task_run: Any, state: Any) -> bool:
    try:
        erreur = state.result(raise_on_failure=False)
    except Exception:
        return False
    return isinstance(erreur, BaseException) and est_passagere(erreur)


@task(
    name="relever une source",
    retries=2,
    retry_delay_seconds=[5, 30],
    retry_condition_fn=_reessayer,
    cache_policy=NO_CACHE,
)
def relever(nom_source: str) -> BilanSource:
    r = reglages()
    return relever_source(
        construire_source(nom_source, r), registre_courant(), lire_entetes, _rapport
    )


@task(name="lire les courriers", cache_policy=NO_CACHE)
def extraire() -> BilanExtraction:
    r = reglages()
    return extraire_en_attente(registre_courant(), r.limites, r.processus_ocr, _rapport)


# Les lectures en cours dans ce processus, par clé : la tâche d'analyse reçoit la clé (un nom),
# pas l'objet, et suit la lecture qui tourne à côté d'elle.
_lectures_finies: dict[str, threading.Event] = {}


@task(name="analyser et préparer les brouillons", cache_policy=NO_CACHE)
def analyser(lecture: str | None = None) -> BilanAnalyse:
    """Sans `lecture`, analyse ce qui est lu ; avec la clé d'une lecture en cours, analyse
    aussi, au fil de l'eau, ce qu'elle lit, jusqu'à ce qu'elle finisse."""
    r = reglages()
    finie = _lectures_finies.get(lecture) if lecture else None
    return analyser_en_attente(
        registre_courant(),
        construire_analyseur(r, _limiteur_llm()),
        r.llm_parallele,
        _rapport,
        lecture_en_cours=(lambda: not finie.is_set()) if finie is not None else None,
    )


def _limite_globale_llm() -> AbstractContextManager[object]:
    """Une place de la limite globale « courrier-llm » (créée par `courrier planifier`) ;
    sans elle, rien n'est bloqué."""
    from prefect.concurrency.sync import concurrency

    from flows.planification import LIMITE_LLM

    return concurrency(LIMITE_LLM, occupy=1, strict=False)


def _limiteur_llm() -> Callable[[], AbstractContextManager[object]] | None:
    """La limite globale, si `courrier planifier` l'a créée ; sinon rien, vérifié une fois par
    nuit : sans limite, chaque appel au LLM ferait quand même deux allers-retours vers l'API
    Prefect (20 à 80 ms de calcul chacun, pris aux cœurs de l'OCR)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    from flows.planification import LIMITE_LLM

    try:
        with get_client(sync_client=True) as client:
            client.read_global_concurrency_limit_by_name(LIMITE_LLM)
    except ObjectNotFound:
        return None
    except Exception:  # API muette : chaque appel redemandera, comme sans cette vérification
        return _limite_globale_llm
    return _limite_globale_llm


@flow(name="releve", log_prints=False)
def releve() -> BilanReleve:
    """La relève de la nuit : chaque source, puis la lecture et, au fil de la lecture,
    l'analyse et les brouillons."""
    bilan = BilanReleve()
    for nom in sources_configurees(reglages()):
        etat = relever(nom, return_state=True)
        resultat = etat.result(raise_on_failure=False)
        if isinstance(resultat, RegistreErreur):
            raise resultat  # sans registre, rien ne peut être promis : on s'arrête net
        if isinstance(resultat, BaseException):
            # Une source en panne n'empêche ni les autres ni la lecture de ce qui est arrivé.
            raison = (
                str(resultat)
                if isinstance(resultat, CourrierErreur)
                else (f"Erreur inattendue ({resultat.__class__.__name__}).")
            )
            registre_courant().evenement_general(
                TypeEvenement.ERREUR, "releve", {"source": nom, "raison": raison}
            )
            bilan.sources.append(BilanSource(source=nom, erreurs=[raison]))
            continue
        bilan.sources.append(resultat)
    # Lecture (OCR, sur les cœurs) et analyse (LLM, en attente du réseau) se recouvrent :
    # chaque courrier lu est analysé sans attendre la fin de la lecture des autres.
    cle = uuid.uuid4().hex
    finie = _lectures_finies[cle] = threading.Event()
    try:
        analyse = analyser.submit(cle)
        try:
            bilan.extraction = extraire()
        finally:
            finie.set()
            analyse.wait()
        bilan.analyse = analyse.result()
    finally:
        _lectures_finies.pop(cle, None)
    _publier_bilan(bilan)
    return bilan


NOMS_SOURCES = {
    "imap": "Boîte IMAP",
    "depot_scans": "Dossier des scans",
    "depot_eml": "Dossier .eml / mbox",
}


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
