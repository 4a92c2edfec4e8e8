"""Les PDF ordinaires (`courrier/fabrique_pdf.py`, fpdf2) et ce qui les rend hostiles
(`preuves/pdf.py`, pikepdf), relus par pdfplumber et pikepdf ; et la démo qui s'en sert."""

from __future__ import annotations

import email
import io
from email import policy
from typing import Literal

import pdfplumber
import pikepdf
import pytest
from pdfplumber.utils.exceptions import PdfminerException
from PIL import Image

from courrier import fabrique_pdf
from courrier.demo import courriels_organismes, courriels_usagers
from courrier.demo.catalogue import CATALOGUE, ICI
from preuves.pdf import chiffre, premiere_page_repetee, tronque


def textes(pdf: bytes) -> list[str]:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return [page.extract_text() for page in document.pages]


def test_un_pdf_de_texte_se_relit_tel_quel_et_redonne_les_memes_octets() -> None:
    pages = [
        ["Objet : réservation de la salle des fêtes", "", "Coût : 250 €, l’été"],
        ["Deuxième page", "Ελληνικά ☃"],
    ]
    pdf = fabrique_pdf.pdf_de_texte(pages, taille=11)
    assert pdf == fabrique_pdf.pdf_de_texte(pages, taille=11)
    # L'apostrophe typographique devient droite, ce que WinAnsi n'a pas devient « ? ».
    assert textes(pdf) == [
        "Objet : réservation de la salle des fêtes\nCoût : 250 €, l'été",
        "Deuxième page\n???????? ?",
    ]
    with pikepdf.open(io.BytesIO(pdf)) as document:
        assert [float(x) for x in document.pages[0].MediaBox] == [0, 0, *fabrique_pdf.A4]
        assert str(document.docinfo["/Producer"]) == "Courrier"
        assert str(document.docinfo["/CreationDate"]).startswith("D:20261119")


def test_un_jpeg_numerise_est_recopie_octet_pour_octet_a_sa_resolution() -> None:
    image = Image.linear_gradient("L").resize((600, 300))
    tampon = io.BytesIO()
    image.save(tampon, "JPEG", quality=70)
    jpeg = tampon.getvalue()
    meta = fabrique_pdf.Metadonnees(producteur="Copieur d'essai", titre="SCAN_0001")
    pdf = fabrique_pdf.pdf_d_images([jpeg, image], 150, meta=meta)
    with pikepdf.open(io.BytesIO(pdf)) as document:
        assert len(document.pages) == 2
        premiere, seconde = document.pages
        assert [float(x) for x in premiere.MediaBox] == [0, 0, 288, 144]  # 600 px à 150 dpi
        (photo,) = premiere.get_images().values()
        assert photo.Filter == "/DCTDecode" and photo.read_raw_bytes() == jpeg
        (sans_perte,) = seconde.get_images().values()
        assert sans_perte.Filter == "/FlateDecode"
        assert str(document.docinfo["/Title"]) == "SCAN_0001"
    assert textes(pdf) == ["", ""]  # pas de couche texte


@pytest.mark.parametrize("revision", [2, 3, 6])
def test_un_pdf_chiffre_par_pikepdf_ne_s_ouvre_pas_sans_mot_de_passe(
    revision: Literal[2, 3, 6],
) -> None:
    clair = fabrique_pdf.pdf_de_texte([["Texte confidentiel"]])
    protege = chiffre(clair, r=revision)
    with pytest.raises(pikepdf.PasswordError):
        pikepdf.open(io.BytesIO(protege))
    assert b"Texte confidentiel" not in protege


def test_des_milliers_de_pages_partagent_un_seul_flux_et_un_pdf_coupe_ne_se_lit_plus() -> None:
    page = fabrique_pdf.pdf_de_texte([["Courrier de la mairie"]], format_=fabrique_pdf.LETTRE_US)
    gros = premiere_page_repetee(page, 2_000)
    with pikepdf.open(io.BytesIO(gros)) as document:
        assert len(document.pages) == 2_000
        flux = {p.Contents.objgen for p in document.pages}
        assert len(flux) == 1
    assert textes(premiere_page_repetee(page, 3)) == ["Courrier de la mairie"] * 3
    coupe = tronque(gros)
    assert coupe == gros[: len(gros) // 2]
    # qpdf répare ce qu'il peut ; pdfminer, qui lit le courrier, s'arrête.
    with pytest.raises(PdfminerException):
        textes(coupe)


def piece_jointe(courriel: bytes) -> bytes:
    message = email.message_from_bytes(courriel, policy=policy.default)
    (piece,) = message.iter_attachments()
    contenu = piece.get_content()
    assert isinstance(contenu, bytes)
    return contenu


def test_les_courriels_de_la_demo_regeneres_sont_ceux_livres() -> None:
    fabriques = {
        "courriels/01-etat-civil-acte-naissance.eml": courriels_usagers.courriel_etat_civil,
        "courriels/02-voirie-fuite-nid-de-poule.eml": courriels_usagers.courriel_voirie,
        "courriels/04-urbanisme-extension.eml": courriels_usagers.courriel_urbanisme,
        "courriels/05-prefecture-elections.eml": courriels_organismes.courriel_prefecture,
        "courriels/07-publicite-illuminations.eml": courriels_organismes.courriel_publicite,
    }
    assert set(fabriques) < {a.fichier for a in CATALOGUE}
    for fichier, fabrique in fabriques.items():
        assert fabrique() == (ICI / fichier).read_bytes(), fichier
    # Les octets d'un PDF suivent la version de fpdf2 ; son texte, lui, ne doit pas bouger.
    livre = piece_jointe((ICI / "courriels/03-salle-des-fetes-loto.eml").read_bytes())
    regenere = piece_jointe(courriels_usagers.courriel_salle_des_fetes())
    assert textes(regenere) == textes(livre)
    (texte,) = textes(livre)
    assert "DEMANDE DE RÉSERVATION DE LA SALLE DES FÊTES" in texte
    assert "particulier ou association extérieure : 250 € (caution 500 €)" in texte
