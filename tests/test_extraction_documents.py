"""Extraction des documents déposés (scans) : tout le corpus réel, puis des fichiers hostiles.

Les fichiers viennent de ../shared/corpus/scans ; leur origine, leur licence et ce qu'ils ont de
difficile sont décrits dans ../shared/corpus/scans/MANIFEST.tsv. Tesseract tourne pour de vrai.
"""

from __future__ import annotations

import difflib
import functools
import io
import os
import struct
import tempfile
import zlib
from pathlib import Path
from typing import Literal

import pytest
from PIL import Image, ImageDraw, ImageFont

from connecteurs.ocr import Tesseract
from courrier import fabrique_pdf
from courrier.extraction import extraire_document
from noyau.domaine import Limites, ResultatExtraction
from preuves.pdf import chiffre
from tests.conftest import CORPUS

SCANS = CORPUS / "scans"
FICHIERS = (
    sorted(p.name for p in SCANS.iterdir() if p.is_file() and p.name != "MANIFEST.tsv")
    if SCANS.is_dir()
    else []
)

# Mesuré le 2026-11 (Tesseract 5.3.0, fra) : 0,9896 pour linn.pdf, 0,9892 pour linn.png
# (SequenceMatcher sur le texte aux espaces normalisés). Un peu de marge pour une autre version.
SIMILARITE_MIN_LINN = 0.97
# rotated_skew.pdf (/Rotate 90 et page penchée) : 0,8698 mesuré.
SIMILARITE_MIN_ROTATED_SKEW = 0.85


def ne_rien_deposer(octets: bytes) -> str:
    raise AssertionError("un document isolé n'a pas de pièce à ranger")


@functools.cache
def moteur() -> Tesseract:
    return Tesseract()


@functools.cache
def lire_scan(nom: str) -> ResultatExtraction:
    """Chaque fichier du corpus n'est lu qu'une fois par session : l'OCR coûte cher."""
    return extraire_document((SCANS / nom).read_bytes(), nom, ne_rien_deposer, Limites(), moteur())


def lire(
    contenu: bytes, nom: str = "document", limites: Limites | None = None
) -> ResultatExtraction:
    return extraire_document(contenu, nom, ne_rien_deposer, limites or Limites(), moteur())


def similarite(texte: str, reference: str) -> float:
    return difflib.SequenceMatcher(
        None, " ".join(texte.split()), " ".join(reference.split())
    ).ratio()


# --- Le corpus entier -------------------------------------------------------------------------


