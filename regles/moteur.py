"""Le moteur de règles : classe, résume et date un courrier sans LLM, et tient le LLM en bride.

Sans LLM configuré, `MoteurRegles.analyser` fait toute l'analyse (le défaut livré) ; quand le
LLM échoue, `prendre_le_relais` la fait et le signale ; quand il répond, `valider` confronte sa
réponse aux règles de l'intégrateur (catégories connues, table d'aiguillage, décisions
forcées) et au texte (injection d'instructions). Les règles viennent de `regles/*.yaml`
(voir `regles.chargement`). Aucune entrée-sortie ici : ni fichier, ni réseau, ni base.

Ce module enchaîne les étapes, chacune dans son module : `regles.lecture`, `regles.classement`,
`regles.urgence`, `regles.demande`, `regles.resume`, `regles.expediteur`, `regles.decisions`.
Les noms publics d'avant le découpage restent importables d'ici.

Un courrier est une donnée, jamais un ordre : les phrases qui tentent de commander le système
sont retirées avant de calculer catégorie et urgence, et une alerte est levée.
"""

from __future__ import annotations

from noyau.analyse import Alerte, Analyse, CourrierALire, Urgence
from regles.classement import INDICES_DEMARCHAGE_MIN, PUBLICITE, classer
from regles.compilees import compiler_regles
from regles.decisions import ALERTES_MAX, appliquer_decisions, sans_doublons
from regles.demande import APPEL_MOTS_MAX, demande_de, reponse_attendue
from regles.echeances import trouver_echeance
from regles.expediteur import (
    adresse_correspond,
    adresse_de_signature,
    expediteur_de,
    expediteur_du_papier,
)
from regles.lecture import (
    INJECTION_LUE_MAX,
    PIECE_LUE_MAX,
    PIECES_LUES_MAX,
    TEXTE_LU_MAX,
    Lecture,
    contient_injection,
    lire,
)
from regles.modele import (
    Categorie,
    DecisionForcee,
    Nature,
    Ponderee,
    RegleExpediteur,
    Regles,
    Seuils,
)
from regles.resume import RESUME_MAX, resume
from regles.urgence import urgence_de

__all__ = [
    "ALERTES_MAX",
    "APPEL_MOTS_MAX",
    "CHAMPS_REMPLACABLES",
    "DEMANDE_MAX",
    "INDICES_DEMARCHAGE_MIN",
    "INJECTION_LUE_MAX",
    "PIECES_LUES_MAX",
    "PIECE_LUE_MAX",
    "PUBLICITE",
    "RESUME_MAX",
    "TEXTE_LU_MAX",
    "Categorie",
    "DecisionForcee",
    "MoteurRegles",
    "Nature",
    "Ponderee",
    "RegleExpediteur",
    "Regles",
    "Seuils",
    "adresse_correspond",
    "adresse_de_signature",
    "expediteur_du_papier",
]

DEMANDE_MAX = 500
# Les champs d'une analyse du LLM que les règles remplacent quand il les a rendus invalides.
CHAMPS_REMPLACABLES = frozenset(
    {
        "service",
        "urgence",
        "resume",
        "expediteur",
        "demande",
        "reponse_attendue",
        "est_demande_usager",
        "echeance",
        "confiance",
    }
)


