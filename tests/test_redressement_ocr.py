"""Redressement des pages inclinées et confiance OCR page par page, avec le vrai Tesseract.

Une page lue sous `COURRIER_OCR_SEUIL_CONFIANCE` est signalée « lecture à vérifier » dans la
file (commande `courrier file` et page web), sur la page du courrier, par `courrier montrer` et
dans le texte du digest. Corpus : ocrmypdf__skew.pdf et ocrmypdf__rotated_skew.pdf
(../shared/corpus/scans/MANIFEST.tsv), vérité terrain ground_truth/ocrmypdf__linn.txt.
"""

from __future__ import annotations

import html
import io
import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw, ImageFont

from connecteurs.ocr import Tesseract
from connecteurs.redressement import ANGLE_MAX, ANGLE_MIN, inclinaison
from courrier.digest import rendre_texte
from courrier.extraction.documents import extraire_document
from courrier.extraction.mime import extraire_courriel
from courrier.publication import preparer
from interfaces.web.app import creer_app
from noyau.analyse import Analyse, Brouillon, TypeBrouillon
from noyau.domaine import (
    Canal,
    ElementRecu,
    EntetesCourrier,
    Limites,
    PageOCR,
    ResultatExtraction,
)
from noyau.pages_ocr import pages_en_json, signalement
from registre.registre import Registre
from tests import navigateur as nv
from tests.conftest import CORPUS, RACINE, lancer
from tests.horloge import HorlogeDeTest
from tests.test_ocr import LETTRE

SCANS = CORPUS / "scans"  # COURRIER_CORPUS respecté, comme partout
JOUR = date(2026, 11, 23)
TAILLE_PAGE = (1700, 100 + 85 * len(LETTRE))


def lettre(corps: int = 40) -> Image.Image:
    """La lettre dessinée en corps `corps` (40 : net à 300 dpi), sur une page à l'échelle."""
    try:
        police = ImageFont.truetype("DejaVuSans.ttf", corps)
    except OSError:
        pytest.skip("police DejaVu absente : les accents ne peuvent pas être dessinés")
    echelle = corps / 40
    image = Image.new("L", (int(TAILLE_PAGE[0] * echelle), int(TAILLE_PAGE[1] * echelle)), 255)
    dessin = ImageDraw.Draw(image)
    for i, ligne in enumerate(LETTRE):
        dessin.text((int(60 * echelle), int((40 + i * 85) * echelle)), ligne, font=police, fill=0)
    return image


def floue() -> Image.Image:
    """Une page très floue : la lettre écrite en corps 6 puis agrandie sept fois (une
    télécopie passée au copieur). Tesseract y lit des mots, avec une confiance ~30."""
    return lettre(6).resize(TAILLE_PAGE, Image.Resampling.BILINEAR)


def png(image: Image.Image) -> bytes:
    tampon = io.BytesIO()
    image.save(tampon, "PNG", dpi=(300, 300))
    return tampon.getvalue()


def lire(image: Image.Image, ocr: Tesseract | None = None) -> ResultatExtraction:
    return extraire_document(png(image), "scan.png", lambda _: "", Limites(), ocr or Tesseract())


def mots_justes(texte: str, verite: str) -> int:
    """Mots de la vérité terrain retrouvés (multiensemble, casse ignorée)."""

    def mots(t: str) -> Counter[str]:
        return Counter(re.findall(r"\w+", t.casefold()))

    return sum((mots(texte) & mots(verite)).values())


# --- Redressement ---------------------------------------------------------------------------


def test_une_page_generee_inclinee_de_4_degres_est_redressee_et_lue(tmp_path: Path) -> None:
    # PIL tourne dans le sens trigonométrique : la page penche de +4°, on la redresse de -4°.
    penchee = lettre().rotate(4, expand=True, fillcolor=255, resample=Image.Resampling.BICUBIC)
    assert inclinaison(penchee) == pytest.approx(-4.0, abs=1.0)
    chemin = tmp_path / "penchee.png"
    penchee.save(chemin, dpi=(300, 300))
    lecture = Tesseract().lire(chemin, 300)
    assert lecture.angle == pytest.approx(-4.0, abs=1.0)
    for attendu in ("Saint-Étienne-du-Bois", "intégrale", "Hélène Dupré", "Écoles"):
        assert attendu in lecture.texte
    assert lecture.confiance is not None and lecture.confiance > 85


def test_une_page_droite_n_est_pas_tournee() -> None:
    resultat = lire(lettre())
    assert resultat.pages_ocr == [
        PageOCR(numero=1, confiance=resultat.pages_ocr[0].confiance, angle=0.0, mots=38)
    ]
    assert (resultat.pages_ocr[0].confiance or 0) > 90


