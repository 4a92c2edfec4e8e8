"""L'analyse et la rédaction des brouillons, après la lecture.

Avec un LLM configuré : un appel par courrier pour l'analyse, vérifiée ensuite par les règles
(catégorie connue, service de la table de routage, décisions forcées, injection) ; s'il échoue,
les règles font tout et le courrier est signalé. Sans LLM, les règles font tout : c'est le
fonctionnement par défaut. Rien n'est envoyé ici : les brouillons attendent la secrétaire.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING

from courrier.apprentissage import Classifieur, combiner
from courrier.brouillons import rediger
from noyau.analyse import (
    CATEGORIE_DE_REPLI,
    Alerte,
    Analyse,
    Brouillon,
    Commune,
    CourrierALire,
    Expediteur,
    Urgence,
)
from noyau.calendrier import Horloge, aujourd_hui, horloge_systeme
from noyau.crpa import ReglesCrpa
from noyau.delais import calculer, en_json
from noyau.domaine import NatureAutomatique
from noyau.erreurs import ConnecteurErreur
from noyau.pannes import PointDePanne, aucune
from regles.moteur import MoteurRegles
from regles.repartition import Repartition

if TYPE_CHECKING:
    from connecteurs.llm import ClientLLM
    from courrier.releve import Rapport
    from registre.registre import Registre

logger = logging.getLogger("courrier.analyse")
AUTRE = CATEGORIE_DE_REPLI


@dataclass
class BilanAnalyse:
    analyses: int = 0
    par_llm: int = 0
    replis: int = 0  # le LLM a échoué : les règles ont pris le relais
    brouillons: int = 0
    erreurs: list[tuple[str, str]] = field(default_factory=list)  # (numéro, raison)


class Analyseur:
    def __init__(
        self,
        moteur: MoteurRegles,
        crpa: ReglesCrpa,
        commune: Commune,
        llm: ClientLLM | None = None,
        horloge: Horloge = horloge_systeme,
        repartition: Repartition | None = None,
        panne: PointDePanne = aucune,
        gabarits: Path | None = None,
    ) -> None:
        self.moteur = moteur
        self.gabarits = gabarits  # ceux des règles de la commune ; None : ceux livrés
        self.panne = panne
        self.repartition = repartition or Repartition()  # l'élu référent (regles/elus.yaml)
        self.crpa = crpa
        self.commune = commune
        self.llm = llm
        self.horloge = horloge  # la date des lettres rédigées
        # Appris des corrections de la secrétaire (entraîné à chaque relève) : il départage
        # les règles seules, ou prête au LLM quelques exemples proches.
        self.apprentissage: Classifieur | None = None
        self.exemples_llm = 3
        self._apprendre: Callable[[], Classifieur | None] | None = None
        self._verrou_apprentissage = threading.Lock()

    def apprendre_au_besoin(self, apprendre: Callable[[], Classifieur | None]) -> None:
        """L'entraînement attend le premier courrier à analyser : une relève à la main sans
        rien de nouveau n'importe pas scikit-learn (quelques secondes) pour rien."""
        self._apprendre = apprendre

    def _classifieur(self) -> Classifieur | None:
        with self._verrou_apprentissage:  # les analyses parallèles entraînent une seule fois
            if self._apprendre is not None:
                self.apprentissage, self._apprendre = self._apprendre(), None
        return self.apprentissage

    def analyser(self, courrier: CourrierALire) -> Analyse:
        appris = self._classifieur()
        if self.llm is None:
            analyse = self.moteur.analyser(courrier)
            if appris is None:
                return analyse
            return combiner(analyse, appris.predire(courrier), self.moteur.services())
        self.panne("pendant_llm")
        exemples = appris.proches(courrier, self.exemples_llm) if appris is not None else []
        try:
            categories, services = self.moteur.categories(), self.moteur.services()
            brute = (
                self.llm.analyser(courrier, categories, services, exemples=exemples)
                if exemples
                else self.llm.analyser(courrier, categories, services)
            )
        except Exception as e:  # panne ou réponse imprévue : les règles prennent le relais
            logger.warning(
                "LLM indisponible pour %s : %s",
                courrier.numero,
                e if isinstance(e, ConnecteurErreur) else e.__class__.__name__,
            )
            analyse = self.moteur.analyser(courrier)
            if appris is not None:
                analyse = combiner(analyse, appris.predire(courrier), self.moteur.services())
            alertes = [*analyse.alertes, Alerte.LLM_INDISPONIBLE]
            return analyse.model_copy(update={"alertes": list(dict.fromkeys(alertes))})
        if exemples:
            brute = brute.model_copy(update={"appris": f"exemples : {len(exemples)}"})
        return self.moteur.valider(brute, courrier)

    def traiter(self, courrier: CourrierALire) -> tuple[Analyse, list[Brouillon]]:
        nature = NatureAutomatique(courrier.automatique) if courrier.automatique else None
        if nature is not None and nature.hors_des_comptes:
            # Ni LLM ni règles : une absence ou un avis de non-remise n'a rien à classer.
            return analyse_automatique(courrier, nature, self.moteur.services()), []
        analyse = self.analyser(courrier)
        if nature is not None:
            # RFC 3834 : jamais de réponse ni d'accusé de réception à un message automatique.
            return analyse.model_copy(
                update={"reponse_attendue": False, "est_demande_usager": False}
            ), []
        # Un texte qui tente de donner des ordres ne nourrit pas la rédaction générative.
        redacteur = (
            self.llm.rediger
            if self.llm is not None
            and analyse.moteur.startswith("llm:")
            and Alerte.INJECTION_SUSPECTEE not in analyse.alertes
            else None
        )
        brouillons = rediger(
            courrier,
            analyse,
            self.commune,
            self.crpa,
            redacteur_llm=redacteur,
            gabarits=self.gabarits,
            le=aujourd_hui(self.horloge),
        )
        return analyse, brouillons


