"""La catégorie d'un courrier par les règles : le score de chaque catégorie (mots-clés de l'objet,
du texte et des pièces, règle d'expéditeur) et la confiance qu'on peut accorder à la meilleure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from noyau.analyse import CATEGORIE_DE_REPLI
from regles.compilees import ReglesCompilees
from regles.modele import Nature

if TYPE_CHECKING:  # la lecture calcule les scores : l'import réel serait circulaire
    from regles.lecture import Lecture

PUBLICITE = "publicite"
# Indices de démarchage distincts au-delà desquels un courrier est une publicité quel que soit
# son sujet ; en dessous, il peut être l'annonce d'une association ou d'un service public.
INDICES_DEMARCHAGE_MIN = 3


def _compter(n: int) -> float:
    """Une expression répétée compte un peu plus, sans qu'un mot martelé fasse tout."""
    return 0.0 if n == 0 else min(2.0, 1.0 + 0.5 * (n - 1))


def scores_par_categorie(lecture: Lecture, compilees: ReglesCompilees) -> dict[str, float]:
    seuils = compilees.regles.seuils
    resultat = dict.fromkeys(compilees.regles.categories, 0.0)
    for categorie, motifs in compilees.mots_cles.items():
        total = 0.0
        for m in motifs:
            total += m.poids * (
                seuils.poids_objet * _compter(len(lecture.objet_n.occurrences(m.expression)))
                + _compter(len(lecture.texte_n.occurrences(m.expression)))
                + seuils.poids_pieces * _compter(len(lecture.pieces_n.occurrences(m.expression)))
            )
        resultat[categorie] += total
    regle = lecture.regle_expediteur
    if regle is not None and regle.categorie in resultat:
        resultat[regle.categorie] += regle.poids
    return resultat


def classer(lecture: Lecture, compilees: ReglesCompilees) -> tuple[str, float]:
    """La catégorie au plus haut score et la confiance qu'on peut lui accorder."""
    seuils = compilees.regles.seuils
    scores = dict(lecture.scores)
    if lecture.nature == Nature.ADMINISTRATION:
        # Une administration ne fait pas de publicité : sa lettre d'information va dans
        # son sujet, pas avec le démarchage.
        scores.pop(PUBLICITE, None)
    classement = sorted(scores.items(), key=lambda p: p[1], reverse=True)
    if (
        PUBLICITE in scores
        and lecture.nature == Nature.DEMARCHAGE
        and lecture.indices.get(Nature.DEMARCHAGE, 0) >= INDICES_DEMARCHAGE_MIN
        and classement[0][0] != PUBLICITE
    ):
        # Un courrier qui vend est une publicité, quel que soit le sujet de ce qu'il vend.
        return PUBLICITE, 0.6
    (meilleure, s1), s2 = classement[0], classement[1][1] if len(classement) > 1 else 0.0
    if s1 < seuils.seuil_categorie:
        # Rien de net : « autre », et la secrétaire tranchera.
        return CATEGORIE_DE_REPLI, round(0.1 + 0.2 * s1 / seuils.seuil_categorie, 2)
    marge = (s1 - s2) / s1
    force = min(1.0, s1 / (4 * seuils.seuil_categorie))
    return meilleure, round(min(0.95, 0.3 + 0.65 * marge * force + 0.05), 2)