@pytest.mark.parametrize("nom", ["ocrmypdf__skew.pdf", "ocrmypdf__rotated_skew.pdf"])
def test_le_redressement_ameliore_la_lecture_des_pages_inclinees_du_corpus(nom: str) -> None:
    octets = (SCANS / nom).read_bytes()
    verite = (SCANS / "ground_truth" / "ocrmypdf__linn.txt").read_text()

    def extraire(ocr: Tesseract) -> ResultatExtraction:
        return extraire_document(octets, nom, lambda _: "", Limites(), ocr)

    sans = extraire(Tesseract(redresser=False))
    avec = extraire(Tesseract())
    (page,) = avec.pages_ocr
    assert ANGLE_MIN <= abs(page.angle) <= ANGLE_MAX  # la page a bien été redressée
    assert sans.pages_ocr[0].angle == 0.0
    assert mots_justes(avec.texte, verite) > mots_justes(sans.texte, verite)
    assert (avec.confiance_ocr or 0) > (sans.confiance_ocr or 0)


# --- Entrées hostiles -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "image",
    [
        Image.new("L", (1, 1), 255),
        Image.new("L", (7, 3), 0),
        Image.new("L", (1200, 1600), 0),  # toute noire
        Image.new("RGB", (900, 600), (255, 255, 255)),  # blanche
    ],
    ids=["un-pixel", "minuscule-noire", "toute-noire", "blanche"],
)
def test_une_image_minuscule_noire_ou_blanche_n_est_ni_tournee_ni_signalee(
    image: Image.Image,
) -> None:
    assert inclinaison(image) == 0.0
    resultat = lire(image)
    assert all(p.angle == 0.0 for p in resultat.pages_ocr)
    assert signalement(pages_en_json(resultat.pages_ocr), [], 60.0) == ""


def test_un_angle_absurde_n_est_pas_corrige_en_petit_angle() -> None:
    # 40° : ni une page posée de travers, ni un quart de tour ; on ne tourne rien au hasard.
    tournee = lettre().rotate(40, expand=True, fillcolor=255)
    assert inclinaison(tournee) == 0.0
    resultat = lire(tournee)
    (page,) = resultat.pages_ocr
    assert not ANGLE_MIN <= abs(page.angle % 90) <= ANGLE_MAX


def test_une_page_blanche_une_piece_et_une_colonne_abimee() -> None:
    blanche = PageOCR(numero=1, confiance=None, angle=0.0, mots=0)
    basse = PageOCR(numero=2, confiance=41.5, angle=2.5, mots=12)
    assert not blanche.a_verifier(60.0) and basse.a_verifier(60.0) and not basse.a_verifier(40)
    assert signalement(pages_en_json([blanche, basse]), [], 60.0) == ("lecture à vérifier (page 2)")
    assert signalement("", [("scan.pdf", pages_en_json([basse]))], 60.0) == (
        "lecture à vérifier (pièce scan.pdf : page 2)"
    )
    assert signalement("{pas du json", [("x", "[1, 2]")], 60.0) == ""


def test_une_piece_jointe_floue_garde_sa_confiance_par_page_et_signale_le_courrier() -> None:
    message = EmailMessage()
    message["From"] = "Jean Dupont <jean@saint-aubin.example>"
    message["To"] = "mairie@saint-aubin.example"
    message["Subject"] = "Mon dossier"
    message.set_content("Bonjour, voici le scan.")
    message.add_attachment(png(floue()), maintype="image", subtype="png", filename="floue.png")
    resultat = extraire_courriel(message.as_bytes(), lambda _: "", Limites(), Tesseract())
    (piece,) = [p for p in resultat.pieces if p.nom == "floue.png"]
    (page,) = piece.pages_ocr
    assert page.a_verifier(60.0)
    assert resultat.pages_ocr == []  # le corps du courriel n'est pas passé à l'OCR
    pieces = [(p.nom, pages_en_json(p.pages_ocr)) for p in resultat.pieces]
    assert signalement("", pieces, 60.0) == "lecture à vérifier (pièce floue.png : page 1)"


# --- Signalement dans la file, la page web et le digest -------------------------------------


@pytest.fixture(scope="module")
def lectures() -> tuple[ResultatExtraction, ResultatExtraction]:
    return lire(lettre()), lire(floue())


def test_la_page_floue_est_sous_le_seuil_par_defaut_et_la_nette_au_dessus(
    lectures: tuple[ResultatExtraction, ResultatExtraction],
) -> None:
    nette, flou = lectures
    assert (nette.pages_ocr[0].confiance or 0) >= 90
    (page,) = flou.pages_ocr
    assert page.mots > 0 and page.confiance is not None and page.confiance < 60


