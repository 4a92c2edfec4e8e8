"""PDF : couche texte avec pdfplumber, pages sans texte rasterisées (pypdfium2) puis OCR."""

from __future__ import annotations

import contextlib
import io
import logging
import math
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pdfplumber
import pypdfium2 as pdfium
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

from connecteurs.ocr import LecteurOCR, LectureOCR
from courrier.extraction.commun import Lecture, nombre, seules_les_premieres
from noyau.domaine import Limites, PageOCR
from noyau.erreurs import ConnecteurErreur

# pdfminer écrit un avertissement par objet cassé : du bruit pour un fichier hostile.
logging.getLogger("pdfminer").setLevel(logging.ERROR)

DPI_OCR = 300
# Moins de caractères que cela sur une page : pas de vraie couche texte (tampon, numéro…).
CARACTERES_MIN_COUCHE_TEXTE = 20
# Police des couches texte invisibles posées par Tesseract/OCRmyPDF : un OCR d'autrui, souvent
# médiocre (corpus : graph_ocred.pdf), que notre OCR en français remplace.
POLICE_OCR_EXISTANT = "GlyphLessFont"
_CID = re.compile(r"\(cid:\d+\)")


def _est_chiffre(erreur: BaseException) -> bool:
    vues: list[BaseException] = [erreur, *[a for a in erreur.args if isinstance(a, BaseException)]]
    if erreur.__cause__ is not None:
        vues.append(erreur.__cause__)
    for e in vues:
        if isinstance(e, PDFPasswordIncorrect | PDFEncryptionError):
            return True
        if "password" in str(e).lower():
            return True
    return False


# Messages de pdfium et pdfminer traduits pour la secrétaire ; les autres restent tels quels.
_TRADUCTIONS = {
    "data format error": "structure du fichier invalide ou incomplète",
    "file access error": "fichier inaccessible",
    "page not found or content error": "page introuvable ou contenu invalide",
    "unknown error": "erreur inconnue",
    "no /root object": "objet racine absent, ce n'est peut-être pas un PDF",
    "startxref": "table des objets introuvable",
    "unexpected eof": "fin de fichier inattendue",
}


def _detail(erreur: BaseException) -> str:
    interne = next((a for a in erreur.args if isinstance(a, BaseException)), None)
    texte = str(interne or erreur).strip()
    minuscule = texte.lower()
    for anglais, francais in _TRADUCTIONS.items():
        if anglais in minuscule:
            return francais
    if not texte:
        return "structure invalide"
    return texte.splitlines()[0][:200]


def _annonce_chiffrement(octets: bytes) -> bool:
    return b"/Encrypt" in octets[-65536:] or b"/Encrypt" in octets[:65536]


def lire_pdf(octets: bytes, limites: Limites, ocr: LecteurOCR) -> Lecture:
    lecture = Lecture()
    plumber: Any = None
    document: pdfium.PdfDocument | None = None
    erreur_plumber: BaseException | None = None
    erreur_pdfium: BaseException | None = None

    try:
        document = pdfium.PdfDocument(octets)
    except (pdfium.PdfiumError, ValueError, OSError) as e:
        erreur_pdfium = e
    try:
        nb_lues = limites.pages_max_texte
        plumber = pdfplumber.open(io.BytesIO(octets), pages=list(range(1, nb_lues + 1)))
        _ = plumber.pages  # le parcours de l'arbre des pages révèle les PDF cassés
    except Exception as e:
        # pdfminer lève toutes sortes d'exceptions (PSEOF, KeyError, TypeError…) sur un fichier
        # cassé ; l'erreur est rapportée, et pypdfium2 peut encore lire le document.
        erreur_plumber = e
        if plumber is not None:
            _fermer(plumber)
        plumber = None

    try:
        if document is None and plumber is None:
            lecture.echec = True
            erreurs = [e for e in (erreur_pdfium, erreur_plumber) if e is not None]
            if any("security" in str(e).lower() for e in erreurs):
                lecture.erreurs.append(
                    "PDF chiffré avec une méthode non prise en charge : conservé tel quel, "
                    "texte non lu."
                )
            elif any(_est_chiffre(e) for e in erreurs) or _annonce_chiffrement(octets):
                lecture.erreurs.append(
                    "PDF protégé par un mot de passe : le texte ne peut pas être lu sans lui ; "
                    "conservé tel quel."
                )
            else:
                lecture.erreurs.append(
                    f"PDF illisible ou tronqué : {_detail(erreurs[0])} ; "
                    "conservé tel quel, texte non lu."
                )
            return lecture
        _lire_pages(octets, plumber, document, limites, ocr, lecture)
        if erreur_plumber is not None and document is not None and lecture.texte.strip():
            lecture.erreurs.append(
                "PDF partiellement abîmé : le texte a été lu par un second lecteur, "
                "la mise en page peut en souffrir."
            )
        return lecture
    finally:
        if plumber is not None:
            _fermer(plumber)
        if document is not None:
            document.close()


