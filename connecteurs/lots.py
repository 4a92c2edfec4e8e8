"""Lots de scans : une pile de lettres numérisée en un seul PDF, découpée aux feuilles séparatrices.

La feuille séparatrice (`courrier separateur`) porte un code QR au contenu fixe. Chaque page du
PDF déposé est rendue à basse résolution (pypdfium2) et ses codes lus par zxing-cpp : une page
qui porte ce contenu (en QR ou en Code 128, dans n'importe quel sens) sépare deux lettres et
n'appartient à aucune. Le découpage est déterministe : relancé sur les mêmes octets, il donne
les mêmes lettres dans le même ordre, ce qui fait de (empreinte du lot, rang) leur identité.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime

from noyau.pannes import PointDePanne, aucune

CONTENU_SEPARATEUR = "COURRIER-SEPARATEUR"
TEXTE_SEPARATEUR = "Feuille séparatrice — placer entre deux lettres"
# Au-delà, le PDF n'est pas cherché page à page : il est enregistré entier, comme avant.
PAGES_MAX_LOT = 500
# Résolution du rendu pour lire les codes : un QR de 8 cm y fait ~300 pixels.
DPI_LECTURE = 100
_DATE_FIXE = datetime(2026, 1, 1, tzinfo=UTC)
COTE_MAX_RENDU = 1600  # pixels : une page géante (hostile) ne fait pas exploser la mémoire
# Part des pixels sombres sous laquelle une page est blanche : une seule ligne manuscrite
# (« Bon pour accord. ») en noircit 0,06 % à 100 dpi, une page blanche numérisée presque rien.
ENCRE_MAX_PAGE_BLANCHE = 0.0002


@dataclass(frozen=True)
class LettreDuLot:
    rang: int  # 1, 2, 3… dans l'ordre des pages
    pages: tuple[int, ...]  # numéros de pages du PDF d'origine, à partir de 1
    contenu: bytes  # le PDF de la lettre seule

    @property
    def premiere_page(self) -> int:
        return self.pages[0]

    @property
    def derniere_page(self) -> int:
        return self.pages[-1]


@dataclass(frozen=True)
class Decoupage:
    pages: int
    separatrices: int
    lettres: tuple[LettreDuLot, ...]


def ressemble_a_un_pdf(contenu: bytes) -> bool:
    return b"%PDF-" in contenu[:1024]


def _genre_de_page(page: object) -> str:
    """« separatrice », « blanche » ou « lettre »."""
    import pypdfium2 as pdfium
    import zxingcpp

    assert isinstance(page, pdfium.PdfPage)
    largeur, hauteur = page.get_size()
    echelle = min(DPI_LECTURE / 72, COTE_MAX_RENDU / max(largeur, hauteur, 1))
    image = page.render(scale=echelle, grayscale=True).to_pil().convert("L")
    codes = zxingcpp.read_barcodes(
        image,
        # Une liste, comme le veut zxing-cpp 3 (« | » y est déprécié) ; ses stubs en sont restés
        # au type de la version 2.
        formats=[zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.Code128],  # type: ignore[arg-type]
    )
    if any(code.text.strip() == CONTENU_SEPARATEUR for code in codes):
        return "separatrice"
    histogramme = image.histogram()
    sombres = sum(histogramme[:128])
    if sombres / max(1, image.width * image.height) < ENCRE_MAX_PAGE_BLANCHE:
        return "blanche"
    return "lettre"


def decouper(
    contenu: bytes,
    page_blanche: bool = False,
    pages_max: int = PAGES_MAX_LOT,
    panne: PointDePanne = aucune,
) -> Decoupage | None:
    """Le découpage du PDF s'il est un lot (au moins une séparatrice, ou une page blanche quand
    `page_blanche`), sinon None : PDF ordinaire, illisible, chiffré ou trop long."""
    if not ressemble_a_un_pdf(contenu):
        return None
    import pikepdf
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(contenu)
    except (pdfium.PdfiumError, ValueError, OSError):
        return None  # corrompu ou chiffré : l'extraction dira pourquoi, comme pour tout scan
    try:
        nombre = len(pdf)
        if nombre == 0 or nombre > pages_max:
            return None
        groupes: list[list[int]] = [[]]
        separatrices = blanches = 0
        precedente = ""
        for indice in range(nombre):
            panne("recherche_separatrices")  # les preuves : un processus qui tombe ici
            try:
                genre = _genre_de_page(pdf[indice])
            except (pdfium.PdfiumError, ValueError, OSError, MemoryError):
                genre = "lettre"  # une page qui ne se rend pas reste dans sa lettre
            if genre == "separatrice":
                separatrices += 1
                groupes.append([])
            elif genre == "blanche" and (page_blanche or precedente == "separatrice"):
                # Le verso blanc d'une séparatrice (copieur en recto verso) n'est pas une
                # lettre ; avec l'option, toute page blanche sépare.
                blanches += 1
                groupes.append([])
            else:
                groupes[-1].append(indice)
            precedente = genre
        if separatrices == 0 and (not page_blanche or blanches == 0):
            return None
    finally:
        pdf.close()
    non_vides = [g for g in groupes if g]  # séparatrices consécutives, en tête ou en queue
    try:
        lettres = _extraire_lettres(contenu, non_vides)
    except pikepdf.PdfError:
        return None  # lisible par pdfium, pas par qpdf : enregistré entier, rien de perdu
    return Decoupage(pages=nombre, separatrices=separatrices, lettres=lettres)


def _extraire_lettres(contenu: bytes, groupes: list[list[int]]) -> tuple[LettreDuLot, ...]:
    """Le PDF de chaque lettre, octet pour octet le même à chaque découpage : pikepdf n'y met
    ni date ni identifiant tiré au hasard (pdfium y écrit l'heure), si bien qu'une relève
    reprise après une panne retrouve les mêmes lettres, sans copie en trop dans l'archive."""
    import pikepdf

    lettres = []
    with pikepdf.open(io.BytesIO(contenu)) as source:
        for rang, indices in enumerate(groupes, start=1):
            with pikepdf.new() as lettre:
                lettre.pages.extend(source.pages[i] for i in indices)
                tampon = io.BytesIO()
                lettre.save(tampon, deterministic_id=True)
            pages = tuple(i + 1 for i in indices)
            lettres.append(LettreDuLot(rang, pages, tampon.getvalue()))
    return tuple(lettres)


def pdf_separateur() -> bytes:
    """La feuille séparatrice A4 à imprimer : un grand QR et une phrase qui dit quoi en faire."""
    import segno
    from fpdf import FPDF

    qr = segno.make_qr(CONTENU_SEPARATEUR, error="h")
    image = io.BytesIO()
    qr.save(image, kind="png", scale=20, border=4)
    image.seek(0)
    pdf = FPDF(format="A4", unit="mm")
    pdf.core_fonts_encoding = "windows-1252"  # le tiret cadratin et les accents, sans police
    pdf.set_creator("Courrier")
    pdf.set_title("Feuille séparatrice")
    pdf.set_creation_date(_DATE_FIXE)  # mêmes octets à chaque impression
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 22)
    pdf.set_y(30)
    pdf.multi_cell(0, 12, TEXTE_SEPARATEUR, align="C")
    pdf.image(image, x=(210 - 100) / 2, y=80, w=100, h=100)
    pdf.set_font("Helvetica", "", 13)
    pdf.set_y(195)
    pdf.multi_cell(
        0,
        8,
        "Posez cette feuille sur le copieur entre deux lettres, puis numérisez toute la pile "
        "en un seul PDF vers le dossier des scans. Courrier découpe le PDF à chaque feuille "
        "comme celle-ci et enregistre chaque lettre sous son propre numéro.\n"
        "Réutilisable : la feuille n'est jamais enregistrée.",
        align="C",
    )
    pdf.set_font("Helvetica", "", 10)
    pdf.set_y(260)
    pdf.cell(0, 8, CONTENU_SEPARATEUR, align="C")
    return bytes(pdf.output())
