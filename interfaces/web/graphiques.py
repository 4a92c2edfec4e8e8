"""Les graphiques de la page « Indicateurs » : des barres en SVG calculées ici, rendues par le
gabarit (textes échappés), sans aucun script.

Le repère (`viewBox`) fait 360 unités de large, la largeur utile d'un téléphone : à l'écran,
une unité vaut à peu près un pixel CSS, et les textes gardent leur taille lisible. Chaque barre
porte son libellé et sa valeur en texte : la couleur ne dit rien de plus que les mots.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

LARGEUR = 360
COULEUR = "#1d5f8a"  # contraste 6,9:1 sur blanc ; courrier.css la reprend (légende, test)
HAUTEUR_BARRES = 150  # graphique en colonnes : la zone des barres
MARGE_HAUT = 22  # la valeur au-dessus de la plus haute colonne
MARGE_BAS = 26  # les libellés sous les colonnes
PAS_LIBELLE = 30  # largeur qu'il faut à un libellé de semaine (« S49 ») pour ne rien chevaucher
LIGNE = 44  # graphique en barres couchées : une ligne = libellé au-dessus, barre dessous
ZONE_VALEUR = 64  # à droite de la barre couchée la plus longue : sa valeur


@dataclass(frozen=True)
class Texte:
    x: float
    y: float
    texte: str
    ancre: str = "start"  # text-anchor


@dataclass(frozen=True)
class Barre:
    x: float
    y: float
    largeur: float
    hauteur: float


@dataclass(frozen=True)
class Graphique:
    titre: str
    description: str  # toutes les valeurs, en phrase : ce que lit un lecteur d'écran
    hauteur: float
    barres: list[Barre]
    textes: list[Texte]
    ligne_de_base: tuple[float, float, float, float]
    largeur: int = LARGEUR
    couleur: str = COULEUR


def colonnes(titre: str, valeurs: Sequence[tuple[str, int]], unite: str) -> Graphique:
    """Une colonne par valeur (les semaines), libellés sous l'axe, un sur k s'ils sont serrés."""
    n = max(len(valeurs), 1)
    pas = LARGEUR / n
    tous_les = max(1, math.ceil(PAS_LIBELLE / pas))
    plus_haute = max((v for _, v in valeurs), default=0) or 1
    base = MARGE_HAUT + HAUTEUR_BARRES
    barres, textes = [], []
    for i, (libelle, valeur) in enumerate(valeurs):
        hauteur = HAUTEUR_BARRES * valeur / plus_haute
        milieu = pas * i + pas / 2
        barres.append(Barre(pas * i + pas * 0.15, base - hauteur, pas * 0.7, hauteur))
        if pas >= 16 or valeur == plus_haute:
            textes.append(Texte(milieu, base - hauteur - 5, str(valeur), "middle"))
        if (len(valeurs) - 1 - i) % tous_les == 0:  # la semaine en cours toujours nommée
            textes.append(Texte(milieu, base + 18, libelle, "middle"))
    return Graphique(
        titre=titre,
        description=_description(titre, [(lib, f"{v} {unite}") for lib, v in valeurs]),
        hauteur=base + MARGE_BAS,
        barres=barres,
        textes=textes,
        ligne_de_base=(0, base, LARGEUR, base),
    )


def barres_couchees(
    titre: str, valeurs: Sequence[tuple[str, float, str]], maximum: float | None = None
) -> Graphique:
    """Une barre couchée par valeur, son libellé au-dessus, sa valeur écrite au bout.

    `valeurs` : (libellé, valeur, valeur écrite) ; `maximum` fixe l'échelle (100 pour des %).
    """
    plus_grande = maximum or max((v for _, v, _ in valeurs), default=0) or 1
    utile = LARGEUR - ZONE_VALEUR
    barres, textes = [], []
    for i, (libelle, valeur, ecrite) in enumerate(valeurs):
        haut = LIGNE * i
        largeur = utile * max(valeur, 0) / plus_grande
        textes.append(Texte(0, haut + 15, libelle))
        barres.append(Barre(0, haut + 21, largeur, 16))
        textes.append(Texte(largeur + 6, haut + 35, ecrite))
    hauteur = LIGNE * max(len(valeurs), 1) + 4
    return Graphique(
        titre=titre,
        description=_description(titre, [(lib, ecrite) for lib, _, ecrite in valeurs]),
        hauteur=hauteur,
        barres=barres,
        textes=textes,
        ligne_de_base=(0.5, 18, 0.5, hauteur - 4),
    )


def _description(titre: str, valeurs: Sequence[tuple[str, str]]) -> str:
    if not valeurs:
        return f"{titre} : aucune donnée."
    return f"{titre} : " + " ; ".join(f"{lib} : {val}" for lib, val in valeurs) + "."