@pytest.fixture
def registre_garni(
    tmp_path: Path, lectures: tuple[ResultatExtraction, ResultatExtraction]
) -> Iterator[tuple[Registre, Path, dict[str, str]]]:
    donnees = tmp_path / "donnees"
    horloge = HorlogeDeTest(datetime(2026, 11, 23, 1, 30, tzinfo=UTC))
    registre = Registre.ouvrir(f"sqlite:///{donnees / 'registre.sqlite3'}", donnees, horloge)
    numeros = {}
    for nom, resultat in zip(("net", "flou"), lectures, strict=True):
        element = ElementRecu(
            source="depot_scans",
            canal=Canal.SCAN,
            reference=f"{nom}.png",
            recu_le=datetime(2026, 11, 23, 1, 0, tzinfo=UTC),
            contenu=f"scan {nom}".encode(),
            nom_fichier=f"{nom}.png",
        )
        numero = registre.enregistrer(element, EntetesCourrier(objet=f"Scan {nom}")).numero
        ident = next(a.id for a in registre.a_extraire() if a.numero == numero)
        registre.consigner_extraction(ident, resultat)
        registre.consigner_analyse(
            ident,
            Analyse(categorie="etat_civil", service="Accueil", resume=f"Scan {nom}."),
            [
                Brouillon(
                    TypeBrouillon.ACCUSE_RECEPTION,
                    "Accusé de réception",
                    "Madame…",
                    "modele:accuse_reception",
                )
            ],
        )
        numeros[nom] = numero
    horloge.regler(datetime(2026, 11, 23, 6, 30, tzinfo=UTC))
    try:
        yield registre, donnees, numeros
    finally:
        registre.fermer()


def env_cli(donnees: Path, **reglages: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COURRIER_", "PREFECT_"))}
    return {
        **env,
        "PYTHONPATH": str(RACINE),
        "COURRIER_DONNEES": str(donnees),
        "COLUMNS": "200",
        **{f"COURRIER_{k.upper()}": v for k, v in reglages.items()},
    }


def test_la_commande_file_et_montrer_signalent_la_page_floue_et_le_seuil_se_regle(
    registre_garni: tuple[Registre, Path, dict[str, str]], tmp_path: Path
) -> None:
    _, donnees, numeros = registre_garni
    sortie = lancer("file", env=env_cli(donnees), cwd=tmp_path)
    assert sortie.returncode == 0, sortie.stderr
    assert sortie.stdout.count("lecture à vérifier (page 1)") == 1
    lignes = sortie.stdout.splitlines()
    i = next(i for i, ligne in enumerate(lignes) if numeros["flou"] in ligne)
    assert "lecture à vérifier (page 1)" in lignes[i + 1]

    # Seuil abaissé sous la confiance de la page floue : plus rien à signaler.
    bas = lancer("file", env=env_cli(donnees, ocr_seuil_confiance="20"), cwd=tmp_path)
    assert bas.returncode == 0, bas.stderr
    assert "lecture à vérifier" not in bas.stdout and numeros["flou"] in bas.stdout

    montre = lancer("montrer", numeros["flou"], env=env_cli(donnees), cwd=tmp_path)
    assert montre.returncode == 0, montre.stderr
    assert "Signalement : lecture à vérifier (page 1)" in montre.stdout
    assert re.search(r"OCR page 1 : confiance \d+ % — à vérifier", montre.stdout)
    fiche = json.loads(
        lancer("montrer", numeros["net"], "--json", env=env_cli(donnees), cwd=tmp_path).stdout
    )
    assert fiche["lecture_a_verifier"] == ""
    (page,) = fiche["pages_ocr"]
    assert page["page"] == 1 and page["confiance"] > 90 and page["angle"] == 0.0


def test_la_page_web_et_le_digest_signalent_la_page_floue(
    registre_garni: tuple[Registre, Path, dict[str, str]],
) -> None:
    registre, donnees, numeros = registre_garni
    url = f"sqlite:///{donnees / 'registre.sqlite3'}"
    nv.creer_comptes(registre)
    for seuil, attendus in ((60.0, 1), (99.0, 2)):
        reglages = nv.reglages_web(donnees, url, ocr_seuil_confiance=seuil)
        with TestClient(creer_app(reglages, registre), follow_redirects=False) as client:
            connecter(client, "secretaire")
            file = html.unescape(client.get("/").text)
            assert file.count("lecture à vérifier (page 1)") == attendus
            page = html.unescape(client.get(f"/courrier/{numeros['flou']}").text)
            assert "lecture à vérifier (page 1)" in page
            assert re.search(r"page 1 : confiance \d+ % — à vérifier", page)
            nette = html.unescape(client.get(f"/courrier/{numeros['net']}").text)
            assert ("lecture à vérifier" in nette) == (seuil == 99.0)
        texte = rendre_texte(preparer(registre, reglages, JOUR).digest)
        assert texte.count("lecture à vérifier (page 1)") == attendus, texte


def connecter(client: TestClient, nom: str) -> None:
    page = client.get("/connexion")
    trouve = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert trouve, page.text
    reponse = client.post(
        "/connexion",
        data={"nom": nom, "mot_de_passe": nv.MOT_DE_PASSE, "csrf": trouve.group(1)},
    )
    assert reponse.status_code == 303, reponse.text
