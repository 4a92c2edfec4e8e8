"""La lecture d'un courrier par les règles, première étape de l'analyse : ce qui est lu (objet,
texte, pièces, dans des limites), les paragraphes qui donnent des ordres mis à part, la règle
d'expéditeur et la nature de celui qui écrit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from email.utils import parseaddr

from noyau.analyse import CourrierALire
from regles.classement import scores_par_categorie
from regles.compilees import ReglesCompilees
from regles.echeances import jour_a_paris
from regles.expediteur import adresse_correspond, expediteur_du_papier
from regles.modele import Nature, RegleExpediteur
from regles.texte import Expression, TexteNormalise, phrases

# Un long texte dit son sujet dans ses premières pages ; au-delà, lire coûterait sans rien
# apprendre (un courrier peut compter un million de caractères).
TEXTE_LU_MAX = 20_000
PIECE_LUE_MAX = 5_000
PIECES_LUES_MAX = 5
# L'injection se cherche plus loin que le sujet : le LLM lit aussi la fin du texte et les
# pièces jointes.
INJECTION_LUE_MAX = 300_000


@dataclass
class Lecture:
    """Ce que le moteur a lu d'un courrier, partagé par `analyser` et `valider`."""

    objet: str
    texte: str  # corps lu (ou texte des pièces quand le corps est vide), tronqué
    phrases: list[str]  # phrases du texte, sans les phrases injectées
    phrases_injectees: list[str]
    injection: bool
    vide: bool
    adresse: str  # adresse électronique de l'en-tête, en minuscules
    jour: date
    objet_n: TexteNormalise
    texte_n: TexteNormalise  # sans les phrases injectées
    pieces_n: TexteNormalise
    regle_expediteur: RegleExpediteur | None = None
    nature: Nature = Nature.USAGER
    indices: dict[Nature, int] = field(default_factory=dict)  # indices distincts trouvés
    scores: dict[str, float] = field(default_factory=dict)


_OBJET_DANS_LE_TEXTE = re.compile(r"^\s*(?:objet|obj\.)\s*:\s*(.+)$", re.IGNORECASE | re.MULTILINE)


def contient_injection(texte: str, injection: tuple[Expression, ...]) -> bool:
    """Vrai si le texte tente de donner des ordres au système."""
    norme = TexteNormalise(texte)
    return any(norme.contient(e) for e in injection)


def _tout_le_courrier(courrier: CourrierALire) -> str:
    """Objet, texte et pièces jointes, ce que le LLM peut lire, dans une limite raisonnable."""
    morceaux = [courrier.objet, courrier.texte, *(t for _, t in courrier.pieces)]
    return "\n".join(morceaux)[:INJECTION_LUE_MAX]


def lire(courrier: CourrierALire, compilees: ReglesCompilees) -> Lecture:
    texte = courrier.texte[:TEXTE_LU_MAX]
    pieces = [t[:PIECE_LUE_MAX] for _, t in courrier.pieces[:PIECES_LUES_MAX] if t.strip()]
    vide = not texte.strip() and not pieces
    if not texte.strip() and pieces:
        # Courriel « voir pièce jointe » : la pièce est le courrier.
        texte, pieces = "\n\n".join(pieces)[:TEXTE_LU_MAX], []
    objet = courrier.objet.strip()
    if not objet:
        trouve = _OBJET_DANS_LE_TEXTE.search(texte[:3000])
        objet = trouve.group(1).strip() if trouve else ""
    if contient_injection(objet, compilees.injection):
        objet = ""  # un objet qui donne des ordres ne dit rien du sujet
    toutes = phrases(texte)
    gardees, injectees = _retirer_injections(toutes, compilees.injection)
    adresse = (courrier.expediteur_adresse or parseaddr(courrier.expediteur)[1]).lower()
    lecture = Lecture(
        objet=objet,
        texte=texte,
        phrases=gardees,
        phrases_injectees=injectees,
        injection=bool(injectees)
        or contient_injection(_tout_le_courrier(courrier), compilees.injection),
        vide=vide,
        adresse=adresse.strip(),
        jour=jour_a_paris(courrier.recu_le),
        objet_n=TexteNormalise(objet),
        texte_n=TexteNormalise("\n".join(gardees)),
        pieces_n=TexteNormalise("\n".join(pieces)),
    )
    lecture.regle_expediteur = _regle_expediteur(adresse, texte, compilees)
    lecture.nature = _nature(lecture, compilees)
    lecture.scores = scores_par_categorie(lecture, compilees)
    return lecture


def _retirer_injections(
    toutes: list[tuple[int, str]], injection: tuple[Expression, ...]
) -> tuple[list[str], list[str]]:
    """Sépare du reste les paragraphes qui donnent des ordres.

    Tout le paragraphe part, pas seulement la phrase reconnue : l'attaquant y accompagne
    ses ordres d'affirmations (« danger de mort, incendie en cours ») qui ne doivent pas
    compter. Un ordre qui finit par « : » annonce un texte dicté : le paragraphe suivant
    part aussi. La secrétaire voit toujours le courrier entier.
    """
    hostiles: set[int] = set()
    for rang, phrase in toutes:
        norme = TexteNormalise(phrase)
        if any(norme.contient(e) for e in injection):
            hostiles.add(rang)
            if phrase.rstrip(" «\"'").endswith(":"):
                hostiles.add(rang + 1)
    gardees = [p for rang, p in toutes if rang not in hostiles]
    injectees = [p for rang, p in toutes if rang in hostiles]
    return gardees, injectees


def _regle_expediteur(
    adresse: str, texte: str, compilees: ReglesCompilees
) -> RegleExpediteur | None:
    if not adresse:
        # Lettre papier : le courriel imprimé dans l'en-tête oriente le classement (jamais
        # une décision forcée, qui ne regarde que l'en-tête du courriel).
        adresse = expediteur_du_papier(texte).email
    return next((r for r in compilees.expediteurs if adresse_correspond(adresse, r.motif)), None)


def _nature(lecture: Lecture, compilees: ReglesCompilees) -> Nature:
    tout = TexteNormalise(lecture.objet_n.texte + " " + lecture.texte_n.texte, True)
    comptes = {
        nature: sum(1 for e in indices if tout.contient(e))
        for nature, indices in compilees.indices.items()
    }
    lecture.indices = dict(comptes)
    regle = lecture.regle_expediteur
    if regle is not None and regle.nature != Nature.USAGER:
        return regle.nature
    if regle is not None:
        # Une messagerie grand public n'est jamais la préfecture.
        comptes.pop(Nature.ADMINISTRATION, None)
    candidates = [(n, c) for n, c in comptes.items() if c >= 2]
    if not candidates:
        return Nature.USAGER
    return max(candidates, key=lambda p: p[1])[0]
