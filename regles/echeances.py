"""Les dates d'un courrier : l'échéance qu'il annonce, lue dans le texte français.

Formes lues : « 27 novembre 2026 », « le 1er décembre », « vendredi 5 mars 2027 »,
« 12/12/2026 », « 12.12.26 ». Une date sans année prend l'année de la réception, ou la
suivante quand elle tomberait plus de trois mois avant (« d'ici le 5 janvier » reçu en
décembre). Aucune entrée-sortie.

Les dates sont repérées par expressions régulières, pas par `dateparser.search` : sur des
phrases de courrier, il lit « le 1er décembre » comme le 2 décembre (le « 1er » perdu), prend
« mai » seul pour une date et garde la date de la lettre (« Orléans, le 6 novembre »), que
le contexte écarte ici.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from noyau.calendrier import jour_de_paris
from regles.texte import sans_accents

MOIS = {
    "janvier": 1,
    "janv": 1,
    "fevrier": 2,
    "fevr": 2,
    "fev": 2,
    "mars": 3,
    "avril": 4,
    "avr": 4,
    "mai": 5,
    "juin": 6,
    "juillet": 7,
    "juil": 7,
    "aout": 8,
    "septembre": 9,
    "sept": 9,
    "octobre": 10,
    "oct": 10,
    "novembre": 11,
    "nov": 11,
    "decembre": 12,
    "dec": 12,
}
_NOMS_MOIS = "|".join(sorted(MOIS, key=len, reverse=True))
_DATE_EN_LETTRES = re.compile(
    rf"(?<![\w])(?P<j>[0-3]?\d)(?:er)?\s+(?P<m>{_NOMS_MOIS})\.?(?:\s+(?P<a>\d{{4}}))?(?![\w])"
)
_DATE_EN_CHIFFRES = re.compile(
    r"(?<![\d/.-])(?P<j>[0-3]?\d)[/.-](?P<m>[01]?\d)[/.-](?P<a>\d{4}|\d{2})(?!\d)(?![/.-]\d)"
)
# Ce qui, juste avant une date, en fait une échéance : « avant le », « au plus tard le »…
_ANNONCE = re.compile(
    r"(avant|au plus tard|d'ici|d ici|jusqu'|jusqu |date limite|limite|echeance|delai|"
    r"expir|retourner|renvoyer|transmettre|faire parvenir|remettre|deposer|adresser|"
    r"repondre|reponse)[^.!?\n]{0,60}$"
)
# Ce qui, juste avant une date, dit qu'elle n'est pas une échéance : date de la lettre
# (« Orléans, le 6 novembre »), naissance, décès, événement passé.
_PAS_UNE_ECHEANCE = re.compile(
    r"(fait a [^\n]{0,60}$|\bdate\s*:\s*$|"
    r"\b(ne|nee|nes|nees|decede|decedee|depuis|emis|emise|accepte|acceptee|recu|recue|"
    r"naissance|deliberation du|circulaire [^\n]{0,40} du|courrier du|lettre du|"
    r"en date du)\b[^\n]{0,25}$)"
)
# La ligne de date d'une lettre : « Orléans, le 6 novembre 2026 », seule sur sa ligne.
_LIEU_ET_DATE = re.compile(r"(^|\n)[^\n,]{1,60},\s*le\s*$")
_DATE_PASSEE_APRES = re.compile(r"^\s*(dernier|derniere|passe|passee)\b")
JOURS_EN_ARRIERE_TOLERES = 90  # plus loin dans le passé, une date sans année est l'an prochain
HORIZON = timedelta(days=3 * 366)  # au-delà, ce n'est pas une échéance de courrier


@dataclass(frozen=True)
class Echeance:
    date: date
    annoncee: bool  # introduite par « avant le », « au plus tard le », « échéance »…


def jour_a_paris(instant: datetime) -> date:
    """Le jour civil à Paris, d'après la base des fuseaux (`noyau.calendrier`) ; un instant
    naïf est déjà une heure locale."""
    if instant.tzinfo is None:
        return instant.date()
    return jour_de_paris(instant)


def _annee(brute: str | None, jour: int, mois: int, reference: date) -> date | None:
    try:
        if brute is None:
            candidate = date(reference.year, mois, jour)
            if candidate < reference - timedelta(days=JOURS_EN_ARRIERE_TOLERES):
                candidate = date(reference.year + 1, mois, jour)
            return candidate
        annee = int(brute)
        if len(brute) == 2:
            annee += 2000 if annee < 70 else 1900
        return date(annee, mois, jour)
    except ValueError:  # 31 février, 29 février d'une année non bissextile
        return None


def dates_du_texte(texte: str, reference: date) -> list[Echeance]:
    """Toutes les dates lisibles du texte, dans l'ordre, sauf celles qui n'en sont pas une
    échéance (date de la lettre, naissance…) ; `annoncee` dit si le texte les présente comme
    une limite."""
    clair = sans_accents(texte)
    trouvees: list[tuple[int, Echeance]] = []
    for motif in (_DATE_EN_LETTRES, _DATE_EN_CHIFFRES):
        for t in motif.finditer(clair):
            mois_brut = t.group("m")
            mois = MOIS[mois_brut] if mois_brut in MOIS else int(mois_brut)
            if not 1 <= mois <= 12:
                continue
            jour = _annee(t.group("a"), int(t.group("j")), mois, reference)
            if jour is None:
                continue
            avant = clair[max(0, t.start() - 80) : t.start()]
            avant = re.sub(
                r"\b(lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)\s*$", "", avant
            )
            apres = clair[t.end() :]
            fin_de_ligne = apres.split("\n", 1)[0].strip(" .\t")
            if (
                _PAS_UNE_ECHEANCE.search(avant)
                or _DATE_PASSEE_APRES.match(apres)
                or (_LIEU_ET_DATE.search(avant) and not fin_de_ligne)
            ):
                continue
            trouvees.append((t.start(), Echeance(jour, annoncee=bool(_ANNONCE.search(avant)))))
    return [e for _, e in sorted(trouvees, key=lambda p: p[0])]


def trouver_echeance(texte: str, reference: date) -> Echeance | None:
    """L'échéance à retenir : la plus proche des dates annoncées comme limites (« avant le… »)
    à venir ; à défaut, la plus proche des dates à venir. None si le texte n'en a pas."""
    a_venir = [
        e
        for e in dates_du_texte(texte, reference)
        if (e.date >= reference if e.annoncee else e.date > reference)
        and e.date <= reference + HORIZON
    ]
    annoncees = [e for e in a_venir if e.annoncee]
    candidates = annoncees or a_venir
    return min(candidates, key=lambda e: e.date) if candidates else None
