"""Documents isolés (canal scan) et images : PDF, PNG, JPEG, TIFF… reconnus par leurs octets."""

from __future__ import annotations

import io
import math
import re
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from connecteurs.ocr import LecteurOCR, LectureOCR
from courrier.extraction.bureautique import genre_bureautique, lire_bureautique
from courrier.extraction.commun import (
    FORMATS_IMAGE,
    NOMS_FORMATS,
    Lecture,
    assainir,
    extension,
    format_par_signature,
    nombre,
    resultat_depuis,
    seules_les_premieres,
    taille_lisible,
)
from courrier.extraction.pdf import lire_pdf
from noyau.domaine import Limites, PageOCR, ResultatExtraction
from noyau.erreurs import ConnecteurErreur

# Pillow avertit au-delà de ce nombre de pixels et refuse (DecompressionBombError) au-delà du
# double : 240 millions, soit quatre fois la limite par défaut `Limites.pixels_max`, ce qui
# laisse la place de réduire une grande image sans jamais décompresser une bombe.
Image.MAX_IMAGE_PIXELS = 2 * Limites().pixels_max

# Une image plus grande que `pixels_max` est décodée puis réduite si elle tient dans ce
# multiple ; un JPEG se décode directement en réduction (1/2 à 1/8) et coûte bien moins.
FACTEUR_DECODABLE = 2
FACTEUR_DECODABLE_JPEG = 16

EXTENSIONS_FICHIER = {
    "png": "png",
    "jpeg": "jpg",
    "tiff": "tif",
    "gif": "gif",
    "jp2": "jp2",
    "webp": "webp",
    "bmp": "bmp",
}


def extraire_document(
    contenu: bytes,
    nom_fichier: str,
    deposer: Callable[[bytes], str],
    limites: Limites,
    ocr: LecteurOCR,
) -> ResultatExtraction:
    """Lit un document déposé (scan) : jamais d'exception pour un fichier mauvais.

    `deposer` n'est pas appelé : le fichier entier est archivé par l'appelant et un document
    isolé n'a pas de pièce à ranger à part.
    """
    del deposer
    lecture = lire_fichier(contenu, nom_fichier, limites, ocr)
    return assainir(resultat_depuis(lecture, limites))


def lire_fichier(contenu: bytes, nom_fichier: str, limites: Limites, ocr: LecteurOCR) -> Lecture:
    if not contenu:
        return Lecture(echec=True, erreurs=["Le fichier est vide (0 octet) : rien à lire."])
    if len(contenu) > limites.taille_max_piece:
        return Lecture(
            echec=True,
            erreurs=[
                f"Fichier trop volumineux pour être analysé ({taille_lisible(len(contenu))}, "
                f"limite {taille_lisible(limites.taille_max_piece)}) : conservé, non lu."
            ],
        )
    format_ = format_par_signature(contenu)
    if format_ == "pdf":
        return lire_pdf(contenu, limites, ocr)
    if format_ in FORMATS_IMAGE:
        return lire_image(contenu, format_, limites, ocr)
    genre = genre_bureautique(contenu, extension(nom_fichier), "")
    if genre is not None:
        return lire_bureautique(contenu, genre, limites, ocr)
    if format_ is not None:
        description = NOMS_FORMATS.get(format_, format_)
    elif extension(nom_fichier):
        description = f"fichier .{extension(nom_fichier)}"
    else:
        description = "type inconnu"
    return Lecture(
        echec=True,
        erreurs=[f"Format de fichier non pris en charge ({description}) : conservé, non lu."],
    )


