"""La relève entière, étape par étape, sans moteur : sources → registre → lecture et analyse.

Le flow Prefect `releve` (flows/releve.py) et la relève lancée à la main (`courrier releve`,
`courrier demo`) déroulent les mêmes étapes avec `derouler` ; seul change qui les exécute.
La main n'attend aucun orchestrateur : pas de serveur Prefect temporaire à démarrer (6 à 15 s,
et parfois pas à temps), pas d'import de Prefect. Une planification, elle, passe par le flow
(exécutions visibles, artefact de la nuit, limite globale des appels au LLM).

Les étapes reçoivent des noms, pas des objets : les réglages sont relus de l'environnement
(les secrets ne passent jamais en paramètre, ni dans l'interface de Prefect).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from connecteurs.dossiers import SourceEml, SourceScans
from connecteurs.imap import SourceImap
from connecteurs.source import Source
from courrier.analyser import Analyseur, BilanAnalyse, analyser_en_attente
from courrier.apprentissage import Classifieur, entrainer
from courrier.config import Reglages, reglages
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
from noyau.domaine import TypeEvenement
from noyau.erreurs import ConfigurationErreur, CourrierErreur, RegistreErreur
from registre.registre import Registre
from regles.chargement import charger_regles
from regles.crpa import charger_crpa
from regles.moteur import MoteurRegles
from regles.repartition import charger_repartition

journal = logging.getLogger("courrier.etapes")

# Attentes avant chaque nouvelle tentative d'une source en panne passagère (réseau, serveur) :
# les mêmes pour la tâche Prefect et pour la relève à la main.
REPRISES_S: tuple[float, ...] = (5, 30)

Limiteur = Callable[[], AbstractContextManager[object]]

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


NOMS_SOURCES = {
    "imap": "Boîte IMAP",
    "depot_scans": "Dossier des scans",
    "depot_eml": "Dossier .eml / mbox",
}


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
        return SourceScans(r.depot_scans, r.depot_delai_stabilite_s, r.depot_page_blanche)
    if nom == "depot_eml" and r.depot_eml is not None:
        return SourceEml(r.depot_eml, r.depot_delai_stabilite_s)
    raise ConfigurationErreur(f"Source inconnue ou non configurée : {nom}.")


@lru_cache(maxsize=4)
def _registre(url: str, donnees: str) -> Registre:
    return Registre.ouvrir(url, Path(donnees))


def registre_courant() -> Registre:
    r = reglages()
    return _registre(r.url_base, str(r.donnees))


def construire_analyseur(r: Reglages, limiteur: Limiteur | None = None) -> Analyseur:
    """Règles, accusés de réception, voix de la commune et, s'il est configuré, le LLM."""
    llm = None
    if r.llm_url and r.llm_modele:
        # Importé seulement ici : le client openai coûte près d'une seconde à charger.
        from connecteurs.llm import ClientLLM, ParametresLLM

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
    return Analyseur(
        MoteurRegles(charger_regles(r.regles)),
        charger_crpa(r.regles),
        commune,
        llm,
        repartition=charger_repartition(r.regles),
    )


class LimiteTolerante:
    """La limite globale des appels au LLM, tenue par l'orchestrateur tant qu'il répond.

    S'il cesse de répondre, les appels continuent, bornés par le seul client de cette machine
    (COURRIER_LLM_PARALLELE) : une panne de l'orchestrateur ne doit pas faire tomber l'analyse
    aux règles, ni la relève."""

    def __init__(self, fabrique: Limiteur) -> None:
        self.fabrique = fabrique
        self.tombee = threading.Event()

    @contextlib.contextmanager
    def __call__(self) -> Iterator[object]:
        place: AbstractContextManager[object] | None = None
        if not self.tombee.is_set():
            try:
                place = self.fabrique()
                place.__enter__()
            except Exception:
                place = None
                self._tomber()
        try:
            yield None
        finally:
            # Rendre la place peut échouer aussi (serveur tombé pendant l'appel) : l'appel au
            # LLM, lui, a réussi, il ne doit pas devenir une erreur.
            if place is not None:
                try:
                    place.__exit__(None, None, None)
                except Exception:
                    self._tomber()

    def _tomber(self) -> None:
        if not self.tombee.is_set():
            journal.warning("limite globale du LLM injoignable : limite de cette machine seule")
        self.tombee.set()


def apprendre(registre: Registre, r: Reglages) -> Classifieur | None:
    """Le classifieur des corrections, ré-entraîné depuis le registre (rien de chargé du
    disque) ; une panne ici laisse les règles et le LLM travailler seuls."""
    from registre.apprentissage import exemples

    try:
        return entrainer(exemples(registre), r.apprentissage_min_exemples, r.apprentissage_seuil)
    except Exception as e:
        journal.warning("apprentissage impossible (%s) : les règles seules", e.__class__.__name__)
        return None


