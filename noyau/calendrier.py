"""Le calendrier français : le jour à Paris, jours fériés, jours ouvrés, délais en mois. Sans I/O.

Jours fériés : article L3133-1 du code du travail (onze jours, dont trois calculés depuis Pâques) ;
Alsace-Moselle en option (Vendredi saint et Saint-Étienne, article L3134-13).
Délais en mois : article 641 du code de procédure civile (même quantième du mois d'arrivée, ou
dernier jour de ce mois s'il n'en a pas) ; prorogation de l'article 642 (un délai qui finirait un
samedi, un dimanche ou un jour férié va jusqu'au premier jour ouvré suivant).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from dateutil.easter import EASTER_WESTERN, easter
from dateutil.relativedelta import relativedelta

PARIS = ZoneInfo("Europe/Paris")

MOIS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
JOURS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


def jour_de_paris(moment: datetime) -> date:
    """Le jour civil à Paris d'un instant (le registre donne de l'UTC ; naïf, il l'est aussi)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(PARIS).date()


def heure_de_paris(moment: datetime | None) -> str:
    """« 07/12/2027 20:31 » : un instant lu à Paris, pour les humains (vide : rien)."""
    if moment is None:
        return ""
    return moment.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")


# L'horloge est injectée (registre, page web, digest) : un test fixe l'instant au lieu de
# dépendre du jour où la suite tourne.
Horloge = Callable[[], datetime]


def horloge_systeme() -> datetime:
    """L'instant présent, en UTC avec son fuseau : l'horloge par défaut."""
    return datetime.now(UTC)


def aujourd_hui(horloge: Horloge = horloge_systeme) -> date:
    """Aujourd'hui à Paris selon l'horloge, quel que soit le fuseau de la machine."""
    return jour_de_paris(horloge())


def paques(annee: int) -> date:
    """Le dimanche de Pâques du calendrier grégorien (dateutil, algorithme de Oudin)."""
    if annee < 1583:
        raise ValueError(f"calendrier grégorien seulement (année {annee})")
    return easter(annee, EASTER_WESTERN)


@lru_cache(maxsize=256)
def _feries(annee: int, alsace_moselle: bool) -> tuple[tuple[date, str], ...]:
    p = paques(annee)
    jours = [
        (date(annee, 1, 1), "Jour de l'an"),
        (p + timedelta(days=1), "Lundi de Pâques"),
        (date(annee, 5, 1), "Fête du Travail"),
        (date(annee, 5, 8), "Victoire 1945"),
        (p + timedelta(days=39), "Ascension"),
        (p + timedelta(days=50), "Lundi de Pentecôte"),
        (date(annee, 7, 14), "Fête nationale"),
        (date(annee, 8, 15), "Assomption"),
        (date(annee, 11, 1), "Toussaint"),
        (date(annee, 11, 11), "Armistice 1918"),
        (date(annee, 12, 25), "Noël"),
    ]
    if alsace_moselle:
        jours += [(p - timedelta(days=2), "Vendredi saint"), (date(annee, 12, 26), "Saint-Étienne")]
    return tuple(sorted(jours))


def jours_feries(annee: int, alsace_moselle: bool = False) -> dict[date, str]:
    """Les jours fériés légaux de l'année, par date, avec leur nom."""
    return dict(_feries(annee, alsace_moselle))


def est_ferie(d: date, alsace_moselle: bool = False) -> bool:
    return any(jour == d for jour, _ in _feries(d.year, alsace_moselle))


def est_ouvre(d: date, alsace_moselle: bool = False) -> bool:
    """Du lundi au vendredi, hors jours fériés."""
    return d.weekday() < 5 and not est_ferie(d, alsace_moselle)


def prochain_jour_ouvre(d: date, alsace_moselle: bool = False) -> date:
    """`d` s'il est ouvré, sinon le premier jour ouvré qui le suit (prorogation, art. 642 CPC)."""
    while not est_ouvre(d, alsace_moselle):
        d += timedelta(days=1)
    return d


def ajouter_mois(d: date, n: int) -> date:
    """`d` plus `n` mois : même quantième, ou dernier jour du mois s'il n'existe pas (art. 641)."""
    # relativedelta ramène au dernier jour du mois quand le quantième n'y existe pas.
    return d + relativedelta(months=n)


def ajouter_jours_ouvres(d: date, n: int, alsace_moselle: bool = False) -> date:
    """Le `n`-ième jour ouvré après `d` (`d` ne compte pas) ; `n` négatif : avant `d`."""
    pas = timedelta(days=1 if n >= 0 else -1)
    restants = abs(n)
    while restants:
        d += pas
        if est_ouvre(d, alsace_moselle):
            restants -= 1
    return d


def date_decision_implicite(
    recu_le: date,
    delai_mois: int = 2,
    proroger: bool = True,
    alsace_moselle: bool = False,
) -> date:
    """Le jour à la fin duquel le silence gardé sur une demande reçue le `recu_le` vaut décision.

    Délai en mois à compter de la réception (CRPA art. L231-1, computé selon l'art. 641 CPC) ;
    avec `proroger`, la fin tombant un samedi, un dimanche ou un jour férié est reportée au
    premier jour ouvré suivant (art. 642 CPC).
    """
    fin = ajouter_mois(recu_le, delai_mois)
    return prochain_jour_ouvre(fin, alsace_moselle) if proroger else fin


def fin_de_delai(
    depart: date,
    *,
    mois: int = 0,
    jours: int = 0,
    jours_ouvres: bool = False,
    proroger: bool = True,
    alsace_moselle: bool = False,
) -> date:
    """Fin d'un délai de `mois` mois puis `jours` jours (ouvrés si `jours_ouvres`) dès `depart`."""
    fin = ajouter_mois(depart, mois)
    if jours_ouvres:
        fin = ajouter_jours_ouvres(fin, jours, alsace_moselle)
    else:
        fin += timedelta(days=jours)
    return prochain_jour_ouvre(fin, alsace_moselle) if proroger else fin


def date_en_lettres(d: date, jour_semaine: bool = False) -> str:
    """« 23 novembre 2026 », « 1er mai 2026 » ; sans dépendre de la locale du système."""
    jour = "1er" if d.day == 1 else str(d.day)
    texte = f"{jour} {MOIS[d.month - 1]} {d.year}"
    return f"{JOURS[d.weekday()]} {texte}" if jour_semaine else texte
