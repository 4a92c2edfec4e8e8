"""Les décisions forcées de l'intégrateur, dernière étape de toute analyse (règles ou LLM) :
la première qui s'applique impose catégorie, service ou urgence, et le dit par une alerte.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from noyau.analyse import Alerte, Analyse
from regles.compilees import ReglesCompilees
from regles.expediteur import adresse_correspond
from regles.modele import DecisionForcee

if TYPE_CHECKING:
    from regles.lecture import Lecture

ALERTES_MAX = 10


def sans_doublons(alertes: Iterable[Alerte]) -> list[Alerte]:
    return list(dict.fromkeys(alertes))[:ALERTES_MAX]


def _decision(lecture: Lecture, compilees: ReglesCompilees) -> DecisionForcee | None:
    for d in compilees.decisions:
        regle = d.regle
        if regle.expediteur and not adresse_correspond(lecture.adresse, regle.expediteur):
            continue
        if d.objet is not None and not lecture.objet_n.contient(d.objet):
            continue
        if d.texte is not None and not lecture.texte_n.contient(d.texte):
            continue
        return regle
    return None


def appliquer_decisions(analyse: Analyse, lecture: Lecture, compilees: ReglesCompilees) -> Analyse:
    regles = compilees.regles
    decision = _decision(lecture, compilees)
    if decision is None:
        return analyse.model_copy(
            update={"service": regles.service(analyse.categorie)}
            if analyse.categorie in regles.categories
            else {}
        )
    categorie = decision.categorie or analyse.categorie
    return analyse.model_copy(
        update={
            "categorie": categorie,
            "service": decision.service or regles.service(categorie),
            "urgence": decision.urgence or analyse.urgence,
            "alertes": sans_doublons([*analyse.alertes, Alerte.DECISION_FORCEE]),
        }
    )