# --- Les trois étapes -------------------------------------------------------------------------


def relever_nommee(nom_source: str) -> BilanSource:
    r = reglages()
    return relever_source(
        construire_source(nom_source, r), registre_courant(), lire_entetes, _rapport
    )


def lire() -> BilanExtraction:
    r = reglages()
    return extraire_en_attente(registre_courant(), r.limites, r.processus_ocr, _rapport)


def analyser_tout(
    limiteur: Limiteur | None = None, lecture_finie: threading.Event | None = None
) -> BilanAnalyse:
    """Analyse ce qui est lu ; avec `lecture_finie`, aussi ce que la lecture qui tourne à
    côté lit, au fil de l'eau, jusqu'à ce qu'elle finisse."""
    r = reglages()
    analyseur = construire_analyseur(r, limiteur)
    if r.apprentissage:
        registre = registre_courant()
        analyseur.apprendre_au_besoin(lambda: apprendre(registre, r))
    return analyser_en_attente(
        registre_courant(),
        analyseur,
        r.llm_parallele,
        _rapport,
        lecture_en_cours=(lambda: not lecture_finie.is_set()) if lecture_finie else None,
        reveil=lecture_finie,
    )


# --- Le déroulé, commun au flow et à la main ---------------------------------------------------

# Lance l'analyse à côté de la lecture ; reçoit l'événement « lecture finie » et rend de quoi
# attendre le bilan de l'analyse.
LancerAnalyse = Callable[[threading.Event], Callable[[], BilanAnalyse]]


def panne_de_source(nom: str, erreur: BaseException) -> BilanSource:
    """Une source en panne est consignée au journal ; elle n'arrête ni les autres ni la lecture."""
    raison = (
        str(erreur)
        if isinstance(erreur, CourrierErreur)
        else f"Erreur inattendue ({erreur.__class__.__name__})."
    )
    registre_courant().evenement_general(
        TypeEvenement.ERREUR, "releve", {"source": nom, "raison": raison}
    )
    return BilanSource(source=nom, erreurs=[raison])


def derouler(
    relever: Callable[[str], BilanSource],
    extraire: Callable[[], BilanExtraction],
    lancer_analyse: LancerAnalyse,
) -> BilanReleve:
    """Chaque source, puis la lecture et, au fil de la lecture, l'analyse et les brouillons."""
    bilan = BilanReleve()
    for nom in sources_configurees(reglages()):
        try:
            bilan.sources.append(relever(nom))
        except RegistreErreur:
            raise  # sans registre, rien ne peut être promis : on s'arrête net
        except Exception as e:
            journal.warning("source %s en panne : %s", nom, e.__class__.__name__)
            bilan.sources.append(panne_de_source(nom, e))
    # Lecture (OCR, sur les cœurs) et analyse (LLM, en attente du réseau) se recouvrent :
    # chaque courrier lu est analysé sans attendre la fin de la lecture des autres.
    finie = threading.Event()
    attendre_analyse = lancer_analyse(finie)
    try:
        bilan.extraction = extraire()
    except BaseException:
        finie.set()
        # L'analyse finit ce qu'elle a pris ; c'est l'erreur de la lecture qui remonte.
        with contextlib.suppress(Exception):
            attendre_analyse()
        raise
    finie.set()
    bilan.analyse = attendre_analyse()
    return bilan


# --- À la main, sans orchestrateur -------------------------------------------------------------


def avec_reprises(
    etape: Callable[[], BilanSource],
    attentes_s: Sequence[float] = REPRISES_S,
    dormir: Callable[[float], None] = time.sleep,
) -> BilanSource:
    """Comme les reprises de la tâche Prefect : seules les pannes passagères sont retentées."""
    for attente in attentes_s:
        try:
            return etape()
        except Exception as e:
            if not est_passagere(e):
                raise
            journal.info("panne passagère (%s), nouvel essai dans %s s", e, attente)
            dormir(attente)
    return etape()


def releve_directe(
    limiteur: Limiteur | None = None, attentes_s: Sequence[float] = REPRISES_S
) -> BilanReleve:
    """La relève complète dans ce processus, sans Prefect : `courrier releve`, `courrier demo`."""

    def lancer_analyse(finie: threading.Event) -> Callable[[], BilanAnalyse]:
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="analyse")
        futur = pool.submit(analyser_tout, limiteur, finie)
        pool.shutdown(wait=False)
        return futur.result

    return derouler(
        lambda nom: avec_reprises(lambda: relever_nommee(nom), attentes_s),
        lire,
        lancer_analyse,
    )
