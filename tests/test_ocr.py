"""Le connecteur OCR : le vrai Tesseract sur des images faites ici, et ses pannes simulées
par un faux exécutable (seul moyen de provoquer un délai dépassé ou un plantage)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytesseract
import pytest
from PIL import Image, ImageDraw, ImageFont

from connecteurs.ocr import (
    ErreurOCR,
    LecteurOCR,
    LectureOCR,
    Tesseract,
    lecture_depuis_donnees,
    lecture_depuis_tsv,
)
from noyau.erreurs import ConnecteurErreur

LETTRE = [
    "Mairie de Saint-Étienne-du-Bois",
    "Objet : demande d'acte de naissance",
    "Madame la maire,",
    "je vous prie de bien vouloir m'adresser",
    "une copie intégrale de mon acte de naissance.",
    "Veuillez agréer mes salutations distinguées.",
    "Hélène Dupré, 12 rue des Écoles",
]


def police(taille: int = 40) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype("DejaVuSans.ttf", taille)
    except OSError:
        pytest.skip("police DejaVu absente : les accents ne peuvent pas être dessinés")


def ecrire_lettre(chemin: Path, lignes: list[str] = LETTRE, rotation: int = 0) -> Path:
    image = Image.new("L", (1700, 100 + 85 * len(lignes)), 255)
    dessin = ImageDraw.Draw(image)
    for i, ligne in enumerate(lignes):
        dessin.text((60, 40 + i * 85), ligne, font=police(), fill=0)
    if rotation:
        image = image.rotate(rotation, expand=True)
    image.save(chemin, dpi=(300, 300))
    return chemin


@pytest.fixture(scope="module")
def tesseract() -> Tesseract:
    return Tesseract()


def faux_tesseract(dossier: Path, corps: str) -> Path:
    """Un exécutable « tesseract » qui répond à --version puis fait `corps`."""
    script = dossier / "tesseract"
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "--version" ]; then echo "tesseract 5.3.0"; exit 0; fi\n' + corps + "\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_le_module_limite_openmp_a_un_fil_par_processus() -> None:
    assert os.environ.get("OMP_THREAD_LIMIT") == "1"


def test_tesseract_lit_une_lettre_en_francais_avec_ses_accents_et_sa_confiance(
    tesseract: Tesseract, tmp_path: Path
) -> None:
    moteur: LecteurOCR = tesseract  # Tesseract satisfait l'interface que l'extraction attend
    lecture = moteur.lire(ecrire_lettre(tmp_path / "lettre.png"), dpi=300)
    assert isinstance(lecture, LectureOCR)
    for attendu in ("Saint-Étienne-du-Bois", "intégrale", "agréer", "Hélène Dupré", "Écoles"):
        assert attendu in lecture.texte
    assert lecture.confiance is not None and 80 <= lecture.confiance <= 100
    # Une ligne de l'image, une ligne du texte : l'ordre de lecture est gardé.
    lignes = [ligne for ligne in lecture.texte.splitlines() if ligne.strip()]
    assert lignes[0].startswith("Mairie") and lignes[-1].startswith("Hélène")


def test_une_lettre_a_l_envers_est_redressee_par_la_detection_d_orientation(
    tesseract: Tesseract, tmp_path: Path
) -> None:
    chemin = ecrire_lettre(tmp_path / "envers.png", rotation=180)
    assert "naissance" not in tesseract._lire_fichier(chemin, None).texte
    lecture = tesseract.lire(chemin)
    assert "demande d'acte de naissance" in lecture.texte
    assert lecture.confiance is not None and lecture.confiance > 80


def test_une_page_blanche_donne_un_texte_vide_et_aucune_confiance(
    tesseract: Tesseract, tmp_path: Path
) -> None:
    chemin = tmp_path / "blanche.png"
    Image.new("L", (1200, 1600), 255).save(chemin)
    assert tesseract.lire(chemin) == LectureOCR(texte="", confiance=None)


def test_les_lignes_sont_recomposees_depuis_les_numeros_de_bloc_paragraphe_et_ligne() -> None:
    donnees: dict[str, list[str | int]] = {
        "page_num": [1, 1, 1, 1, 1, 1, 1],
        "block_num": [1, 1, 1, 1, 1, 2, 1],
        "par_num": [0, 1, 1, 1, 1, 1, 1],
        "line_num": [0, 1, 1, 2, 2, 1, 1],
        "conf": ["-1", "90", "80", "70", "60", "50", "-1"],
        "text": ["", "Bonjour", "madame", "la", "maire", "Merci", " "],
    }
    lecture = lecture_depuis_donnees(donnees)
    assert lecture.texte == "Bonjour madame\nla maire\n\nMerci"
    assert lecture.confiance == pytest.approx(70.0)


def test_une_ligne_tsv_sans_texte_final_ne_decale_pas_les_colonnes() -> None:
    tsv = (
        "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth"
        "\theight\tconf\ttext\n"
        "4\t1\t1\t1\t1\t0\t0\t0\t9\t9\t-1\n"
        "5\t1\t1\t1\t1\t1\t0\t0\t9\t9\t91.25\tMairie\n"
    )
    assert lecture_depuis_tsv(tsv) == LectureOCR(texte="Mairie", confiance=91.25, mots=1)


def test_les_mots_sans_confiance_ne_comptent_pas_dans_la_moyenne() -> None:
    donnees: dict[str, list[str | int]] = {
        "page_num": [1, 1],
        "block_num": [1, 1],
        "par_num": [1, 1],
        "line_num": [1, 1],
        "conf": ["-1", "88.5"],
        "text": ["bruit", "Mairie"],
    }
    lecture = lecture_depuis_donnees(donnees)
    assert lecture.texte == "Mairie"
    assert lecture.confiance == pytest.approx(88.5)


def test_le_dpi_connu_est_transmis_a_tesseract(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    arguments = tmp_path / "arguments.txt"
    tsv = (
        "level\\tpage_num\\tblock_num\\tpar_num\\tline_num\\tword_num\\tleft\\ttop\\twidth"
        "\\theight\\tconf\\ttext\\n5\\t1\\t1\\t1\\t1\\t1\\t0\\t0\\t9\\t9\\t96.5\\tBonjour\\n"
    )
    script = faux_tesseract(tmp_path, f'echo "$@" > "{arguments}"\nprintf "{tsv}" > "$2.tsv"')
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", str(script))
    image = tmp_path / "page.png"
    Image.new("L", (10, 10), 255).save(image)
    lecture = Tesseract(langues="fra+eng").lire(image, dpi=300)
    assert lecture == LectureOCR(texte="Bonjour", confiance=96.5, mots=1)
    ligne = arguments.read_text()
    assert str(image) in ligne
    assert "--dpi 300" in ligne and "-l fra+eng" in ligne


def test_tesseract_absent_donne_une_erreur_ocr_en_francais(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", str(tmp_path / "absent"))
    image = tmp_path / "page.png"
    Image.new("L", (10, 10), 255).save(image)
    with pytest.raises(ErreurOCR, match="n'est pas installé") as erreur:
        Tesseract().lire(image)
    assert isinstance(erreur.value, ConnecteurErreur)
    assert erreur.value.__cause__ is not None


def test_un_delai_depasse_donne_une_erreur_ocr_en_francais(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    script = faux_tesseract(tmp_path, "sleep 5")
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", str(script))
    image = tmp_path / "page.png"
    Image.new("L", (10, 10), 255).save(image)
    with pytest.raises(ErreurOCR, match="délai de 1 s"):
        Tesseract(delai_s=1).lire(image)


def test_un_plantage_de_tesseract_donne_une_erreur_ocr_en_francais(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    script = faux_tesseract(tmp_path, 'echo "Segmentation fault" >&2\nexit 139')
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", str(script))
    image = tmp_path / "page.png"
    Image.new("L", (10, 10), 255).save(image)
    with pytest.raises(ErreurOCR, match="Tesseract n'a pas pu lire l'image"):
        Tesseract().lire(image)


def test_un_fichier_qui_n_est_pas_une_image_donne_une_erreur_ocr(
    tesseract: Tesseract, tmp_path: Path
) -> None:
    faux = tmp_path / "faux.png"
    faux.write_bytes(b"\x89PNG\r\n\x1a\n ceci n'est pas une image")
    with pytest.raises(ErreurOCR):
        tesseract.lire(faux)