def analyse_automatique(
    courrier: CourrierALire, nature: NatureAutomatique, services: Mapping[str, str]
) -> Analyse:
    """L'analyse d'une absence ou d'un avis de non-remise : « autre », basse, sans échéance (la
    date de retour d'un absent n'en est pas une), sans réponse attendue."""
    if nature == NatureAutomatique.NON_REMISE:
        resume = (
            "Avis de non-remise : un courriel envoyé par la mairie n'a pas été remis. "
            "La réponse concernée repasse « à vérifier » dans la file."
        )
    else:
        extrait = " ".join(courrier.texte.split())[:300]
        resume = "Réponse automatique (absence, répondeur) : on n'y répond pas."
        if extrait:
            resume += f" Message : « {extrait} »"
    nom, adresse = parseaddr(courrier.expediteur)
    return Analyse(
        categorie=AUTRE,
        service=services.get(AUTRE, "")[:120],
        urgence=Urgence.BASSE,
        resume=resume[:1200],
        expediteur=Expediteur(nom=nom[:200], email=(adresse or courrier.expediteur_adresse)[:320]),
        confiance=1.0,
        moteur="regles",
    )


_OBJET = re.compile(r"^\s*(?:objet|obj\.)\s*[:：]\s*(.+)$", re.IGNORECASE | re.MULTILINE)


def objet_du_texte(courrier: CourrierALire) -> str:
    """La ligne « Objet : … » d'une lettre (papier), quand le courrier n'a pas d'objet."""
    if courrier.objet:
        return ""
    trouve = _OBJET.search(courrier.texte[:5000])
    return " ".join(trouve.group(1).split())[:300] if trouve else ""


