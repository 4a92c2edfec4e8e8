"""Les pages d'une lettre numérisée, rendues en PNG côté serveur (PDF, TIFF, JPEG, PNG…).

Le navigateur ne reçoit jamais le fichier d'origine pour l'afficher : seulement une image
PNG que nous avons produite, de taille bornée.
"""

from __future__ import annotations

import io

import pypdfium2
from PIL import Image, ImageSequence

from noyau.erreurs import CourrierErreur

LARGEUR_MAX = 1400  # assez pour lire une lettre A4 sur un écran, léger sur un téléphone
PAGES_MAX = 30
RESOLUTION_PDF = 150
PIXELS_MAX = 60_000_000  # comme Limites.pixels_max : une page A4 à 600 ppp en a 35 millions


class ImageErreur(CourrierErreur):
    """La page demandée ne peut pas être montrée en image."""


def est_pdf(contenu: bytes) -> bool:
    return contenu[:1024].lstrip().startswith(b"%PDF")


def nombre_de_pages(contenu: bytes) -> int:
    try:
        if est_pdf(contenu):
            document = pypdfium2.PdfDocument(contenu)
            try:
                return min(len(document), PAGES_MAX)
            finally:
                document.close()
        with Image.open(io.BytesIO(contenu)) as image:
            return min(getattr(image, "n_frames", 1), PAGES_MAX)
    except Exception:
        return 0


def echelle_pdf(largeur_pts: float, hauteur_pts: float) -> float:
    """150 ppp, sans jamais dépasser la taille d'affichage (LARGEUR_MAX × 2 LARGEUR_MAX)."""
    return min(
        RESOLUTION_PDF / 72,
        LARGEUR_MAX / max(largeur_pts, 1.0),
        2 * LARGEUR_MAX / max(hauteur_pts, 1.0),
    )


def page_png(contenu: bytes, numero: int) -> bytes:
    """La page `numero` (à partir de 1) en PNG ; ImageErreur si absente ou illisible."""
    if not 1 <= numero <= PAGES_MAX:
        raise ImageErreur(f"La page {numero} n'est pas montrée.")
    try:
        if est_pdf(contenu):
            document = pypdfium2.PdfDocument(contenu)
            try:
                if numero > len(document):
                    raise ImageErreur(f"Le document n'a pas de page {numero}.")
                page = document[numero - 1]
                # Une affiche de 2 m rendue à 150 ppp ferait des centaines de mégapixels dans
                # le processus de la page web : on ne rend jamais plus grand que l'affichage.
                image = page.render(scale=echelle_pdf(*page.get_size())).to_pil()
                page.close()
            finally:
                document.close()
        else:
            with Image.open(io.BytesIO(contenu)) as source:
                images = ImageSequence.Iterator(source)
                try:
                    cadre = images[numero - 1]
                except IndexError:
                    raise ImageErreur(f"Le document n'a pas de page {numero}.") from None
                # La taille est dans l'en-tête : une image démesurée n'est pas décodée dans le
                # processus de la page web (l'original reste téléchargeable).
                if cadre.width * cadre.height > PIXELS_MAX:
                    raise ImageErreur(
                        f"La page {numero} est trop grande pour être affichée "
                        f"({cadre.width} × {cadre.height} pixels) : téléchargez l'original."
                    )
                image = cadre.copy()
        if image.mode not in ("L", "RGB"):
            image = image.convert("RGB")
        image.thumbnail((LARGEUR_MAX, LARGEUR_MAX * 2))
        sortie = io.BytesIO()
        image.save(sortie, format="PNG", optimize=False)
        return sortie.getvalue()
    except ImageErreur:
        raise
    except Exception as e:  # fichier abîmé, bombe de décompression refusée par Pillow…
        raise ImageErreur(
            f"La page {numero} ne peut pas être affichée ({type(e).__name__})."
        ) from e