class MoteurRegles:
    """L'analyse d'un courrier par les règles, et le contrôle de celle d'un LLM."""

    def __init__(self, regles: Regles) -> None:
        self.regles = regles
        self._compilees = compiler_regles(regles)

    def analyser(self, courrier: CourrierALire) -> Analyse:
        """Toute l'analyse d'un courrier par les règles seules (moteur « regles »)."""
        lecture = lire(courrier, self._compilees)
        return appliquer_decisions(self._analyser(courrier, lecture), lecture, self._compilees)

    def _analyser(self, courrier: CourrierALire, lecture: Lecture) -> Analyse:
        compilees = self._compilees
        categorie, confiance = classer(lecture, compilees)
        echeance = trouver_echeance("\n".join([lecture.objet, *lecture.phrases]), lecture.jour)
        urgence = urgence_de(lecture, compilees, categorie, echeance)
        demande, poids_demande = demande_de(lecture, compilees)
        reponse, usager = reponse_attendue(lecture, compilees, categorie, poids_demande)
        alertes: list[Alerte] = []
        if lecture.injection:
            alertes.append(Alerte.INJECTION_SUSPECTEE)
        if lecture.vide:
            alertes.append(Alerte.TEXTE_ABSENT)
        if confiance < self.regles.seuils.confiance_a_verifier:
            alertes.append(Alerte.A_VERIFIER)
        return Analyse(
            categorie=categorie,
            service=self.regles.service(categorie),
            urgence=urgence,
            resume=resume(lecture, compilees, categorie, demande),
            expediteur=expediteur_de(courrier, lecture.texte, lecture.regle_expediteur),
            demande=demande[:DEMANDE_MAX],
            reponse_attendue=reponse,
            est_demande_usager=usager,
            echeance=echeance.date if echeance else None,
            confiance=confiance,
            moteur="regles",
            alertes=sans_doublons(alertes),
        )

    def categories(self) -> dict[str, str]:
        """Identifiant → libellé de chaque catégorie, dans l'ordre de categories.yaml."""
        return {c.id: c.libelle for c in self.regles.categories.values()}

    def services(self) -> dict[str, str]:
        """La table d'aiguillage : identifiant de catégorie → service."""
        return {c.id: c.service for c in self.regles.categories.values()}

    def prendre_le_relais(self, courrier: CourrierALire) -> Analyse:
        """L'analyse des règles quand le LLM a échoué (panne, délai, réponse illisible)."""
        analyse = self.analyser(courrier)
        alertes = sans_doublons([Alerte.LLM_INDISPONIBLE, *analyse.alertes])
        return analyse.model_copy(update={"alertes": alertes})

    def detecter_injection(self, texte: str) -> bool:
        """Vrai si le texte tente de donner des ordres au système."""
        return contient_injection(texte, self._compilees.injection)

    def valider(self, analyse: Analyse, courrier: CourrierALire) -> Analyse:
        """Confronte l'analyse d'un LLM aux règles et au texte ; rend l'analyse corrigée.

        - catégorie inconnue : celle des règles, alertes « à vérifier » et « LLM incohérent » ;
        - service : toujours celui de la table d'aiguillage ;
        - injection d'instructions : alerte ; la catégorie est celle des règles (calculée sans
          les phrases injectées) dès que le LLM s'en écarte, avec « à vérifier » ; une urgence
          « haute » sans vrai marqueur hors de ces phrases est ramenée à celle des règles ; une
          vraie urgence n'est jamais abaissée ;
          résumé et demande sont ceux des règles, écrits sans les paragraphes hostiles ;
        - décisions forcées de l'intégrateur : appliquées en dernier, alerte « décision forcée » ;
        - champs laissés vides par le LLM (résumé, expéditeur, échéance) : ceux des règles ;
          de même pour les champs invalides écartés à la lecture (`Analyse.ecartes`).
        """
        lecture = lire(courrier, self._compilees)
        propre = self._analyser(courrier, lecture)
        # Un champ que le LLM a rendu invalide (écarté à la lecture) : celui des règles. Ses
        # alertes, elles, restent les siennes (l'alerte « à vérifier » de l'écart en fait partie).
        remplaces = {
            champ: getattr(propre, champ)
            for champ in analyse.ecartes
            if champ in CHAMPS_REMPLACABLES
        }
        if remplaces:
            analyse = analyse.model_copy(update=remplaces)
        alertes = list(analyse.alertes)
        categorie = analyse.categorie
        confiance = analyse.confiance
        if categorie not in self.regles.categories:
            categorie = propre.categorie
            confiance = min(confiance, propre.confiance)
            alertes += [Alerte.A_VERIFIER, Alerte.LLM_INCOHERENT]
        urgence = analyse.urgence
        if lecture.injection:
            alertes.append(Alerte.INJECTION_SUSPECTEE)
            # Le LLM a lu les ordres : s'il s'écarte des règles (calculées sans les phrases
            # injectées), c'est peut-être qu'il a obéi. Les règles tranchent, un humain vérifie.
            if categorie != propre.categorie:
                categorie = propre.categorie
                confiance = min(confiance, propre.confiance)
                alertes.append(Alerte.A_VERIFIER)
            urgence = _urgence_sous_injection(urgence, propre.urgence)
        if lecture.vide:
            alertes.append(Alerte.TEXTE_ABSENT)
        expediteur = analyse.expediteur
        if not (expediteur.nom or expediteur.email):
            expediteur = propre.expediteur
        resume, demande = analyse.resume or propre.resume, analyse.demande
        if lecture.injection:
            # Le LLM a lu les ordres injectés : ce qu'il en a tiré ne s'affiche pas.
            resume, demande = propre.resume, propre.demande
        usager = analyse.est_demande_usager
        if lecture.nature != Nature.USAGER:
            # Préfecture, fournisseur, démarchage : pas une demande du public au sens du CRPA.
            usager = False
        corrigee = analyse.model_copy(
            update={
                "categorie": categorie,
                "service": self.regles.service(categorie),
                "urgence": urgence,
                "confiance": confiance,
                "resume": resume,
                "demande": demande,
                "expediteur": expediteur,
                "echeance": analyse.echeance or propre.echeance,
                "est_demande_usager": usager,
                "alertes": sans_doublons(alertes),
            }
        )
        return appliquer_decisions(corrigee, lecture, self._compilees)


def _urgence_sous_injection(du_llm: Urgence, des_regles: Urgence) -> Urgence:
    """Une urgence « haute » sans vrai marqueur hors des phrases injectées est ramenée à celle
    des règles ; une vraie urgence n'est jamais abaissée."""
    if du_llm == Urgence.HAUTE and des_regles != Urgence.HAUTE:
        return des_regles
    if des_regles == Urgence.HAUTE:
        return Urgence.HAUTE
    return du_llm
