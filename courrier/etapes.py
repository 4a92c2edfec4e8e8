"""La relève entière, étape par étape, sans orchestrateur : sources → registre → lecture et analyse.

Le flow Prefect `releve` (flows/releve.py) et la relève lancée à la main (`courrier releve`,
`courrier demo`) déroulent les mêmes étapes avec `derouler` ; seul change qui les exécute.
La main n'attend aucun orchestrateur : pas de serveur Prefect temporaire à démarrer (6 à 15 s,
et parfois pas à temps), pas d'import de Prefect. Une planification, elle, passe par le flow
(exécutions visibles, artefact de la nuit, limite globale des appels au LLM).

Ce que partagent les étapes d'une relève (réglages, registre ouvert, rapport de progression,
point de panne des preuves) tient dans un `ContexteReleve`, créé par le point d'entrée (la ligne
de commande, le flow, les preuves) et passé explicitement à chaque étape : aucun état de module.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

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
    extraire_en_attente,
    relever_source,
)
from courrier.reprises import PANNES_PASSAGERES
from noyau.calendrier import Horloge, horloge_systeme
from noyau.domaine import TypeEvenement
from noyau.erreurs import ConfigurationErreur, CourrierErreur, RegistreErreur
from noyau.pannes import PointDePanne, aucune
from registre.registre import Registre
from regles.chargement import charger_regles
from regles.crpa import charger_crpa
from regles.moteur import MoteurRegles
from regles.repartition import charger_repartition

logger = logging.getLogger("courrier.etapes")

# Attentes avant chaque nouvelle tentative d'une source en panne passagère (réseau, serveur) :
# les mêmes pour la tâche Prefect et pour la relève à la main.
REPRISES_S: tuple[float, ...] = PANNES_PASSAGERES.attentes_s

Limiteur = Callable[[], AbstractContextManager[object]]


class ContexteReleve:
    """Une relève : ses réglages, son registre ouvert, son rapport (la barre de progression de
    la CLI ; sans elle, la relève est muette) et son point de panne (les preuves).

    Le flow `releve` le reçoit en paramètre : `__slots__` empêche Prefect de le décrire pour
    son interface (pas de `vars()`), il n'y voit que son type ; rien du registre (adresse de la
    base) n'en sort."""

    __slots__ = ("panne", "r", "rapport", "registre")

    def __init__(
        self,
        r: Reglages,
        registre: Registre,
        rapport: Rapport | None = None,
        panne: PointDePanne = aucune,
    ) -> None:
        self.r = r
        self.registre = registre
        self.rapport: Rapport = rapport or RapportMuet()
        self.panne = panne

    @classmethod
    def ouvrir(
        cls,
        r: Reglages | None = None,
        rapport: Rapport | None = None,
        panne: PointDePanne = aucune,
    ) -> ContexteReleve:
        r = r or reglages()
        return cls(
            r,
            Registre.ouvrir(r.url_base, r.donnees, panne=panne, commune=r.commune_id),
            rapport,
            panne,
        )

    def fermer(self) -> None:
        self.registre.fermer()


@contextlib.contextmanager
def contexte_ou_neuf(contexte: ContexteReleve | None) -> Iterator[ContexteReleve]:
    """Le contexte donné, ou un neuf (réglages de l'environnement), fermé à la sortie."""
    if contexte is not None:
        yield contexte
        return
    neuf = ContexteReleve.ouvrir()
    try:
        yield neuf
    finally:
        neuf.fermer()


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


def construire_source(
    nom: str, r: Reglages, panne: PointDePanne = aucune, horloge: Horloge = horloge_systeme
) -> Source:
    """La source `nom` ; `horloge`, celle du registre, date ce qu'un dossier de dépôt remet."""
    if nom == "imap":
        return SourceImap(r.parametres_imap(), panne)
    if nom == "depot_scans" and r.depot_scans is not None:
        return SourceScans(
            r.depot_scans,
            r.depot_delai_stabilite_s,
            r.depot_page_blanche,
            panne=panne,
            horloge=horloge,
        )
    if nom == "depot_eml" and r.depot_eml is not None:
        return SourceEml(r.depot_eml, r.depot_delai_stabilite_s, horloge)
    raise ConfigurationErreur(f"Source inconnue ou non configurée : {nom}.")


def registre_courant() -> Registre:
    """Le registre des réglages, ouvert à chaque appel (rien n'est gardé) : à fermer par qui
    l'ouvre."""
    r = reglages()
    return Registre.ouvrir(r.url_base, r.donnees, commune=r.commune_id)


