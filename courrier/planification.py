"""Les horaires de Courrier, déclarés une seule fois, leurs déploiements Prefect (un par flow
et par commune), et les deux façons de les faire tourner :

- une seule machine : `courrier.service_horaires.servir()`, un processus qui dure et sert
  les déploiements construits ici ;
- plusieurs machines : `installer(api_url, file)` inscrit les déploiements sur un serveur
  Prefect existant, dans une file de travail « process » où un worker les prend.

Prefect n'est importé que dans les fonctions : `courrier planifier --liste` reste instantané.
"""

from __future__ import annotations

import copy
import importlib
import logging
import shlex
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from noyau.communes import COMMUNE_PAR_DEFAUT, verifier_identifiant
from noyau.erreurs import ConfigurationErreur, CourrierErreur

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

FUSEAU = "Europe/Paris"

logger = logging.getLogger("courrier.planification")


@dataclass(frozen=True)
class Horaire:
    flow: str  # le nom du flow Prefect, et celui du déploiement
    module: str  # où le trouver : `module.flow`
    cron: str
    description: str  # en français, pour `courrier planifier --liste`
    fuseau: str = FUSEAU


HORAIRES: tuple[Horaire, ...] = (
    Horaire("releve", "flows.releve", "0 2 * * *", "chaque jour à 02:00"),
    Horaire("digest", "flows.digest", "30 7 * * 1-5", "du lundi au vendredi à 07:30"),
    Horaire(
        "envoi",
        "flows.envoi",
        "*/15 8-18 * * 1-5",
        "du lundi au vendredi, toutes les 15 minutes de 08:00 à 18:45",
    ),
)


def lignes_horaires() -> list[str]:
    """Les horaires déclarés, une phrase par flow."""
    return [f"{h.flow} : {h.description} ({h.fuseau})" for h in HORAIRES]


def flows_disponibles() -> list[tuple[Horaire, Any]]:
    """Chaque horaire dont le flow existe, avec ce flow ; les autres sont passés sous silence."""
    trouves = []
    for h in HORAIRES:
        try:
            module = importlib.import_module(h.module)
        except ModuleNotFoundError as e:
            if e.name != h.module:
                raise  # une dépendance manque : c'est une panne, pas un flow à venir
            logger.info("Flow %s absent (%s) : pas de déploiement.", h.flow, h.module)
            continue
        trouves.append((h, getattr(module, h.flow)))
    return trouves


def nom_deploiement(flow: str, commune: str = COMMUNE_PAR_DEFAUT) -> str:
    """`releve` pour la commune par défaut (le nom d'avant les communes), `releve-<id>` sinon."""
    return flow if commune == COMMUNE_PAR_DEFAUT else f"{flow}-{commune}"


