"""Le repérage des noms de personnes pour la pseudonymisation : après une civilité, « soussigné »,
une étiquette de formulaire ou sous une formule de politesse ; les noms connus de l'appelant, et
les mots qui ne sont pas des noms (fonctions, organismes).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from connecteurs.reperage_coordonnees import LETTRE, MAJ

_CIVILITE = (
    r"M\.|MM\.|Mr\.?|Mme\.?|Mmes\.?|Mlle\.?|Mlles\.?|Madame|Monsieur|Mademoiselle|Messieurs"
    r"|Mesdames|Dr\.?|Docteur|Me|Maître|Pr\.?|Professeur"
)
_MOT_NOM = rf"[{MAJ}][{LETTRE}'’-]*"
_PARTICULE_NOM = r"(?:de|du|des|d['’]|le|la|van|von|ben|el)"
# Un à quatre mots de nom, séparés par des espaces (jamais un saut de ligne : la ligne suivante
# commence souvent par une majuscule sans être un nom).
_NOM = (
    rf"(?:{_PARTICULE_NOM}[ \t]*)?{_MOT_NOM}(?:[ \t]+(?:{_PARTICULE_NOM}[ \t]*)?{_MOT_NOM}){{0,3}}"
)
_RE_CIVILITE_NOM = re.compile(
    rf"(?<![\w])(?:{_CIVILITE})[ \t]+(?:et[ \t]+(?:{_CIVILITE})[ \t]+)?(?P<nom>{_NOM})"
)
_RE_SOUSSIGNE = re.compile(
    rf"(?<![\w])(?:(?i:soussign[ée]e?s?)[ \t]*,?|née|épouse|veuve)[ \t]+(?P<nom>{_NOM})"
)
# Les formulaires d'état civil : « Nom : LEFÈVRE », « Prénoms : Camille Hélène », « Père : … ».
_RE_ETIQUETTE = re.compile(
    r"(?m)^[ \t\-*•]*(?i:nom(?: de naissance| d'usage| de jeune fille| marital)?|pr[ée]noms?"
    r"|p[èe]re|m[èe]re|conjoint|[ée]poux|[ée]pouse|enfants?|demandeur|demandeuse|titulaire)"
    rf"[ \t]*:[ \t]*(?P<nom>{_NOM}(?:[ \t]*,[ \t]*{_NOM})*)"
)
# Une signature : la première ligne non vide après une formule de politesse, si elle n'a
# que deux à quatre mots en majuscule (« Jean DUPONT », « Marie-Claire de la Tour »).
_RE_FORMULE = re.compile(
    r"(?m)^.*(?i:cordialement|salutations|bien à vous|respectueusement|sentiments"
    r"|bonne journée|bonne soirée|merci|remerciements|amicalement|à bientôt)[^\n]*\n"
    r"(?:[ \t]*\n)*"
    rf"[ \t]*(?P<nom>{_MOT_NOM}(?:[ \t]+(?:{_PARTICULE_NOM}[ \t]*)?{_MOT_NOM}){{1,3}})[ \t]*$"
)

# Mots qui suivent une civilité sans être un nom (« Monsieur le Maire », « Madame la
# Préfète », « Madame, Monsieur »), comparés en minuscules.
_PAS_UN_NOM = {
    "le",
    "la",
    "les",
    "l",
    "maire",
    "adjoint",
    "adjointe",
    "président",
    "présidente",
    "préfet",
    "préfète",
    "sous-préfet",
    "sous-préfète",
    "directeur",
    "directrice",
    "conseiller",
    "conseillère",
    "secrétaire",
    "député",
    "députée",
    "sénateur",
    "sénatrice",
    "commissaire",
    "inspecteur",
    "inspectrice",
    "principal",
    "proviseur",
    "responsable",
    "chef",
    "cheffe",
    "curé",
    "notaire",
    "trésorier",
    "trésorière",
    "comptable",
    "gérant",
    "gérante",
    "garde",
    "agent",
    "madame",
    "monsieur",
    "mademoiselle",
    "messieurs",
    "mesdames",
    "et",
    # Une signature d'organisme n'est pas un nom de personne.
    "service",
    "services",
    "mairie",
    "commune",
    "association",
    "comité",
    "club",
    "société",
    "entreprise",
    "cabinet",
    "école",
    "collège",
    "lycée",
    "syndicat",
    "communauté",
    "équipe",
    "direction",
}


# Des mots qui, dans un nom d'expéditeur, désignent un organisme et pas une personne.
_ORGANISMES = {
    "préfecture",
    "sous-préfecture",
    "département",
    "région",
    "conseil",
    "bureau",
    "sas",
    "sarl",
    "sa",
    "eurl",
    "sci",
    "gaec",
    "newsletter",
    "info",
    "infos",
    "contact",
    "noreply",
    "no-reply",
    "ne-pas-repondre",
    "support",
    "caf",
    "cpam",
    "urssaf",
    "dgfip",
    "enedis",
    "sdis",
    "gendarmerie",
    "ministère",
    "académie",
    "agence",
    "office",
    "groupe",
    "fédération",
    "union",
    "amicale",
    "trésor",
    "collectivités",
}

# Les motifs qui trouvent un nom, dans l'ordre où on les cherche.
MOTIFS_DE_NOM = (_RE_CIVILITE_NOM, _RE_SOUSSIGNE, _RE_ETIQUETTE, _RE_FORMULE)


def noms_a_chercher(noms: Iterable[str], exclus: set[str]) -> list[str]:
    """Chaque nom connu entier, puis ses mots assez longs pour ne pas être ambigus.

    « DUPONT Jean » donne « DUPONT Jean », « DUPONT », « Jean » : une signature « J. Dupont »
    ou « Madame Dupont » ne doit pas échapper au masque. Les plus longs d'abord.
    """
    trouves: set[str] = set()
    for nom in noms:
        nom = re.sub(r"\s+", " ", nom.replace('"', "")).strip(" ,<>")
        if not nom or "@" in nom or nom.casefold() in exclus or _est_un_organisme(nom):
            continue
        trouves.add(nom)
        for mot in re.split(r"[ ,]+", nom):
            mot = mot.strip(".")
            if (
                len(mot) >= 3
                and mot.casefold() not in _PAS_UN_NOM
                and mot.casefold() not in exclus
                and not re.fullmatch(_PARTICULE_NOM, mot, re.IGNORECASE)
            ):
                trouves.add(mot)
    return sorted(trouves, key=lambda n: (-len(n), n))


def _est_un_organisme(nom: str) -> bool:
    """« Comité des fêtes de Saint-Aubin », « Préfecture du Loiret » : pas une personne.

    Un nom de personne n'a que des mots en majuscule et des particules (« Jean de la Tour »),
    ou tout en minuscules (« jean dupont », tel que certains l'écrivent).
    """
    mots = re.findall(r"[^\W\d_][\w'’-]*", nom)
    if not mots or mots[0].casefold() in _PAS_UN_NOM or mots[0].casefold() in _ORGANISMES:
        return True
    if any(m.casefold() in _ORGANISMES for m in mots):
        return True
    minuscules = [m for m in mots if m[0].islower() and not re.fullmatch(_PARTICULE_NOM, m)]
    return bool(minuscules) and len(minuscules) < len(mots)


def span_nom(nom: str, debut: int, exclus: set[str]) -> tuple[int, int]:
    """Le nom sans ce qui n'en est pas (« Le Maire ») ni les mots exclus (la commune).

    « M. Le Gall » est un nom, « Monsieur Le Maire » n'en est pas un : on juge sur le
    premier mot qui n'est pas une particule.
    """
    mots = list(re.finditer(r"[^\s'’]+['’]?", nom))
    i = 0
    while i < len(mots) and re.fullmatch(_PARTICULE_NOM, mots[i].group(0), re.IGNORECASE):
        i += 1
    if i == len(mots) or mots[i].group(0).casefold() in _PAS_UN_NOM:
        return (debut, debut)
    fin = 0
    for mot in mots:
        texte_mot = mot.group(0).casefold()
        if texte_mot in exclus or (
            mot.start() > mots[i].start() and texte_mot in _PAS_UN_NOM - {"le", "la", "et"}
        ):
            break
        fin = mot.end()
    if fin == 0 or nom[:fin].casefold() in exclus:
        return (debut, debut)
    return (debut, debut + fin)