def construire_analyseur(
    r: Reglages, limiteur: Limiteur | None = None, panne: PointDePanne = aucune
) -> Analyseur:
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
        panne=panne,
        gabarits=r.gabarits,
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

    def fermer(self) -> None:
        """Rend les places que la fabrique garde encore (courrier/places.py), s'il y en a."""
        fermer = getattr(self.fabrique, "fermer", None)
        if fermer is not None:
            try:
                fermer()
            except Exception:
                self._tomber()

    def _tomber(self) -> None:
        if not self.tombee.is_set():
            logger.warning("limite globale du LLM injoignable : limite de cette machine seule")
        self.tombee.set()


def apprendre(registre: Registre, r: Reglages) -> Classifieur | None:
    """Le classifieur des corrections, ré-entraîné depuis le registre (rien de chargé du
    disque) ; une panne ici laisse les règles et le LLM travailler seuls."""
    from registre.apprentissage import exemples

    try:
        return entrainer(exemples(registre), r.apprentissage_min_exemples, r.apprentissage_seuil)
    except Exception as e:
        logger.warning("apprentissage impossible (%s) : les règles seules", e.__class__.__name__)
        return None


# --- Les trois étapes -------------------------------------------------------------------------


def relever_nommee(nom_source: str, contexte: ContexteReleve) -> BilanSource:
    c = contexte
    return relever_source(
        construire_source(nom_source, c.r, c.panne, c.registre.horloge),
        c.registre,
        lire_entetes,
        c.rapport,
        c.panne,
    )


def lire(contexte: ContexteReleve) -> BilanExtraction:
    c = contexte
    return extraire_en_attente(c.registre, c.r.limites, c.r.processus_ocr, c.rapport, c.panne)


def analyser_tout(
    contexte: ContexteReleve | None = None,
    limiteur: Limiteur | None = None,
    lecture_finie: threading.Event | None = None,
) -> BilanAnalyse:
    """Analyse ce qui est lu ; avec `lecture_finie`, aussi ce que la lecture qui tourne à
    côté lit, au fil de l'eau, jusqu'à ce qu'elle finisse. Sans contexte, un neuf, fermé à la
    fin."""
    with contexte_ou_neuf(contexte) as c:
        r, registre = c.r, c.registre
        analyseur = construire_analyseur(r, limiteur, c.panne)
        if r.apprentissage:
            analyseur.apprendre_au_besoin(lambda: apprendre(registre, r))
        return analyser_en_attente(
            registre,
            analyseur,
            r.llm_parallele,
            c.rapport,
            lecture_en_cours=(lambda: not lecture_finie.is_set()) if lecture_finie else None,
            reveil=lecture_finie,
        )


# --- Le déroulé, commun au flow et à la main ---------------------------------------------------

# Lance l'analyse à côté de la lecture ; reçoit l'événement « lecture finie » et rend de quoi
# attendre le bilan de l'analyse.
LancerAnalyse = Callable[[threading.Event], Callable[[], BilanAnalyse]]


def panne_de_source(registre: Registre, nom: str, erreur: BaseException) -> BilanSource:
    """Une source en panne est consignée au journal ; elle n'arrête ni les autres ni la lecture."""
    raison = (
        str(erreur)
        if isinstance(erreur, CourrierErreur)
        else f"Erreur inattendue ({erreur.__class__.__name__})."
    )
    registre.evenement_general(TypeEvenement.ERREUR, "releve", {"source": nom, "raison": raison})
    return BilanSource(source=nom, erreurs=[raison])


def derouler(
    contexte: ContexteReleve,
    relever: Callable[[str], BilanSource],
    extraire: Callable[[], BilanExtraction],
    lancer_analyse: LancerAnalyse,
) -> BilanReleve:
    """Chaque source, puis la lecture et, au fil de la lecture, l'analyse et les brouillons."""
    bilan = BilanReleve()
    for nom in sources_configurees(contexte.r):
        try:
            bilan.sources.append(relever(nom))
        except RegistreErreur:
            raise  # sans registre, rien ne peut être promis : on s'arrête net
        except Exception as e:
            logger.warning("source %s en panne : %s", nom, e.__class__.__name__)
            bilan.sources.append(panne_de_source(contexte.registre, nom, e))
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


def releve_directe(
    limiteur: Limiteur | None = None,
    attentes_s: Sequence[float] = REPRISES_S,
    contexte: ContexteReleve | None = None,
) -> BilanReleve:
    """La relève complète dans ce processus, sans Prefect : `courrier releve`, `courrier demo`.
    Sans contexte, un neuf (réglages de l'environnement), fermé à la fin."""
    reprise = PANNES_PASSAGERES.avec_attentes(tuple(attentes_s))
    with contexte_ou_neuf(contexte) as c:

        def lancer_analyse(finie: threading.Event) -> Callable[[], BilanAnalyse]:
            pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="analyse")
            futur = pool.submit(analyser_tout, c, limiteur, finie)
            pool.shutdown(wait=False)
            return futur.result

        return derouler(
            c,
            lambda nom: reprise.executer(lambda: relever_nommee(nom, c)),
            lambda: lire(c),
            lancer_analyse,
        )
