"""Lire un texte comme le moteur de règles le lit : sans accents, sans majuscules, par phrases.

Les expressions des fichiers YAML (mots-clés, marqueurs d'urgence, tournures d'injection…)
sont compilées ici. Leur syntaxe, pensée pour l'intégrateur :

    inhum*                    un mot qui commence par « inhum » ;
    chiens?                   la lettre avant « ? » est facultative (chien, chiens) ;
    (bureau|bureaux) de vote  l'une des variantes entre parenthèses ;
    acte (de)? naissance      un groupe facultatif.

Aucune entrée-sortie ici.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache

_NON_MOT = re.compile(r"[^a-z0-9]+")
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "’": "'", "ʼ": "'"})


def sans_accents(texte: str) -> str:
    """Minuscules sans accents ni caractères invisibles ; ponctuation et sauts de ligne gardés.

    Les caractères de format (espaces de largeur nulle…) sont supprimés, pas remplacés : un
    mot coupé par un caractère invisible (« ign\u200bore ») reste un mot.
    """
    texte = "".join(c for c in texte if unicodedata.category(c) != "Cf")
    texte = unicodedata.normalize("NFKD", texte.lower().translate(_LIGATURES))
    return "".join(c for c in texte if not unicodedata.combining(c))


def normaliser(texte: str) -> str:
    """Les mots du texte, en minuscules sans accents, séparés par une seule espace."""
    return " ".join(_NON_MOT.sub(" ", sans_accents(texte)).split())


class ExpressionInvalide(ValueError):
    """Une expression des règles ne se lit pas ; le message est une phrase française."""


@dataclass(frozen=True)
class _Jeton:
    mot: str
    prefixe: bool  # le mot peut continuer (« inhum* », « chiens? »)


@dataclass(frozen=True)
class Expression:
    """Une expression compilée. `cles` : des jetons dont l'un au moins doit figurer dans le
    texte pour que l'expression puisse s'y trouver (filtre rapide avant l'expression régulière).
    """

    source: str
    regex: re.Pattern[str]
    cles: tuple[_Jeton, ...]


def _mot_en_regex(mot: str) -> tuple[str, list[_Jeton]]:
    """Un mot de l'expression (peut-être « inhum* » ou « chiens? ») en expression régulière."""
    etoile = mot.endswith("*")
    lettre_facultative = not etoile and mot.endswith("?") and len(mot) > 1
    base = normaliser(mot.rstrip("*?"))
    if not base:
        raise ExpressionInvalide(f"le mot « {mot} » ne contient ni lettre ni chiffre")
    jetons = base.split(" ")
    morceaux = [re.escape(j) for j in jetons]
    if etoile:
        morceaux[-1] += "[a-z0-9]*"
    elif lettre_facultative:
        dernier = jetons[-1]
        if len(dernier) < 2:
            raise ExpressionInvalide(f"« {mot} » : rien ne reste si la lettre est retirée")
        morceaux[-1] = re.escape(dernier[:-1]) + re.escape(dernier[-1]) + "?"
        jetons[-1] = dernier[:-1]
    premier = _Jeton(jetons[0], prefixe=(etoile or lettre_facultative) and len(jetons) == 1)
    return " ".join(morceaux), [premier]


def _suite_en_regex(suite: str, expression: str) -> tuple[str, list[_Jeton]]:
    mots = suite.split()
    if not mots:
        raise ExpressionInvalide(f"« {expression} » contient une variante vide")
    regex, cles = _mot_en_regex(mots[0])
    reste = [_mot_en_regex(m)[0] for m in mots[1:]]
    return " ".join([regex, *reste]), cles


_MORCEAU = re.compile(r"\((?P<alt>[^()]*)\)(?P<opt>\?)?|(?P<mot>[^\s()]+)")


@lru_cache(maxsize=4096)
def compiler(expression: str) -> Expression:
    """Compile une expression des règles ; lève `ExpressionInvalide` si elle ne se lit pas."""
    if not isinstance(expression, str) or not expression.strip():
        raise ExpressionInvalide("une expression est vide")
    morceaux: list[tuple[str, bool, list[_Jeton]]] = []  # (regex, facultatif, clés)
    position = 0
    for trouve in _MORCEAU.finditer(expression):
        if expression[position : trouve.start()].strip():
            raise ExpressionInvalide(f"« {expression} » : parenthèses mal fermées ou imbriquées")
        position = trouve.end()
        if trouve.group("mot") is not None:
            regex, cles = _mot_en_regex(trouve.group("mot"))
            morceaux.append((regex, False, cles))
            continue
        variantes = trouve.group("alt").split("|")
        compilees = [_suite_en_regex(v, expression) for v in variantes]
        regex = "(?:" + "|".join(r for r, _ in compilees) + ")"
        cles = [c for _, cs in compilees for c in cs]
        morceaux.append((regex, trouve.group("opt") is not None, cles))
    if expression[position:].strip():
        raise ExpressionInvalide(f"« {expression} » : parenthèses mal fermées ou imbriquées")
    obligatoires = [m for m in morceaux if not m[1]]
    if not obligatoires:
        raise ExpressionInvalide(f"« {expression} » ne peut pas être entièrement facultative")
    corps = ""
    rien_encore = True  # aucun morceau obligatoire écrit : pas d'espace devant le suivant
    for regex, facultatif, _ in morceaux:
        if facultatif:
            corps += f"(?:{regex} )?" if rien_encore else f"(?: {regex})?"
        else:
            corps += regex if rien_encore else f" {regex}"
            rien_encore = False
    # Le morceau obligatoire aux mots les plus longs filtre le mieux.
    cles = max((m[2] for m in obligatoires), key=lambda js: min(len(j.mot) for j in js))
    return Expression(
        source=expression,
        regex=re.compile(rf"(?<![a-z0-9])(?:{corps})(?![a-z0-9])"),
        cles=tuple(cles),
    )


class TexteNormalise:
    """Un texte normalisé et l'index de ses mots, pour chercher vite des centaines d'expressions.

    La plupart des expressions n'ont aucun de leurs mots-clés dans un courrier donné : l'index
    les écarte sans lancer leur expression régulière.
    """

    def __init__(self, texte: str, deja_normalise: bool = False) -> None:
        self.texte = texte if deja_normalise else normaliser(texte)
        self._mots = frozenset(self.texte.split())
        self._tries = sorted(self._mots)

    def _contient(self, jeton: _Jeton) -> bool:
        if not jeton.prefixe:
            return jeton.mot in self._mots
        i = bisect_left(self._tries, jeton.mot)
        return i < len(self._tries) and self._tries[i].startswith(jeton.mot)

    def occurrences(self, expression: Expression, maximum: int = 3) -> list[re.Match[str]]:
        """Les premières occurrences de l'expression (au plus `maximum`)."""
        if not any(self._contient(j) for j in expression.cles):
            return []
        trouvees: list[re.Match[str]] = []
        for trouve in expression.regex.finditer(self.texte):
            trouvees.append(trouve)
            if len(trouvees) >= maximum:
                break
        return trouvees

    def contient(self, expression: Expression) -> bool:
        return bool(self.occurrences(expression, 1))


# --------------------------------------------------------------------------------------------
# Phrases
# --------------------------------------------------------------------------------------------

# Un point après ces mots ne finit pas la phrase (« M. Dupont », « n° 14 », « Réf. : »).
_ABREVIATIONS = frozenset(
    {"m", "mm", "mme", "mmes", "mlle", "mlles", "dr", "pr", "me", "st", "ste", "cf", "n"}
    | {"no", "p", "pp", "av", "bd", "tel", "fax", "etc", "ref", "art", "vol", "ex", "env"}
    | {"min", "max", "resp", "dept", "ps", "pj"}
)
_FIN_DE_PHRASE = re.compile(r"[.!?…]+[»\"')\]]*\s+")
PUCE = re.compile(r"^\s*(?:[-–—•*·▪●]|\d{1,2}[.)]\s)")


def _suite_de_ligne(precedente: str, ligne: str) -> bool:
    """Vrai si `ligne` continue la phrase de `precedente` (retour à la ligne d'un scan).

    Une ligne longue qui finit sur un mot ou une virgule continue ; une ligne de tableau
    (qui finit sur un montant) ne continue pas.
    """
    if precedente.rstrip().endswith((".", "!", "?", ":", ";", "…")) or PUCE.match(ligne):
        return False
    if ligne[:1].islower():
        return True
    dernier = precedente.rstrip()[-1:]
    return len(precedente) >= 60 and (dernier.isalpha() or dernier in ",'-")


def blocs(texte: str) -> list[str]:
    """Les lignes logiques du texte : les lignes coupées par la mise en page sont recollées ;
    les citations d'un message précédent (« > … ») sont écartées.

    Tesseract glisse parfois une ligne vide au milieu d'un paragraphe : après une ligne vide,
    une ligne en minuscule qui continue une phrase inachevée est encore recollée.
    """
    sortie: list[str] = []
    courant = ""
    apres_vide = False

    def clore() -> None:
        nonlocal courant
        if courant:
            sortie.append(courant)
        courant = ""

    for brute in texte.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if "\t" in brute.strip():
            # Une rangée de tableau (courriel HTML) : une ligne à elle seule, cellules gardées.
            clore()
            sortie.append(" | ".join(" ".join(c.split()) for c in brute.split("\t") if c.strip()))
            continue
        ligne = " ".join(brute.split())
        if ligne.startswith(">"):
            clore()
            continue
        if not ligne:
            apres_vide = True
            continue
        continue_la_phrase = courant and _suite_de_ligne(courant, ligne)
        if continue_la_phrase and (not apres_vide or ligne[:1].islower()):
            courant += " " + ligne
        else:
            clore()
            courant = ligne
        apres_vide = False
    clore()
    return sortie


def couper_en_phrases(bloc: str) -> list[str]:
    """Les phrases d'une ligne logique, sans couper après « M. » ni « n° »."""
    phrases: list[str] = []
    debut = 0
    for fin in _FIN_DE_PHRASE.finditer(bloc):
        avant = bloc[debut : fin.start()].split()
        dernier = normaliser(avant[-1]) if avant else ""
        suivant = bloc[fin.end() : fin.end() + 1]
        if dernier in _ABREVIATIONS or (len(dernier) == 1 and dernier.isalpha()):
            continue
        if suivant and suivant.islower():
            continue
        phrases.append(bloc[debut : fin.end()].strip())
        debut = fin.end()
    reste = bloc[debut:].strip()
    if reste:
        phrases.append(reste)
    return phrases


def phrases(texte: str) -> list[tuple[int, str]]:
    """(numéro de ligne logique, phrase) pour chaque phrase du texte, dans l'ordre."""
    return [(rang, p) for rang, bloc in enumerate(blocs(texte)) for p in couper_en_phrases(bloc)]