def test_le_corpus_des_scans_correspond_a_son_manifeste() -> None:
    manifeste = (SCANS / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()[1:]
    noms = {ligne.split("\t")[0] for ligne in manifeste if ligne}
    assert noms - {"ground_truth/ocrmypdf__linn.txt"} == set(FICHIERS)


@pytest.mark.lent
@pytest.mark.parametrize("nom", FICHIERS)
def test_chaque_document_du_corpus_est_extrait_sans_exception(nom: str) -> None:
    resultat = lire_scan(nom)
    assert isinstance(resultat, ResultatExtraction)
    assert "\x00" not in resultat.texte and all("\x00" not in e for e in resultat.erreurs)
    assert resultat.methode in ("pdf", "ocr", "pdf+ocr", "aucune")
    if resultat.echec:
        assert resultat.erreurs and resultat.methode == "aucune"
    else:
        assert resultat.pages is not None and resultat.pages >= 1
    if resultat.methode in ("ocr", "pdf+ocr") and resultat.texte:
        assert resultat.confiance_ocr is not None and 0 <= resultat.confiance_ocr <= 100
    if resultat.methode == "pdf":
        assert resultat.confiance_ocr is None


def test_un_pdf_invalide_echoue_avec_une_raison_en_francais() -> None:
    # MANIFEST : invalid.pdf, 44 octets, en-tête puis marque de fin.
    resultat = lire_scan("ocrmypdf__invalid.pdf")
    assert resultat.echec and resultat.texte == ""
    assert resultat.erreurs == [
        "PDF illisible ou tronqué : structure du fichier invalide ou incomplète ; "
        "conservé tel quel, texte non lu."
    ]


def test_une_page_blanche_donne_un_texte_vide_sans_echec() -> None:
    # MANIFEST : blank.pdf, page blanche d'Illustrator.
    resultat = lire_scan("ocrmypdf__blank.pdf")
    assert not resultat.echec
    assert resultat.texte.strip() == "" and resultat.pages == 1
    assert resultat.erreurs == ["Aucun texte n'a été trouvé dans ce PDF (pages blanches ?)."]


@pytest.mark.parametrize("nom", ["ocrmypdf__linn.pdf", "ocrmypdf__linn.png"])
def test_l_ocr_de_linn_ressemble_a_la_verite_terrain(nom: str) -> None:
    reference = (SCANS / "ground_truth" / "ocrmypdf__linn.txt").read_text(encoding="utf-8")
    resultat = lire_scan(nom)
    assert resultat.methode == "ocr" and resultat.pages == 1
    assert similarite(resultat.texte, reference) >= SIMILARITE_MIN_LINN
    assert resultat.confiance_ocr is not None and resultat.confiance_ocr > 85


def test_le_pangramme_francais_garde_ses_accents_et_ses_ligatures() -> None:
    # MANIFEST : francais.pdf, « Portez ce vieux whisky au juge blond… ».
    resultat = lire_scan("ocrmypdf__francais.pdf")
    texte = " ".join(resultat.texte.split())
    assert texte.startswith("Portez ce vieux whisky au juge blond qui fume sur son île intérieure")
    for mot in ("à côté de l'alcôve", "bûches", "l'âtre", "cænogénèse", "l'être", "ambiguë",
                "Moÿ", "capharnaüm", "pense-t-il", "çà et là", "qualité", "œuvre"):  # fmt: skip
        assert mot in texte
    assert resultat.methode == "ocr"
    assert resultat.confiance_ocr is not None and resultat.confiance_ocr > 85


def test_une_facture_nee_numerique_est_lue_par_sa_couche_texte() -> None:
    # MANIFEST : free_fiber.pdf, facture française de 2 pages faite par LibreOffice.
    resultat = lire_scan("invoice2data__free_fiber.pdf")
    assert resultat.methode == "pdf" and resultat.pages == 2
    assert resultat.confiance_ocr is None and resultat.erreurs == []
    assert "Free Service Abonné" in resultat.texte
    assert "Facture n°562044387 du 02 Juillet 2015" in resultat.texte


def test_les_pages_tournees_sont_redressees_avant_l_ocr() -> None:
    # MANIFEST : cardinal.pdf, la même page tournée de 0, 90, 180 et 270 degrés.
    cardinal = lire_scan("ocrmypdf__cardinal.pdf")
    assert cardinal.pages == 4
    assert cardinal.texte.count("32 Track MIDI Sequence Recorder") == 4
    assert cardinal.confiance_ocr is not None and cardinal.confiance_ocr > 85
    # rotated_skew.pdf : /Rotate 90 appliqué au rendu, page penchée.
    reference = (SCANS / "ground_truth" / "ocrmypdf__linn.txt").read_text(encoding="utf-8")
    penchee = lire_scan("ocrmypdf__rotated_skew.pdf")
    assert similarite(penchee.texte, reference) >= SIMILARITE_MIN_ROTATED_SKEW


def test_une_couche_ocr_existante_mediocre_est_refaite() -> None:
    # MANIFEST : graph_ocred.pdf porte une couche OCR invisible de mauvaise qualité.
    resultat = lire_scan("ocrmypdf__graph_ocred.pdf")
    assert resultat.methode == "ocr" and resultat.confiance_ocr is not None
    assert "esupport" not in resultat.texte
    assert "Support" in resultat.texte


def test_une_image_sans_dpi_est_lue_sans_indication_de_resolution() -> None:
    # MANIFEST : typewriter.png n'a pas de DPI ; donner 300 dpi n'améliore rien (mesuré :
    # confiance 82,1 sans, 81,6 avec, même texte), Tesseract l'estime seul.
    resultat = lire_scan("ocrmypdf__typewriter.png")
    assert "Linzen" in resultat.texte and "liter water" in resultat.texte


# --- Fichiers faits ici ----------------------------------------------------------------------


OBJET_TEXTE = "Objet : demande de raccordement au reseau public"


def image_de_texte(lignes: list[str], largeur: int = 1700, format_: str = "PNG") -> bytes:
    try:
        police = ImageFont.truetype("DejaVuSans.ttf", 40)
    except OSError:
        pytest.skip("police DejaVu absente")
    image = Image.new("L", (largeur, 120 + 90 * len(lignes)), 255)
    dessin = ImageDraw.Draw(image)
    for i, ligne in enumerate(lignes):
        dessin.text((60, 50 + 90 * i), ligne, font=police, fill=0)
    tampon = io.BytesIO()
    image.save(tampon, format=format_, dpi=(300, 300))
    return tampon.getvalue()


def test_un_pdf_mixte_est_lu_par_sa_couche_texte_et_par_ocr() -> None:
    jpeg = image_de_texte(["Arrêté municipal de circulation", "Rue de la Fontaine"], 1500, "JPEG")
    largeur, hauteur = Image.open(io.BytesIO(jpeg)).size
    document = fabrique_pdf.document(format_=fabrique_pdf.LETTRE_US)
    document.add_page()
    document.set_font("Helvetica", size=18)
    document.text(72, 92, OBJET_TEXTE)
    document.add_page()  # la seconde page n'est qu'une photo de texte
    document.image(io.BytesIO(jpeg), x=72, y=292 - 360 * hauteur / largeur, w=360)
    resultat = lire(fabrique_pdf.octets(document), "mixte.pdf")
    assert resultat.methode == "pdf+ocr" and resultat.pages == 2
    assert "demande de raccordement au reseau public" in resultat.texte
    assert "Arrêté municipal de circulation" in resultat.texte
    assert resultat.confiance_ocr is not None


@pytest.mark.parametrize("revision", [2, 6], ids=["rc4-40-bits", "aes-256"])
def test_un_pdf_protege_par_mot_de_passe_donne_une_raison_en_francais(
    revision: Literal[2, 6],
) -> None:
    # Chiffré par pikepdf avec des mots de passe tirés au sort : aucun mot de passe vide ne
    # l'ouvre, comme un PDF protégé dont on ignore le mot de passe.
    clair = fabrique_pdf.pdf_de_texte([[OBJET_TEXTE]], taille=18, format_=fabrique_pdf.LETTRE_US)
    resultat = lire(chiffre(clair, r=revision), "protege.pdf")
    assert resultat.echec and resultat.texte == ""
    assert resultat.erreurs == [
        "PDF protégé par un mot de passe : le texte ne peut pas être lu sans lui ; "
        "conservé tel quel."
    ]


def test_un_pdf_tronque_donne_une_raison_en_francais() -> None:
    complet = (SCANS / "invoice2data__free_fiber.pdf").read_bytes()
    resultat = lire(complet[: len(complet) // 2], "tronque.pdf")
    assert resultat.echec
    assert resultat.erreurs[0].startswith("PDF illisible ou tronqué : ")


def png_bombe(largeur: int, hauteur: int) -> bytes:
    """Un PNG de quelques centaines d'octets qui annonce largeur × hauteur pixels."""

    def bloc(genre: bytes, donnees: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(genre + donnees) & 0xFFFFFFFF)
        return struct.pack(">I", len(donnees)) + genre + donnees + crc

    entete = struct.pack(">IIBBBBB", largeur, hauteur, 8, 0, 0, 0, 0)
    compresse = zlib.compress(bytes(largeur + 1) * 4, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + bloc(b"IHDR", entete) + bloc(b"IDAT", compresse) + bloc(b"IEND", b"")
    )


def test_une_image_bombe_de_decompression_est_refusee_sans_etre_decodee() -> None:
    png = png_bombe(30_000, 30_000)
    assert len(png) < 2000
    resultat = lire(png, "plan.png")
    assert resultat.echec and resultat.methode == "aucune"
    assert resultat.erreurs == [
        "Image trop grande pour être décompressée sans risque (900\u00a0000\u00a0000 pixels "
        "annoncés), peut-être une bombe de décompression : conservée, non lue."
    ]
    # Entre la limite de Pillow et la nôtre : refusée par nos propres règles.
    moyenne = lire(png_bombe(12_000, 12_000), "plan.png")
    assert moyenne.echec and "12\u00a0000 × 12\u00a0000 pixels" in moyenne.erreurs[0]


def test_une_grande_image_est_reduite_avant_l_ocr() -> None:
    png = image_de_texte(["Compte rendu du conseil municipal", "Séance du 3 mars"], 2400)
    resultat = lire(png, "grand.png", Limites(pixels_max=600_000))
    assert not resultat.echec
    assert "conseil municipal" in resultat.texte


def test_un_tiff_multipage_est_lu_page_par_page() -> None:
    pages = [
        Image.open(io.BytesIO(image_de_texte([texte]))).convert("L")
        for texte in ("Première page du courrier", "Deuxième page du courrier")
    ]
    tampon = io.BytesIO()
    pages[0].save(tampon, format="TIFF", save_all=True, append_images=pages[1:], dpi=(300, 300))
    resultat = lire(tampon.getvalue(), "scan.tif")
    assert resultat.methode == "ocr" and resultat.pages == 2
    assert resultat.texte.index("Première page") < resultat.texte.index("Deuxième page")
    limite = lire(tampon.getvalue(), "scan.tif", Limites(pages_max_ocr=1))
    assert "Deuxième" not in limite.texte
    assert limite.erreurs == ["Seule la première image a été lue (le fichier en compte 2)."]


def test_les_limites_de_pages_sont_respectees_et_dites() -> None:
    # MANIFEST : multipage.pdf, 6 pages presque toutes sans couche texte.
    contenu = (SCANS / "ocrmypdf__multipage.pdf").read_bytes()
    resultat = lire(contenu, "multipage.pdf", Limites(pages_max_texte=2, pages_max_ocr=1))
    assert resultat.pages == 6
    assert resultat.erreurs == [
        "Seules les 2 premières pages ont été lues (le document en compte 6).",
        "1 page sans texte n'a pas été passée à l'OCR (limite de 1 par document).",
    ]
    assert "tip-toeing" in resultat.texte


def test_le_format_est_reconnu_a_ses_octets_et_non_a_son_extension() -> None:
    contenu = (SCANS / "invoice2data__free_fiber.pdf").read_bytes()
    assert lire(contenu, "photo.png").methode == "pdf"


@pytest.mark.parametrize(
    ("contenu", "nom", "raison"),
    [
        (b"", "vide.pdf", "Le fichier est vide (0 octet) : rien à lire."),
        (
            b"PK\x03\x04" + bytes(100),
            "lettre.docx",
            "Document Word illisible ou abîmé (archive interne invalide : File is not a zip "
            "file) : conservé, non lu.",
        ),
        (
            b"Bonjour, ceci est un simple texte.",
            "note.txt",
            "Format de fichier non pris en charge (fichier .txt) : conservé, non lu.",
        ),
        (
            b"\x89PNG\r\n\x1a\n" + os.urandom(64),
            "abime.png",
            None,
        ),
    ],
    ids=["vide", "docx", "texte", "png-abime"],
)
def test_un_fichier_non_pris_en_charge_ou_abime_echoue_avec_une_raison(
    contenu: bytes, nom: str, raison: str | None
) -> None:
    resultat = lire(contenu, nom)
    assert resultat.echec
    if raison is None:
        assert resultat.erreurs[0].startswith("Image illisible ou abîmée")
    else:
        assert resultat.erreurs == [raison]


def test_aucun_fichier_temporaire_ne_reste_apres_l_ocr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    resultat = lire((SCANS / "ocrmypdf__francais.pdf").read_bytes(), "francais.pdf")
    assert resultat.methode == "ocr"
    assert list(tmp_path.iterdir()) == []
    png = lire(image_de_texte(["Registre des délibérations"]), "scan.png")
    assert "délibérations" in png.texte
    assert list(tmp_path.iterdir()) == []
