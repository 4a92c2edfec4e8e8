"""Qui écrit : l'adresse de l'en-tête comparée aux motifs des règles, le bloc de l'expéditeur en
tête d'une lettre papier, l'adresse postale sous la signature d'un courriel.
"""

from __future__ import annotations

import fnmatch
import re
from email.utils import parseaddr

from noyau.analyse import CourrierALire, Expediteur
from regles.modele import RegleExpediteur
from regles.texte import normaliser


def adresse_correspond(adresse: str, motif: str) -> bool:
    """Vrai si l'adresse électronique relève du motif (adresse exacte ou domaine, avec « * »)."""
    adresse = adresse.strip().lower()
    motif = motif.strip().lower()
    if not adresse or not motif:
        return False
    if "@" in motif:
        return fnmatch.fnmatchcase(adresse, motif)
    domaine = adresse.rpartition("@")[2]
    return fnmatch.fnmatchcase(domaine, motif) or fnmatch.fnmatchcase(domaine, "*." + motif)


def precision(motif: str) -> tuple[int, int]:
    return (1 if "@" in motif else 0, len(motif.replace("*", "")))


COURRIEL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_TELEPHONE = re.compile(r"(t[ée]l|portable|mobile|fax)\b|(?:\d{2}[ .]?){4}\d{2}", re.IGNORECASE)
_VOIE = re.compile(
    r"^(\d+\s*(bis|ter|b)?\s*,?\s*)?(rue|route|rte|chemin|ch|avenue|av|impasse|imp|allee|place|"
    r"pl|boulevard|bd|quai|cours|passage|square|sentier|voie|lieu dit|hameau|residence|"
    r"lotissement|lot|cite|faubourg|promenade|rond point|clos|parc|zone|za|zi|bp|cs|"
    r"batiment|bat|appartement|appt|le bourg)\b"
)
_CODE_POSTAL = re.compile(r"(^|\s)\d{5}\s+[a-z]")
_MENTION_LEGALE = re.compile(r"\b(siret|siren|rcs|ape|naf|capital|tva|iban|bic|sarl|sas)\b")
# Ce qui termine le bloc de l'expéditeur en tête d'une lettre : le destinataire, l'objet,
# la date, l'appel.
_FIN_DU_BLOC = re.compile(
    r"^(monsieur|madame|mesdames|messieurs|a monsieur|a madame|mairie|objet|obj|a l attention|"
    r"m le maire|mme la maire|le maire|service|reference|ref|v ref|n ref)\b"
)
_LIEU_DATE = re.compile(r",\s*le\s+\d", re.IGNORECASE)
# Mots laissés en minuscules quand un nom écrit en capitales est remis en casse de titre.
_PETITS_MOTS = frozenset({"de", "du", "des", "la", "le", "les", "et", "d", "l", "a", "au", "aux"})


def _casse_de_nom(ligne: str) -> str:
    """« MENUISERIE DUBREUIL » devient « Menuiserie Dubreuil » ; le reste est gardé tel quel."""
    if not ligne.isupper():
        return ligne
    mots = []
    for rang, mot in enumerate(ligne.lower().split()):
        mots.append(mot if rang and mot in _PETITS_MOTS else mot[:1].upper() + mot[1:])
    return " ".join(mots)


def _est_adresse(ligne: str) -> bool:
    norme = normaliser(ligne)
    return bool(_VOIE.match(norme) or _CODE_POSTAL.search(norme))


def expediteur_du_papier(texte: str) -> Expediteur:
    """Le bloc de l'expéditeur en tête d'une lettre (scan) : nom, adresse, courriel."""
    nom = ""
    adresse: list[str] = []
    courriel = ""
    lignes = [ligne.strip() for ligne in texte.splitlines() if ligne.strip()][:15]
    for ligne in lignes:
        norme = normaliser(ligne)
        if _FIN_DU_BLOC.match(norme) or _LIEU_DATE.search(ligne):
            break
        trouve = COURRIEL.search(ligne)
        if trouve and not courriel:
            courriel = trouve.group(0).lower()
        if _est_adresse(ligne) and not _MENTION_LEGALE.search(norme):
            adresse.append(ligne)
        elif (
            not nom
            and not trouve
            and not _TELEPHONE.search(ligne)
            and not _MENTION_LEGALE.search(norme)
            and any(c.isalpha() for c in ligne)
        ):
            nom = _casse_de_nom(ligne)
    return Expediteur(nom=nom[:200], email=courriel[:320], adresse="\n".join(adresse)[:500])


def adresse_de_signature(texte: str) -> str:
    """L'adresse postale écrite sous la signature d'un courriel, s'il y en a une."""
    lignes = [ligne.strip() for ligne in texte.splitlines() if ligne.strip()][-8:]
    trouvees = [
        ligne
        for ligne in lignes
        if _est_adresse(ligne) and "mairie" not in normaliser(ligne) and len(ligne) <= 120
    ]
    return "\n".join(trouvees)[:500]


def expediteur_de(
    courrier: CourrierALire, texte: str, regle_expediteur: RegleExpediteur | None
) -> Expediteur:
    """L'expéditeur de l'analyse : l'en-tête du courriel, sinon le bloc en tête de la lettre.

    `texte` : le texte lu du courrier ; `regle_expediteur` : la règle dont relève son adresse,
    qui donne un nom quand l'en-tête n'en a pas.
    """
    nom, adresse = parseaddr(courrier.expediteur)
    adresse = (courrier.expediteur_adresse or adresse).strip().lower()
    if not nom and not adresse:
        return expediteur_du_papier(texte)
    if not nom and regle_expediteur is not None:
        nom = regle_expediteur.nom
    return Expediteur(
        nom=nom.strip()[:200],
        email=adresse[:320],
        adresse=adresse_de_signature(texte),
    )
