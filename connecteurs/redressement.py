"""Redressement des pages légèrement inclinées avant l'OCR (paquet `deskew`).

`deskew.determine_skew` cherche, par transformée de Hough sur les contours (scikit-image),
l'angle dominant des lignes de texte : c'est la méthode d'OCRmyPDF/Leptonica, tenue à jour,
sans code de géométrie écrit ici. Le calcul se fait sur une vignette : l'angle d'une ligne
ne dépend pas de la résolution, et le coût tombe d'un ordre de grandeur (voir
preuves/ocr_redressement.py pour la mesure).
"""

from __future__ import annotations

import warnings
from pathlib import Path

from PIL import Image

# Sous ce seuil la page est « droite » : Tesseract lit sans mal un texte incliné d'un demi-degré,
# et la faire tourner coûterait une ré-écriture de l'image et un léger flou d'interpolation.
ANGLE_MIN = 0.5
# Au-delà, ce n'est plus une page posée de travers sur la vitre mais une figure, un tampon
# ou une mesure absurde : on ne tourne rien (les quarts de tour restent à l'OSD de Tesseract).
ANGLE_MAX = 15.0
# Plus grand côté de la vignette analysée : ~1 000 px gardent les lignes d'une page A4
# nettes pour Hough (corps 10 à 12 pt ≈ 12 px) et ramènent l'analyse à un dixième de seconde.
COTE_VIGNETTE = 1000
# Une image plus petite que ça n'a pas assez de lignes pour qu'un angle veuille dire quelque chose.
COTE_MIN = 64
# Résolution angulaire de la recherche, en degrés.
PAS_DEGRES = 0.25


def inclinaison(image: Image.Image) -> float:
    """Angle (degrés, sens trigonométrique) dont il faut tourner l'image pour la redresser.

    0.0 quand la page est droite, trop petite, sans ligne, ou que l'angle trouvé sort de
    [ANGLE_MIN, ANGLE_MAX] : ne rien tourner est toujours sans risque.
    """
    import numpy as np
    from deskew import determine_skew

    if min(image.size) < COTE_MIN:
        return 0.0
    vignette = image.convert("L")
    vignette.thumbnail((COTE_VIGNETTE, COTE_VIGNETTE), Image.Resampling.BILINEAR)
    tableau = np.asarray(vignette, dtype=np.float64) / 255.0
    if float(tableau.std()) < 0.01:
        return 0.0  # page unie (blanche, noire) : aucun contour, rien à mesurer
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Sans bornes : borner ferait rendre un pic secondaire quand le dominant est hors bornes.
        trouve = determine_skew(tableau, min_deviation=PAS_DEGRES)
    if trouve is None:
        return 0.0
    angle = float(trouve)
    if not ANGLE_MIN <= abs(angle) <= ANGLE_MAX:
        return 0.0
    return round(angle, 2)


def redresser(chemin: Path, sortie: Path) -> float:
    """Écrit dans `sortie` l'image de `chemin` redressée ; rend l'angle, 0.0 si rien n'est fait
    (et `sortie` n'est alors pas écrit)."""
    with Image.open(chemin) as image:
        angle = inclinaison(image)
        if not angle:
            return 0.0
        gris = image.convert("L")
        dpi = image.info.get("dpi")
    # Coins découverts en blanc : du noir y ferait des bords que Tesseract lit comme du texte.
    tournee = gris.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    # La résolution d'origine suit (Tesseract s'en sert quand l'appelant n'en donne pas) ; une
    # compression faible : le fichier ne vit que le temps de la lecture.
    options = {"dpi": dpi} if isinstance(dpi, tuple) else {}
    tournee.save(sortie, format="PNG", compress_level=1, **options)
    return angle