def _fermer(plumber: Any) -> None:
    with contextlib.suppress(Exception):
        plumber.close()


@dataclass
class _Pages:
    """Ce que la lecture des pages d'un PDF a trouvé, page après page."""

    textes: list[str] = field(default_factory=list)
    confiances: list[float] = field(default_factory=list)
    texte: int = 0  # pages lues par leur couche de texte
    ocr: int = 0  # pages passées à l'OCR
    sans_ocr: int = 0  # pages sans texte laissées de côté, la limite d'OCR atteinte
    en_erreur: list[int] = field(default_factory=list)
    echecs_ocr: dict[str, list[int]] = field(default_factory=dict)  # raison → pages


def _lire_pages(
    octets: bytes,
    plumber: Any,
    document: pdfium.PdfDocument | None,
    limites: Limites,
    ocr: LecteurOCR,
    lecture: Lecture,
) -> None:
    if document is not None:
        total = len(document)
    else:
        total = len(plumber.pages)
        if total >= limites.pages_max_texte:
            total = _compter_pages(octets, total)
    lecture.pages = total
    a_lire = min(total, limites.pages_max_texte)
    if total > a_lire:
        lecture.erreurs.append(seules_les_premieres(a_lire, total, "page", "lue", "le document"))

    pages = _Pages()
    with tempfile.TemporaryDirectory(prefix="courrier-pdf-") as dossier:
        for i in range(a_lire):
            _lire_une_page(i, plumber, document, Path(dossier), limites, ocr, pages, lecture)
    _conclure(pages, a_lire, limites, lecture)


def _lire_une_page(
    i: int,
    plumber: Any,
    document: pdfium.PdfDocument | None,
    dossier: Path,
    limites: Limites,
    ocr: LecteurOCR,
    pages: _Pages,
    lecture: Lecture,
) -> None:
    texte_lu, police_ocr = _texte_de_page(plumber, document, i)
    texte = texte_lu or ""
    if texte_lu is None and (document is None or pages.ocr >= limites.pages_max_ocr):
        # Page cassée que l'OCR ne rattrapera pas : elle est perdue, on le dit.
        pages.en_erreur.append(i + 1)
    if _couche_texte_utile(texte) and not police_ocr:
        pages.textes.append(texte)
        pages.texte += 1
        return
    if document is None or pages.ocr >= limites.pages_max_ocr:
        if document is None:
            pages.echecs_ocr.setdefault(
                "le PDF ne peut pas être rendu en image pour l'OCR.", []
            ).append(i + 1)
        elif not texte.strip():
            pages.sans_ocr += 1
        pages.textes.append(texte)
        if texte.strip():
            pages.texte += 1
        return
    pages.ocr += 1
    resultat = _ocr_page(document, i, dossier, limites, ocr)
    if isinstance(resultat, str):
        pages.echecs_ocr.setdefault(resultat, []).append(i + 1)
        pages.textes.append(texte)
        return
    lu, confiance = resultat.texte, resultat.confiance
    if police_ocr and not lu.strip():
        # Notre OCR ne trouve rien là où un autre avait mis du texte : on garde le sien.
        pages.textes.append(texte)
        return
    pages.textes.append(lu)
    if confiance is not None:
        pages.confiances.append(confiance)
    lecture.pages_ocr.append(
        PageOCR(
            numero=i + 1,
            confiance=round(confiance, 1) if confiance is not None else None,
            angle=resultat.angle,
            mots=resultat.mots,
        )
    )