def _consigner_analyse(
    registre: Registre,
    analyseur: Analyseur,
    bilan: BilanAnalyse,
    rapport: Rapport,
    ident: int,
    courrier: CourrierALire,
    futur: Future[tuple[Analyse, list[Brouillon]]],
) -> None:
    """L'analyse d'un courrier, écrite au registre dans le fil de la relève (une transaction)."""
    try:
        analyse, brouillons = futur.result()
    except Exception as e:  # un courrier ne doit pas arrêter la nuit
        raison = f"Analyse impossible ({e.__class__.__name__}) : le courrier reste à trier."
        logger.exception("analyse de %s", courrier.numero)
        bilan.erreurs.append((courrier.numero, raison))
        rapport.avance("Analyse et brouillons")
        return
    registre.consigner_analyse(
        ident,
        analyse,
        brouillons,
        objet=objet_du_texte(courrier),
        echeances_legales=en_json(calculer(courrier, analyse, analyseur.crpa)),
        elu=analyseur.repartition.elu_pour(
            analyse.categorie, analyse.service, courrier.objet, courrier.texte
        ),
    )
    analyseur.panne("apres_analyse")
    bilan.analyses += 1
    bilan.par_llm += analyse.moteur.startswith("llm:")
    bilan.replis += Alerte.LLM_INDISPONIBLE in analyse.alertes
    bilan.brouillons += len(brouillons)
    rapport.avance("Analyse et brouillons")


def analyser_en_attente(
    registre: Registre,
    analyseur: Analyseur,
    parallele: int,
    rapport: Rapport | None = None,
    lecture_en_cours: Callable[[], bool] | None = None,
    attente_s: float = 1.0,
    reveil: threading.Event | None = None,
) -> BilanAnalyse:
    """Analyse tout ce qui est lu et pas encore analysé, même d'une nuit interrompue.

    Les appels au LLM attendent le réseau : ils tournent dans des fils, bornés par le client ;
    les écritures au registre restent dans ce fil-ci, une transaction par courrier, dans l'ordre
    où les courriers ont été pris.

    `lecture_en_cours` : tant qu'elle rend vrai, la lecture tourne à côté (flow `releve`) ; les
    courriers lus sont repris toutes les `attente_s` secondes et analysés au fil de l'eau, pour
    que la nuit dure la plus longue des deux étapes (OCR ou LLM) et non leur somme. `reveil`,
    posé quand la lecture finit, abrège l'attente : la relève ne traîne pas une seconde de plus.
    """
    from courrier.releve import RapportMuet

    rapport = rapport or RapportMuet()
    bilan = BilanAnalyse()
    # Lire l'état de la lecture avant la liste : finie avant, elle n'a rien laissé hors liste.
    encore = lecture_en_cours is not None and lecture_en_cours()
    a_faire = registre.a_analyser()
    rapport.debut("Analyse et brouillons", None if encore else len(a_faire))
    if not a_faire and not encore:
        return bilan
    soumis: set[int] = set()
    file: deque[tuple[int, CourrierALire, Future[tuple[Analyse, list[Brouillon]]]]] = deque()

    def consigner(
        ident: int, courrier: CourrierALire, futur: Future[tuple[Analyse, list[Brouillon]]]
    ) -> None:
        _consigner_analyse(registre, analyseur, bilan, rapport, ident, courrier, futur)

    with ThreadPoolExecutor(max_workers=max(1, parallele)) as pool:
        while True:
            for ident, courrier in a_faire:
                if ident not in soumis:
                    soumis.add(ident)
                    file.append((ident, courrier, pool.submit(analyseur.traiter, courrier)))
            # Lecture finie avant la liste ci-dessus : tout y était, il reste à vider la file.
            while file and (not encore or file[0][2].done()):
                consigner(*file.popleft())
            if not encore:
                return bilan
            prochaine = time.monotonic() + attente_s
            while file and time.monotonic() < prochaine:
                wait([file[0][2]], timeout=max(0.0, prochaine - time.monotonic()))
                while file and file[0][2].done():
                    consigner(*file.popleft())
            (reveil.wait if reveil is not None else time.sleep)(
                max(0.0, prochaine - time.monotonic())
            )
            encore = lecture_en_cours is not None and lecture_en_cours()
            a_faire = registre.a_analyser(deja=soumis)
