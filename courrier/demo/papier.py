"""Pages imprimées puis passées au copieur. Une `Feuille` dessine en millimètres et en points ;
en mode « à blanc » elle ne dessine rien et note seulement le texte (pour `texte_attendu`).
Seul Pillow sert ; les polices DejaVu (paquet `fonts-dejavu-core`) ne sont nécessaires que pour
dessiner."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image, ImageFont

POLICES = Path("/usr/share/fonts/truetype/dejavu")

FAMILLES = {
    "sans": "DejaVuSans.ttf",
    "sans-gras": "DejaVuSans-Bold.ttf",
    "sans-italique": "DejaVuSans-Oblique.ttf",
    "serif": "DejaVuSerif.ttf",
    "serif-gras": "DejaVuSerif-Bold.ttf",
}


@cache
def _police(famille: str, taille_px: int) -> ImageFont.FreeTypeFont:
    from PIL import ImageFont

    chemin = POLICES / FAMILLES[famille]
    if not chemin.exists():
        raise SystemExit(
            f"Police introuvable : {chemin}. Installez le paquet fonts-dejavu-core pour régénérer "
            "le courrier de démonstration."
        )
    return ImageFont.truetype(str(chemin), taille_px)


class Feuille:
    """Une page A4 blanche où l'on pose du texte (coordonnées en mm, tailles en points)."""

    def __init__(self, dpi: int = 300, dessiner: bool = True) -> None:
        self.dpi = dpi
        self.dessiner = dessiner
        self.trace: list[str] = []
        self.image: Image.Image | None = None
        if dessiner:
            from PIL import Image, ImageDraw

            self.image = Image.new("L", (self.px(210), self.px(297)), 255)
            self.crayon = ImageDraw.Draw(self.image)

    def px(self, mm: float) -> int:
        return round(mm / 25.4 * self.dpi)

    def police(self, famille: str, pt: float) -> ImageFont.FreeTypeFont:
        return _police(famille, round(pt / 72 * self.dpi))

    def largeur(self, texte: str, famille: str, pt: float) -> float:
        """Largeur du texte en mm."""
        return self.police(famille, pt).getlength(texte) / self.dpi * 25.4

    def texte(
        self,
        x: float,
        y: float,
        texte: str,
        famille: str = "sans",
        pt: float = 12,
        encre: int = 20,
        droite: bool = False,
        noter: bool = True,
    ) -> None:
        """Une ligne dont le haut est en y ; `droite` aligne sa fin sur x."""
        if noter:
            self.trace.append(texte)
        if not self.dessiner:
            return
        ancre = "ra" if droite else "la"
        self.crayon.text(
            (self.px(x), self.px(y)), texte, font=self.police(famille, pt), fill=encre, anchor=ancre
        )

    def lignes(
        self,
        x: float,
        y: float,
        lignes: Iterable[str],
        famille: str = "sans",
        pt: float = 12,
        interligne: float = 1.3,
    ) -> float:
        for ligne in lignes:
            self.texte(x, y, ligne, famille, pt)
            y += pt * 0.3528 * interligne
        return y

    def paragraphe(
        self,
        x: float,
        y: float,
        largeur: float,
        texte: str,
        famille: str = "sans",
        pt: float = 12,
        interligne: float = 1.35,
        retrait: float = 0,
    ) -> float:
        """Un paragraphe coupé aux mots, aligné à gauche ; rend le y sous sa dernière ligne."""
        self.trace.append(texte)
        pas = pt * 0.3528 * interligne
        if not self.dessiner:
            return y + pas
        lignes: list[str] = []
        courante = ""
        for mot in texte.split():
            essai = f"{courante} {mot}".strip()
            dispo = largeur - (retrait if not lignes else 0)
            if courante and self.largeur(essai, famille, pt) > dispo:
                lignes.append(courante)
                courante = mot
            else:
                courante = essai
        lignes.append(courante)
        for rang, ligne in enumerate(lignes):
            self.texte(x + (retrait if rang == 0 else 0), y, ligne, famille, pt, noter=False)
            y += pas
        return y

    def trait(
        self, x1: float, y1: float, x2: float, y2: float, epaisseur: float = 0.3, encre: int = 40
    ) -> None:
        if self.dessiner:
            self.crayon.line(
                [(self.px(x1), self.px(y1)), (self.px(x2), self.px(y2))],
                fill=encre,
                width=max(1, self.px(epaisseur)),
            )

    def cadre(self, x1: float, y1: float, x2: float, y2: float, epaisseur: float = 0.3) -> None:
        if self.dessiner:
            self.crayon.rectangle(
                [self.px(x1), self.px(y1), self.px(x2), self.px(y2)],
                outline=40,
                width=max(1, self.px(epaisseur)),
            )

    def signature(self, x: float, y: float, graine: int, largeur: float = 45) -> None:
        """Un paraphe à l'encre : une courbe lisse tirée au hasard (graine fixe)."""
        if not self.dessiner:
            return
        rng = random.Random(graine)
        termes = [(rng.uniform(2, 6), rng.uniform(0, 6.3), rng.uniform(1.5, 4)) for _ in range(3)]
        points = []
        for i in range(240):
            t = i / 239
            dy = sum(a * math.sin(f * t * 6.3 + p) for f, p, a in termes)
            dx = 2.5 * math.sin(t * 40)
            points.append((self.px(x + t * largeur + dx), self.px(y + 8 + dy)))
        self.crayon.line(points, fill=35, width=self.px(0.45), joint="curve")


def numeriser(
    image: Image.Image | None, graine: int, angle: float, bords: bool = True
) -> Image.Image:
    """Ce que fait un copieur : un peu de flou, un léger biais, du grain dans l'encre, des
    poussières, l'ombre du bord de la vitre. Le fond reste blanc (suppression de fond)."""
    from PIL import Image, ImageChops, ImageDraw, ImageFilter

    assert image is not None, "feuille dessinée attendue"
    rng = random.Random(graine)
    largeur, hauteur = image.size
    image = image.filter(ImageFilter.GaussianBlur(0.6 * image.width / 2480))
    image = image.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255)
    grain = Image.frombytes("L", image.size, rng.randbytes(largeur * hauteur))
    image = ImageChops.add(image, grain.point(lambda v: v // 11))
    crayon = ImageDraw.Draw(image)
    for _ in range(rng.randint(120, 220)):
        x, y = rng.randrange(largeur), rng.randrange(hauteur)
        r = rng.choice((1, 1, 1, 2, 2, 3))
        crayon.ellipse([x - r, y - r, x + r, y + r], fill=rng.randint(70, 190))
    if bords:
        ombre = round(0.006 * largeur)
        for i in range(ombre):
            crayon.line([(i, 0), (i, hauteur)], fill=round(110 + 140 * i / ombre))
    return image