def dimensions_image(octets: bytes) -> tuple[int, int] | None:
    """Largeur et hauteur annoncées, sans décoder l'image ; None si illisible."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(octets)) as image:
                return image.size
    except Image.DecompressionBombError:
        # Plus grande que ce que Pillow accepte d'ouvrir : certainement pas une vignette.
        return (1 << 16, 1 << 16)
    except Exception:
        # Pillow lève des erreurs variées (SyntaxError, struct.error…) sur des en-têtes
        # forgés ; une image illisible est simplement « non mesurable ».
        return None


def lire_image(octets: bytes, format_: str, limites: Limites, ocr: LecteurOCR) -> Lecture:
    lecture = Lecture(methode="ocr", pages=1)
    with tempfile.TemporaryDirectory(prefix="courrier-image-") as nom_dossier:
        dossier = Path(nom_dossier)
        source = dossier / f"image.{EXTENSIONS_FICHIER.get(format_, 'img')}"
        source.write_bytes(octets)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image = Image.open(source)
        except Image.DecompressionBombError as e:
            return _refus_bombe(lecture, str(e))
        except Exception as e:
            # UnidentifiedImageError, OSError, SyntaxError, struct.error… selon le format.
            return _illisible(lecture, e)
        with image:
            multi = format_ == "tiff" and _nb_images(image) > 1
            nb_images = _nb_images(image) if multi else 1
            lecture.pages = nb_images
            a_lire = min(nb_images, max(limites.pages_max_ocr, 1))
            if nb_images > a_lire:
                lecture.erreurs.append(
                    seules_les_premieres(a_lire, nb_images, "image", "lue", "le fichier")
                )
            textes: list[str] = []
            confiances: list[float] = []
            lues = 0
            for rang in range(a_lire):
                prefixe = f"Image {rang + 1} : " if multi else ""
                try:
                    image.seek(rang)
                except (EOFError, OSError, ValueError) as e:
                    lecture.erreurs.append(f"{prefixe}image illisible ({e}).")
                    continue
                resultat = _ocr_image(image, source, dossier, rang, multi, format_, limites, ocr)
                if isinstance(resultat, str):
                    lecture.erreurs.append(prefixe + resultat)
                    continue
                lues += 1
                textes.append(resultat.texte.strip("\n"))
                if resultat.confiance is not None:
                    confiances.append(resultat.confiance)
                lecture.pages_ocr.append(page_ocr(rang + 1, resultat))
    lecture.texte = "\n\n".join(t for t in textes if t).strip()
    lecture.confiance = sum(confiances) / len(confiances) if confiances else None
    if not lues:
        lecture.echec = True
        lecture.methode = "aucune"
    elif not lecture.texte:
        lecture.erreurs.append("Aucun texte n'a été reconnu dans cette image.")
    return lecture


def _nb_images(image: Image.Image) -> int:
    try:
        return max(int(getattr(image, "n_frames", 1)), 1)
    except Exception:
        return 1


def _refus_bombe(lecture: Lecture, message: str) -> Lecture:
    lecture.echec = True
    lecture.methode = "aucune"
    # Pillow refuse avant de rendre la taille ; son message donne le nombre de pixels.
    trouve = re.search(r"\((\d+) pixels\)", message)
    annonce = f" ({nombre(int(trouve.group(1)))} pixels annoncés)" if trouve else ""
    lecture.erreurs.append(
        f"Image trop grande pour être décompressée sans risque{annonce}, "
        "peut-être une bombe de décompression : conservée, non lue."
    )
    return lecture


def _illisible(lecture: Lecture, erreur: BaseException) -> Lecture:
    lecture.echec = True
    lecture.methode = "aucune"
    detail = str(erreur).strip().splitlines()[0][:200] if str(erreur).strip() else ""
    lecture.erreurs.append(
        "Image illisible ou abîmée" + (f" ({detail})" if detail else "") + " : conservée, non lue."
    )
    return lecture


def _dpi(image: Image.Image) -> float | None:
    dpi = image.info.get("dpi")
    try:
        valeur = float(dpi[0]) if isinstance(dpi, tuple) else float(dpi) if dpi else None
    except (TypeError, ValueError):
        return None
    return valeur if valeur and 30 <= valeur <= 4800 else None


def _ocr_image(
    image: Image.Image,
    source: Path,
    dossier: Path,
    rang: int,
    multi: bool,
    format_: str,
    limites: Limites,
    ocr: LecteurOCR,
) -> LectureOCR | str:
    """Lecture d'une image (ou d'une image d'un TIFF), ou la raison de l'échec."""
    largeur, hauteur = image.size
    pixels = largeur * hauteur
    if pixels <= 0:
        return "image vide (0 pixel)."
    facteur_max = FACTEUR_DECODABLE_JPEG if format_ == "jpeg" else FACTEUR_DECODABLE
    if pixels > facteur_max * limites.pixels_max:
        return (
            f"Image trop grande pour être décompressée sans risque ({nombre(largeur)} × "
            f"{nombre(hauteur)} pixels), peut-être une bombe de décompression : "
            "conservée, non lue."
        )
    if not multi and pixels <= limites.pixels_max:
        # Tesseract lit le fichier d'origine : rien à décoder ni à ré-encoder ici. Sans DPI
        # dans le fichier, il l'estime seul ; imposer 300 dpi n'aide pas (mesuré sur
        # ocrmypdf__typewriter.png : confiance 82,1 sans, 81,6 avec, même texte).
        try:
            return ocr.lire(source, None)
        except ConnecteurErreur as e:
            premier_echec = str(e)
        # Format que Tesseract (Leptonica) ne lit pas : on passe par une image convertie.
        converti = _convertir(image, dossier, rang, limites)
        if isinstance(converti, str):
            return premier_echec
    else:
        converti = _convertir(image, dossier, rang, limites)
        if isinstance(converti, str):
            return converti
    chemin, dpi = converti
    try:
        return ocr.lire(chemin, dpi)
    except ConnecteurErreur as e:
        return str(e)
    finally:
        chemin.unlink(missing_ok=True)


def page_ocr(numero: int, lu: LectureOCR) -> PageOCR:
    confiance = round(lu.confiance, 1) if lu.confiance is not None else None
    return PageOCR(numero=numero, confiance=confiance, angle=lu.angle, mots=lu.mots)


def _convertir(
    image: Image.Image, dossier: Path, rang: int, limites: Limites
) -> tuple[Path, int | None] | str:
    """Image en niveaux de gris, réduite sous `pixels_max`, écrite en PGM pour Tesseract."""
    largeur, hauteur = image.size
    reduction = min(1.0, math.sqrt(limites.pixels_max / (largeur * hauteur)))
    cible = (max(1, int(largeur * reduction)), max(1, int(hauteur * reduction)))
    dpi_origine = _dpi(image)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            if image.format == "JPEG" and reduction < 1.0:
                # Décodage JPEG directement réduit (DCT) : jamais l'image pleine en mémoire.
                image.draft("L", cible)
            gris = image.convert("L")
        if gris.size != cible:
            reduite = gris.resize(cible, Image.Resampling.LANCZOS)
            gris.close()
            gris = reduite
    except Image.DecompressionBombError:
        return "Image trop grande pour être décompressée sans risque : conservée, non lue."
    except (OSError, ValueError, MemoryError, SyntaxError, UnidentifiedImageError) as e:
        detail = str(e).strip()[:200]
        return f"Image illisible ou abîmée ({detail}) : conservée, non lue."
    chemin = dossier / f"image-{rang + 1}.pgm"
    dpi = round(dpi_origine * gris.size[0] / largeur) if dpi_origine else None
    try:
        gris.save(chemin)
    except (OSError, ValueError) as e:
        return f"l'image n'a pas pu être préparée pour l'OCR ({e})."
    finally:
        gris.close()
    return chemin, dpi
