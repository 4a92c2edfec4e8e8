"""Les PDF ordinaires que fabriquent la démonstration, les preuves et les tests : pages de texte
et pages d'images numérisées, écrits par fpdf2, ici seulement.

Mêmes octets à chaque appel : la date de création est toujours donnée (fpdf2 prendrait
l'heure, et l'identifiant /ID qu'il calcule en dépend) et le producteur est nommé (fpdf2 y
mettrait sa version : une mise à jour changerait les fichiers livrés).

Polices standard du PDF (Helvetica…) en WinAnsi : rien à embarquer, et une couche texte que
pdfplumber lit telle quelle. Un caractère que WinAnsi n'a pas devient « ? » plutôt que de faire
échouer la fabrication.

La lettre de réponse (`courrier/lettre.py`) et la feuille séparatrice (`connecteurs/lots.py`) ont
leur propre mise en page, faite directement avec fpdf2.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from fpdf import FPDF

if TYPE_CHECKING:
    from PIL import Image

ENCODAGE = "windows-1252"
A4 = (595.0, 842.0)  # points, arrondis comme les écrivaient les anciens PDF faits main
LETTRE_US = (612.0, 792.0)


@dataclass(frozen=True)
class Metadonnees:
    """Le dictionnaire d'information du PDF."""

    cree_le: datetime = datetime(2026, 11, 19, tzinfo=UTC)
    producteur: str = "Courrier"
    titre: str | None = None
    auteur: str | None = None


def document(meta: Metadonnees | None = None, format_: tuple[float, float] = A4) -> FPDF:
    """Un document vide, en points, sans saut de page automatique : on place tout soi-même
    (`text(x, y)` : y compté depuis le haut de la page, jusqu'à la ligne de base)."""
    meta = meta or Metadonnees()
    pdf = FPDF(unit="pt", format=format_)
    pdf.core_fonts_encoding = ENCODAGE
    pdf.set_auto_page_break(False)
    pdf.set_margin(0)
    pdf.set_creation_date(meta.cree_le)
    pdf.set_producer(meta.producteur)
    if meta.titre:
        pdf.set_title(meta.titre)
    if meta.auteur:
        pdf.set_author(meta.auteur)
    return pdf


def octets(pdf: FPDF) -> bytes:
    return bytes(pdf.output())


def lisible(texte: str) -> str:
    """Le texte réduit à ce que les polices standard savent écrire (WinAnsi)."""
    return texte.replace("’", "'").encode(ENCODAGE, "replace").decode(ENCODAGE)


def pdf_de_texte(
    pages: Sequence[Sequence[str]],
    *,
    taille: float = 11,
    interligne: float | None = None,
    marge: float = 72,
    premiere_ligne: float = 72,
    format_: tuple[float, float] = A4,
    meta: Metadonnees | None = None,
) -> bytes:
    """Un PDF avec couche texte (Helvetica) : une page par élément de `pages`, une ligne par
    chaîne ; `premiere_ligne` : distance du haut de la page à la ligne de base de la première."""
    pdf = document(meta, format_)
    pas = interligne if interligne is not None else taille * 1.25
    for lignes in pages:
        pdf.add_page()
        pdf.set_font("Helvetica", size=taille)
        for rang, ligne in enumerate(lignes):
            if ligne:
                pdf.text(marge, premiere_ligne + rang * pas, lisible(ligne))
    return octets(pdf)


def pdf_d_images(
    images: Sequence[bytes | Image.Image],
    dpi: float,
    *,
    format_: tuple[float, float] | None = None,
    meta: Metadonnees | None = None,
) -> bytes:
    """Des pages numérisées, une image par page et rien d'autre (pas de couche texte).

    Un JPEG est recopié tel quel (DCTDecode) : le PDF montre exactement les pixels du
    copieur ; une image PIL ou un PNG est compressé sans perte. La page mesure l'image à `dpi`,
    sauf si `format_` (en points) est donné : l'image la couvre alors entièrement."""
    pdf = document(meta)
    for image in images:
        source = io.BytesIO(image) if isinstance(image, bytes) else image
        largeur, hauteur = _dimensions(source)
        page = format_ or (largeur * 72 / dpi, hauteur * 72 / dpi)
        pdf.add_page(format=page)
        pdf.image(source, x=0, y=0, w=page[0], h=page[1])
    return octets(pdf)


def _dimensions(image: io.BytesIO | Image.Image) -> tuple[int, int]:
    if isinstance(image, io.BytesIO):
        from PIL import Image

        with Image.open(image) as ouverte:
            taille = ouverte.size
        image.seek(0)
        return taille
    return image.size