def construire_deploiements(
    communes: tuple[str, ...] = (COMMUNE_PAR_DEFAUT,),
) -> list[RunnerDeployment]:
    """Un déploiement par flow existant et par commune : son cron à Paris, jamais deux
    exécutions à la fois pour une même commune.

    Un déploiement par commune plutôt qu'un seul paramétré : la limite « une à la fois » de
    Prefect est celle d'un déploiement ; un seul déploiement pour toutes ferait attendre les
    communes les unes derrière les autres. Chaque commune a aussi son horaire, qu'on peut mettre
    en pause seul, et son historique d'exécutions. La commune par défaut garde les noms d'avant
    (`releve`…), sans paramètre : une installation d'une seule commune ne voit rien changer."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.types.entrypoint import EntrypointType

    deploiements = []
    for commune in communes:
        verifier_identifiant(commune)
        defaut = commune == COMMUNE_PAR_DEFAUT
        for h, flow in flows_disponibles():
            deploiements.append(
                flow.to_deployment(
                    name=nom_deploiement(h.flow, commune),
                    schedule=CronSchedule(cron=h.cron, timezone=h.fuseau),
                    parameters={} if defaut else {"commune": commune},
                    # Une relève encore en cours quand la suivante arrive : la nouvelle est
                    # annulée plutôt que mise en file, pour ne jamais relever deux fois à la
                    # fois la même commune (les autres communes ont leur propre limite).
                    concurrency_limit=ConcurrencyLimitConfig(
                        limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW
                    ),
                    description=f"{h.description} ({h.fuseau})"
                    + ("" if defaut else f", commune « {commune} »"),
                    tags=["courrier"] if defaut else ["courrier", f"commune:{commune}"],
                    # Le flow est retrouvé par son module installé, quel que soit le dossier
                    # courant.
                    entrypoint_type=EntrypointType.MODULE_PATH,
                )
            )
    return deploiements


# --- Plusieurs machines : inscrire les déploiements sur un serveur existant ------------------


LIMITE_LLM = "courrier-llm"


def creer_limite_llm(client: Any) -> None:
    """La limite de concurrence globale des appels au LLM, à COURRIER_LLM_PARALLELE.

    Avec plusieurs workers, chacun borne ses propres appels ; celle-ci borne leur somme, pour
    rester sous le quota du fournisseur.
    """
    from courrier.config import reglages

    client.upsert_global_concurrency_limit_by_name(LIMITE_LLM, reglages().llm_parallele)


def communes_installees() -> tuple[str, ...]:
    """La commune par défaut et chaque commune ajoutée (`courrier commune ajouter`)."""
    from courrier.communes import identifiants
    from courrier.config import charger

    return tuple(identifiants(charger(commune_id=COMMUNE_PAR_DEFAUT)))


def installer(
    api_url: str, file: str = "courrier", communes: tuple[str, ...] | None = None
) -> list[str]:
    """Crée ou met à jour les déploiements sur le serveur `api_url`, dans la file `file` : ceux
    de `communes` (toutes celles de l'installation par défaut).

    La file (type « process ») est créée si elle n'existe pas ; un worker la sert :
    `prefect worker start --pool courrier`, sur une machine où Courrier est installé. Les
    workers n'ont pas à redémarrer : ils prennent toute exécution de la file, quel que soit son
    déploiement. Rend les noms des déploiements inscrits."""
    import httpx
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if not api_url.startswith(("http://", "https://")):
        raise ConfigurationErreur(
            f"PREFECT_API_URL doit commencer par http:// ou https:// (reçu « {api_url} »)."
        )
    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        try:
            with get_client(sync_client=True) as client:
                regler_la_file(client, file)
                creer_limite_llm(client)
            noms = []
            visees = communes_installees() if communes is None else communes
            for d in construire_deploiements(visees):
                d.apply(work_pool_name=file)
                noms.append(f"{d.flow_name}/{d.name}")
        except (OSError, RuntimeError, httpx.HTTPError) as e:
            # Le client de Prefect (httpx) ne lève pas OSError quand le serveur est éteint.
            raise CourrierErreur(
                f"Le serveur Prefect {api_url} ne répond pas ou refuse l'inscription : {e}"
            ) from e
    return noms


def commande_du_moteur() -> str:
    """Ce que le worker lance pour une exécution : le moteur prêt de Courrier (flows/moteur.py),
    avec le Python où Courrier est installé (le même chemin sur chaque machine de worker :
    /opt/courrier/.venv dans la recette, l'image dans Docker Compose). Il fait tourner
    `prefect.engine` dans un processus qui a déjà tout importé, ou, à défaut, comme avant.

    Sans commande, Prefect 3.9 intercale un processus de supervision qui importe Prefect une
    fois de plus : ~2,7 s de calcul et 3 s d'attente par exécution ; `prefect.engine` seul
    réimporte encore Prefect, Courrier et openai à chaque exécution (~1,7 à 3,4 s de calcul ;
    mesuré par preuves/bench_communes.py)."""
    return f"{shlex.quote(sys.executable)} -m flows.moteur"


def _commandes_d_avant() -> set[str]:
    """Les commandes que Courrier a données aux files avant celle-ci : remplacées à la mise à
    jour, comme une commande vide."""
    return {"", f"{shlex.quote(sys.executable)} -m prefect.engine"}


def regler_la_file(client: Any, file: str) -> None:
    """Crée la file (type « process ») avec la commande du moteur ; une file existante sans
    commande, ou avec celle qu'une version d'avant de Courrier y a mise, reçoit celle-ci (mise
    à jour de Courrier) ; une commande posée à la main est gardée."""
    from prefect.client.schemas.actions import WorkPoolCreate, WorkPoolUpdate
    from prefect.exceptions import ObjectNotFound
    from prefect.workers.process import ProcessWorker

    try:
        existante = client.read_work_pool(file)
    except ObjectNotFound:
        modele = ProcessWorker.get_default_base_job_template()
        modele["variables"]["properties"]["command"]["default"] = commande_du_moteur()
        client.create_work_pool(WorkPoolCreate(name=file, type="process", base_job_template=modele))
        return
    modele = copy.deepcopy(existante.base_job_template)
    commande = modele.get("variables", {}).get("properties", {}).get("command")
    d_avant = (commande or {}).get("default") or ""
    if existante.type == "process" and commande is not None and d_avant in _commandes_d_avant():
        commande["default"] = commande_du_moteur()
        client.update_work_pool(file, WorkPoolUpdate(base_job_template=modele))
