"""Le résumé d'un courrier par les règles : deux ou trois de ses phrases, les plus parlantes
(sujet de la catégorie, demande, urgence), gardées dans leur ordre.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from regles.compilees import ReglesCompilees
from regles.demande import est_politesse
from regles.expediteur import COURRIEL
from regles.texte import PUCE, TexteNormalise

if TYPE_CHECKING:
    from regles.lecture import Lecture

RESUME_MAX = 1200


def _phrase_informative(phrase: str, compilees: ReglesCompilees) -> bool:
    """Vrai pour une phrase qui dit quelque chose : ni titre, ni ligne de tableau ou de
    formulaire, ni coordonnées, ni formule de politesse."""
    if len(phrase) < 30 or sum(any(c.isalpha() for c in m) for m in phrase.split()) < 5:
        return False
    if " | " in phrase or PUCE.match(phrase):
        return False
    if len(phrase) < 60 and not phrase.rstrip(" »\"')").endswith((".", "!", "?", "…")):
        return False  # un titre, une ligne d'en-tête
    lettres = [c for c in phrase if c.isalpha()]
    if sum(c.isupper() for c in lettres) > 0.6 * len(lettres):
        return False
    if COURRIEL.search(phrase) or re.search(r"https?://|www\.", phrase):
        return False
    chiffres = sum(c.isdigit() for c in phrase)
    if chiffres > 0.25 * len(phrase):
        return False
    # « Nom : LEFÈVRE », « Date : … » : une ligne de formulaire, pas une phrase.
    tete, deux_points, _ = phrase.partition(":")
    if deux_points and len(tete.split()) <= 4 and len(phrase) < 80:
        return False
    norme = TexteNormalise(phrase)
    return not est_politesse(norme, compilees)


def resume(lecture: Lecture, compilees: ReglesCompilees, categorie: str, demande: str) -> str:
    """Deux ou trois phrases du courrier, les plus parlantes, dans leur ordre."""
    if lecture.vide:
        objet = f" Objet : « {lecture.objet} »." if lecture.objet else ""
        return f"Courrier sans texte lisible.{objet}"[:RESUME_MAX]
    candidates = [
        (rang, p) for rang, p in enumerate(lecture.phrases) if _phrase_informative(p, compilees)
    ]
    notes: list[tuple[float, int, str]] = []
    for ordre, (rang, phrase) in enumerate(candidates):
        note = _note(phrase, ordre, compilees, categorie, demande)
        notes.append((note, rang, phrase))
    if not notes:
        return (f"Objet : {lecture.objet}" if lecture.objet else "")[:RESUME_MAX]
    retenues = sorted(sorted(notes, key=lambda n: (-n[0], n[1]))[:3], key=lambda n: n[1])
    texte = ""
    for _, _, phrase in retenues:
        essai = f"{texte} {phrase}".strip()
        if len(essai) > RESUME_MAX:
            break
        texte = essai
    if not texte:  # une seule phrase, trop longue : coupée au dernier mot entier
        texte = retenues[0][2][: RESUME_MAX - 1].rsplit(" ", 1)[0] + "…"
    return texte


def _note(
    phrase: str, ordre: int, compilees: ReglesCompilees, categorie: str, demande: str
) -> float:
    """Ce qu'une phrase apprend : son rang, les mots de la catégorie, la demande, l'urgence."""
    norme = TexteNormalise(phrase)
    note = 1.0 + (1.0 if ordre == 0 else 0.5 if ordre < 3 else 0.0)
    note += min(
        4.0,
        sum(
            m.poids for m in compilees.mots_cles.get(categorie, ()) if norme.contient(m.expression)
        ),
    )
    if phrase == demande:
        note += 5.0  # la demande elle-même a sa place dans le résumé
    elif any(norme.contient(m.expression) for m in compilees.demande):
        note += 2.0
    if any(norme.contient(m.expression) for m in compilees.haute):
        note += 1.5
    if len(phrase) > 400:
        note -= 1.0
    return note