def _conclure(pages: _Pages, a_lire: int, limites: Limites, lecture: Lecture) -> None:
    """Le texte, la méthode, la confiance et les raisons écrites, une fois les pages lues."""
    if pages.en_erreur:
        lecture.erreurs.append(f"Texte illisible sur {_liste_pages(pages.en_erreur)}.")
    for raison, numeros in pages.echecs_ocr.items():
        lecture.erreurs.append(f"{_liste_pages(numeros).capitalize()} : {raison}")
    if pages.sans_ocr:
        sans = (
            "1 page sans texte n'a pas été passée"
            if pages.sans_ocr == 1
            else f"{nombre(pages.sans_ocr)} pages sans texte n'ont pas été passées"
        )
        lecture.erreurs.append(
            f"{sans} à l'OCR (limite de {nombre(limites.pages_max_ocr)} par document)."
        )
    lecture.texte = "\n\n".join(t.strip("\n") for t in pages.textes).strip()
    if pages.ocr and pages.texte:
        lecture.methode = "pdf+ocr"
    elif pages.ocr:
        lecture.methode = "ocr"
    elif pages.texte:
        lecture.methode = "pdf"
    confiances = pages.confiances
    lecture.confiance = sum(confiances) / len(confiances) if confiances else None
    if not lecture.texte.strip() and a_lire:
        lecture.erreurs.append("Aucun texte n'a été trouvé dans ce PDF (pages blanches ?).")
    if a_lire == 0:
        lecture.echec = True
        lecture.erreurs.append("Le PDF ne contient aucune page.")


def _liste_pages(pages: list[int]) -> str:
    if len(pages) == 1:
        return f"la page {pages[0]}"
    liste = ", ".join(str(n) for n in pages[:20]) + ("…" if len(pages) > 20 else "")
    return f"les pages {liste}"


def _couche_texte_utile(texte: str) -> bool:
    utile = texte.strip()
    if len(utile) < CARACTERES_MIN_COUCHE_TEXTE:
        return False
    # Police sans table Unicode : pdfminer rend « (cid:42) » pour chaque glyphe.
    illisible = sum(len(m) for m in _CID.findall(utile))
    return illisible < len(utile) / 2


def _compter_pages(octets: bytes, minimum: int) -> int:
    try:
        with pdfplumber.open(io.BytesIO(octets)) as complet:
            return len(complet.pages)
    except Exception:
        return minimum


def _texte_de_page(
    plumber: Any, document: pdfium.PdfDocument | None, index: int
) -> tuple[str | None, bool]:
    """Texte de la couche texte et s'il vient d'un OCR antérieur ; None si la page est cassée."""
    if plumber is not None:
        try:
            page = plumber.pages[index]
        except IndexError:
            page = None
        if page is not None:
            try:
                texte = page.extract_text() or ""
                polices = {str(c.get("fontname", "")) for c in page.chars}
                police_ocr = bool(polices) and all(POLICE_OCR_EXISTANT in p for p in polices)
                return texte, police_ocr
            except Exception:
                pass
            finally:
                with contextlib.suppress(Exception):
                    page.close()
    if document is not None:
        try:
            page_pdfium = document[index]
            try:
                page_texte = page_pdfium.get_textpage()
                try:
                    return page_texte.get_text_range(), False
                finally:
                    page_texte.close()
            finally:
                page_pdfium.close()
        except (pdfium.PdfiumError, ValueError, IndexError):
            return None, False
    return None, False


def _ocr_page(
    document: pdfium.PdfDocument, index: int, dossier: Path, limites: Limites, ocr: LecteurOCR
) -> LectureOCR | str:
    """Lecture de la page rasterisée, ou la raison de l'échec."""
    try:
        page = document[index]
        try:
            largeur, hauteur = page.get_size()
            echelle = DPI_OCR / 72
            surface = max(largeur * hauteur, 1.0)
            if surface * echelle * echelle > limites.pixels_max:
                # Affiche géante : on rend moins fin plutôt que d'épuiser la mémoire.
                echelle = math.sqrt(limites.pixels_max / surface)
            # render() applique /Rotate : la page arrive à l'endroit.
            bitmap = page.render(scale=echelle, grayscale=True)
            image = bitmap.to_pil()
        finally:
            page.close()
    except (pdfium.PdfiumError, ValueError, OSError, MemoryError) as e:
        return f"la page n'a pas pu être rendue en image ({e})."
    chemin = dossier / f"page-{index + 1}.pgm"
    try:
        image.save(chemin)
    except (OSError, ValueError) as e:
        return f"l'image de la page n'a pas pu être écrite ({e})."
    finally:
        image.close()
    try:
        return ocr.lire(chemin, round(72 * echelle))
    except ConnecteurErreur as e:
        return str(e)
    finally:
        chemin.unlink(missing_ok=True)
