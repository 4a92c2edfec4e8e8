"""L'urgence d'un courrier par les règles : une échéance proche ou des marqueurs d'urgence
(hors négation), sinon l'urgence ordinaire de sa catégorie.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from noyau.analyse import Urgence
from regles.compilees import MarqueurPondere, ReglesCompilees
from regles.echeances import Echeance
from regles.texte import TexteNormalise

if TYPE_CHECKING:
    from regles.lecture import Lecture

_NEGATION = frozenset({"pas", "aucun", "aucune", "sans", "ni", "jamais", "non"})


def score_marqueurs(texte: TexteNormalise, marqueurs: Iterable[MarqueurPondere]) -> float:
    """Somme des poids des marqueurs présents (une fois chacun), hors négation."""
    total = 0.0
    for m in marqueurs:
        for trouve in texte.occurrences(m.expression, maximum=5):
            avant = texte.texte[max(0, trouve.start() - 40) : trouve.start()].split()[-3:]
            if not _NEGATION.intersection(avant):
                total += m.poids
                break
    return total


def urgence_de(
    lecture: Lecture, compilees: ReglesCompilees, categorie: str, echeance: Echeance | None
) -> Urgence:
    seuils = compilees.regles.seuils
    tout = TexteNormalise(lecture.objet_n.texte + " " + lecture.texte_n.texte, True)
    proche = (
        echeance is not None
        and echeance.annoncee
        and (echeance.date - lecture.jour).days <= seuils.echeance_proche_jours
    )
    if proche or score_marqueurs(tout, compilees.haute) >= seuils.seuil_haute:
        return Urgence.HAUTE
    if score_marqueurs(tout, compilees.basse) >= seuils.seuil_basse:
        return Urgence.BASSE
    return compilees.regles.categories[categorie].urgence
