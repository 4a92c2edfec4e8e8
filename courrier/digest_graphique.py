"""Le graphique du digest : les courriers reçus chaque jour des 30 derniers, en barres empilées
par catégorie (PNG dessiné avec Pillow)."""

from __future__ import annotations

import io
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from courrier.digest_construction import hors_des_comptes
from courrier.digest_donnees import CourrierDigest
from courrier.digest_libelles import libelle_categorie, sans_accents, une_ligne
from noyau.calendrier import jour_de_paris

GRAPHIQUE_JOURS = 30

# Palette lisible par les daltoniens (Okabe-Ito, complétée), une couleur par rang de volume.
COULEURS = (
    (0, 114, 178),
    (230, 159, 0),
    (0, 158, 115),
    (204, 121, 167),
    (86, 180, 233),
    (213, 94, 0),
)
COULEUR_AUTRES = (150, 150, 150)
CATEGORIES_MONTREES = len(COULEURS)


def _police(taille: int) -> tuple[Any, bool]:
    """DejaVu Sans si le système l'a (accents compris), sinon la police de Pillow, sans accents."""
    from PIL import ImageFont

    try:
        return ImageFont.truetype("DejaVuSans.ttf", taille), True
    except OSError:
        return ImageFont.load_default(size=taille), False


@dataclass(frozen=True)
class _Cadre:
    """La géométrie du dessin, au double de sa taille d'affichage (560 px) : net sur un écran
    de téléphone."""

    police: Any
    accents: bool
    plafond: int
    echelle: int = 2
    largeur: int = 560 * 2
    marge_g: int = 36 * 2
    marge_d: int = 8 * 2
    haut_barres: int = 150 * 2
    haut: int = 12 * 2

    @property
    def bas(self) -> int:
        return self.haut + self.haut_barres


def graphique_volumes(
    courriers: Iterable[CourrierDigest],
    jour: date,
    libelles: Mapping[str, str] | None = None,
) -> bytes | None:
    """Barres empilées : courriers reçus chaque jour des 30 derniers, par catégorie (PNG).

    None quand moins de deux jours ont du courrier : une barre seule n'apprend rien.
    """
    from PIL import Image, ImageDraw

    premier = jour - timedelta(days=GRAPHIQUE_JOURS - 1)
    volumes = _volumes(courriers, premier, jour, libelles or {})
    if len(volumes) < 2:
        return None

    totaux: Counter[str] = Counter()
    for compte in volumes.values():
        totaux.update(compte)
    classement = [libelle for libelle, _ in totaux.most_common()]
    montrees = classement[:CATEGORIES_MONTREES]
    if len(classement) > CATEGORIES_MONTREES:  # la dernière couleur devient « autres »
        montrees = classement[: CATEGORIES_MONTREES - 1]
    couleurs = {libelle: COULEURS[i] for i, libelle in enumerate(montrees)}

    maximum = max(sum(c.values()) for c in volumes.values())
    graduation = max(1, math.ceil(maximum / 4))
    police, accents = _police(11 * 2)
    cadre = _Cadre(police, accents, plafond=graduation * math.ceil(maximum / graduation))
    echelle = cadre.echelle
    lignes_legende = math.ceil((len(montrees) + (len(classement) > len(montrees))) / 2)
    hauteur = 16 * echelle + cadre.haut_barres + 22 * echelle + lignes_legende * 18 * echelle
    image = Image.new("RGB", (cadre.largeur, hauteur), (255, 255, 255))
    dessin = ImageDraw.Draw(image)

    _graduations(dessin, cadre, graduation)
    _barres(dessin, cadre, premier, volumes, montrees, couleurs)
    entrees = [(libelle, couleurs[libelle]) for libelle in montrees]
    if len(classement) > len(montrees):
        entrees.append(("Autres catégories", COULEUR_AUTRES))
    _legende(dessin, cadre, entrees)

    sortie = io.BytesIO()
    image.save(sortie, format="PNG", optimize=True)
    return sortie.getvalue()


def _volumes(
    courriers: Iterable[CourrierDigest], premier: date, jour: date, libelles: Mapping[str, str]
) -> dict[date, Counter[str]]:
    """Par jour de réception à Paris, le nombre de courriers de chaque catégorie."""
    volumes: dict[date, Counter[str]] = {}
    for c in courriers:
        d = jour_de_paris(c.recu_le)
        if premier <= d <= jour and not hors_des_comptes(c):
            volumes.setdefault(d, Counter())[libelle_categorie(c.categorie, libelles)] += 1
    return volumes


def _graduations(dessin: Any, cadre: _Cadre, graduation: int) -> None:
    echelle, bas = cadre.echelle, cadre.bas
    for valeur in range(0, cadre.plafond + 1, graduation):
        y = bas - round(valeur / cadre.plafond * cadre.haut_barres)
        dessin.line(
            [(cadre.marge_g, y), (cadre.largeur - cadre.marge_d, y)],
            fill=(225, 225, 225),
            width=echelle,
        )
        dessin.text(
            (cadre.marge_g - 6 * echelle, y),
            str(valeur),
            fill=(80, 80, 80),
            font=cadre.police,
            anchor="rm",
        )


def _barres(
    dessin: Any,
    cadre: _Cadre,
    premier: date,
    volumes: Mapping[date, Counter[str]],
    montrees: list[str],
    couleurs: Mapping[str, tuple[int, int, int]],
) -> None:
    bas = cadre.bas
    pas = (cadre.largeur - cadre.marge_g - cadre.marge_d) / GRAPHIQUE_JOURS
    for i in range(GRAPHIQUE_JOURS):
        d = premier + timedelta(days=i)
        x0 = cadre.marge_g + i * pas + pas * 0.15
        x1 = cadre.marge_g + (i + 1) * pas - pas * 0.15
        sommet = float(bas)
        compte = volumes.get(d, Counter())
        for libelle in [*montrees, None]:
            if libelle is None:
                n = sum(v for k, v in compte.items() if k not in couleurs)
                couleur = COULEUR_AUTRES
            else:
                n = compte.get(libelle, 0)
                couleur = couleurs[libelle]
            if n:
                hauteur_n = n / cadre.plafond * cadre.haut_barres
                dessin.rectangle([x0, sommet - hauteur_n, x1, sommet - 1], fill=couleur)
                sommet -= hauteur_n
        dernier = i == GRAPHIQUE_JOURS - 1
        if d.weekday() == 0 or dernier:  # les lundis, et le jour même
            dessin.text(
                (x1 + pas * 0.15 if dernier else (x0 + x1) / 2, bas + 4 * cadre.echelle),
                f"{d:%d/%m}",
                fill=(60, 60, 60),
                font=cadre.police,
                anchor="rt" if dernier else "mt",
            )


def _legende(dessin: Any, cadre: _Cadre, entrees: list[tuple[str, tuple[int, int, int]]]) -> None:
    echelle = cadre.echelle
    y_legende = cadre.bas + 22 * echelle
    colonne = (cadre.largeur - cadre.marge_g) // 2
    for k, (libelle, couleur) in enumerate(entrees):
        x = cadre.marge_g + (k % 2) * colonne
        y = y_legende + (k // 2) * 18 * echelle
        dessin.rectangle([x, y + 2 * echelle, x + 10 * echelle, y + 12 * echelle], fill=couleur)
        texte = une_ligne(libelle, 44)
        if not cadre.accents:
            texte = sans_accents(texte)
        dessin.text((x + 15 * echelle, y), texte, fill=(40, 40, 40), font=cadre.police)
