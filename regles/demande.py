"""Ce que le courrier demande, et s'il attend une réponse : la phrase qui porte la demande (hors
politesse, information et condition), puis réponse attendue et demande d'usager au sens du CRPA.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from regles.classement import PUBLICITE
from regles.compilees import ReglesCompilees
from regles.modele import Nature
from regles.texte import TexteNormalise

if TYPE_CHECKING:
    from regles.lecture import Lecture

APPEL_MOTS_MAX = 8  # au-delà, « Monsieur le Maire » est dans une vraie phrase

_QUESTION = re.compile(r"\?(?=\s|$|[»\"')])")


def est_politesse(norme: TexteNormalise, compilees: ReglesCompilees) -> bool:
    """Formule de politesse, ou formule d'appel qui fait toute la phrase."""
    if any(norme.contient(e) for e in compilees.politesse):
        return True
    return len(norme.texte.split()) <= APPEL_MOTS_MAX and any(
        norme.contient(e) for e in compilees.appel
    )


def _sous_condition(norme: TexteNormalise, compilees: ReglesCompilees) -> bool:
    return any(t.start() == 0 for e in compilees.condition for t in norme.occurrences(e, 1))


def _est_information(norme: TexteNormalise, compilees: ReglesCompilees) -> bool:
    return any(norme.contient(e) for e in compilees.information)


def demande_de(lecture: Lecture, compilees: ReglesCompilees) -> tuple[str, float]:
    """La phrase qui porte la demande (le plus fort marqueur, la première à égalité) et le
    poids de ce marqueur ; ("", 0) sans demande."""
    meilleure, poids_max = "", 0.0
    for phrase in lecture.phrases:
        norme = TexteNormalise(phrase)
        if (
            est_politesse(norme, compilees)
            or _est_information(norme, compilees)
            or _sous_condition(norme, compilees)
        ):
            continue
        poids = max((m.poids for m in compilees.demande if norme.contient(m.expression)), default=0)
        if poids > poids_max:
            meilleure, poids_max = phrase, poids
    return meilleure, poids_max


def reponse_attendue(
    lecture: Lecture, compilees: ReglesCompilees, categorie: str, poids_demande: float
) -> tuple[bool, bool]:
    """(réponse attendue, demande d'usager au sens du CRPA).

    Factures, publicité : rien à répondre. Administration : une réponse seulement quand
    elle demande nettement quelque chose à la mairie, jamais un accusé de réception.
    Usager : une demande, un signalement ou une question appellent réponse et accusé de
    réception, sauf dans une lettre d'information.
    """
    if lecture.nature in (Nature.FOURNISSEUR, Nature.DEMARCHAGE) or categorie == PUBLICITE:
        return False, False
    if lecture.nature == Nature.ADMINISTRATION:
        return poids_demande >= 2, False
    tout = TexteNormalise(lecture.objet_n.texte + " " + lecture.texte_n.texte, True)
    if _est_information(tout, compilees):
        attendue = poids_demande >= 2
    else:
        question = any(_QUESTION.search(p) for p in lecture.phrases)
        attendue = poids_demande > 0 or question
    return attendue, attendue
