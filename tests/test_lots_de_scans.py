"""Lots de scans : une pile de lettres numérisée en un seul PDF, découpée aux feuilles séparatrices.

La feuille vient de la vraie commande `courrier separateur` ; elle est « imprimée puis
numérisée » en la rendant en image (pypdfium2), comme les lettres, écrites en image puis lues
par le vrai Tesseract. La page blanche vient du corpus (../shared/corpus/scans/MANIFEST.tsv :
ocrmypdf__blank.pdf).
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import os
import subprocess
from datetime import date
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw, ImageFont

from connecteurs.dossiers import SourceScans, antidater
from connecteurs.lots import CONTENU_SEPARATEUR, decouper
from connecteurs.lots_isole import decouper_a_part, depuis_json
from courrier.extraction import lire_entetes
from courrier.releve import extraire_en_attente, relever_source
from interfaces.web.app import creer_app
from noyau.domaine import Limites
from registre.conservation import Conservation, purger
from registre.lots import reference_du_courrier
from registre.registre import Registre
from regles.chargement import charger_regles
from tests import navigateur as nv
from tests.conftest import COURRIER, RACINE, lancer
from tests.test_web import connecter

DPI = 200
POLICE = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
LETTRES = [
    [
        "Madame le Maire,",
        "je sollicite une copie intégrale de mon acte de naissance.",
        "Je vous remercie par avance.",
    ],
    ["Suite de la première lettre :", "Veuillez agréer mes salutations distinguées."],
    ["Monsieur le Maire,", "le lampadaire de la rue des Tilleuls est en panne."],
    ["Bonjour,", "nous souhaitons réserver la salle polyvalente pour une kermesse."],
]


def vieillir(chemin: Path) -> None:
    antidater(chemin, 3600)


def env_cli(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COURRIER_", "PREFECT_"))}
    env.update(
        PYTHONPATH=str(RACINE),
        OMP_THREAD_LIMIT="1",
        DO_NOT_TRACK="1",
        COURRIER_DONNEES=str(tmp / "donnees"),
        COURRIER_DEPOT_SCANS=str(tmp / "scans"),
        COURRIER_DEPOT_DELAI_STABILITE_S="60",  # le dépôt est vieilli, comme un vrai scan
        COURRIER_OCR_PROCESSUS="1",
    )
    return env


@pytest.fixture(scope="module")
def separateur(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """La feuille séparatrice, par la vraie commande."""
    tmp = tmp_path_factory.mktemp("separateur")
    resultat = lancer(
        "separateur", "--sortie", str(tmp / "separateur.pdf"), env=env_cli(tmp), cwd=tmp
    )
    assert resultat.returncode == 0, resultat.stderr
    assert "Feuille séparatrice écrite" in resultat.stdout
    return (tmp / "separateur.pdf").read_bytes()


def scanner(pdf: bytes, page: int = 0) -> Image.Image:
    """Une page « imprimée puis numérisée » : rendue en niveaux de gris à 200 dpi."""
    document = pdfium.PdfDocument(pdf)
    try:
        return document[page].render(scale=DPI / 72, grayscale=True).to_pil().convert("L")
    finally:
        document.close()


def page_de_lettre(lignes: list[str]) -> Image.Image:
    image = Image.new("L", (int(8.27 * DPI), int(11.69 * DPI)), 255)
    dessin = ImageDraw.Draw(image)
    police = ImageFont.truetype(POLICE, 36)
    for i, ligne in enumerate(lignes):
        dessin.text((150, 250 + i * 70), ligne, font=police, fill=0)
    return image


def pdf_d_images(images: list[Image.Image]) -> bytes:
    tampon = io.BytesIO()
    images[0].save(tampon, "PDF", save_all=True, append_images=images[1:], resolution=DPI)
    return tampon.getvalue()


def lot_de_trois(separateur: bytes) -> bytes:
    """Séparatrice en tête, lettre de 2 pages, séparatrice, lettre, séparatrice à l'envers
    suivie d'une autre (consécutives), lettre, séparatrice en queue : 9 pages, 3 lettres."""
    sep = scanner(separateur)
    a_l_envers = sep.rotate(180)
    pages = [
        sep,
        page_de_lettre(LETTRES[0]),
        page_de_lettre(LETTRES[1]),
        sep,
        page_de_lettre(LETTRES[2]),
        a_l_envers,
        sep,
        page_de_lettre(LETTRES[3]),
        sep,
    ]
    return pdf_d_images(pages)


def test_la_feuille_separatrice_est_une_page_a4_avec_son_qr_et_sa_consigne(
    separateur: bytes,
) -> None:
    document = pdfium.PdfDocument(separateur)
    try:
        assert len(document) == 1
        largeur, hauteur = document[0].get_size()
        assert (round(largeur / 72 * 25.4), round(hauteur / 72 * 25.4)) == (210, 297)
        texte = document[0].get_textpage().get_text_range()
    finally:
        document.close()
    assert "Feuille séparatrice — placer entre deux lettres" in texte
    codes = zxingcpp.read_barcodes(scanner(separateur))
    assert [(c.format.name, c.text) for c in codes] == [("QRCode", CONTENU_SEPARATEUR)]


def test_un_lot_de_trois_lettres_devient_trois_courriers_lus_qui_renvoient_a_leurs_pages(
    separateur: bytes, registre: Registre, url_base: str, tmp_path: Path
) -> None:
    depot = tmp_path / "scans"
    depot.mkdir()
    lot = lot_de_trois(separateur)
    (depot / "pile.pdf").write_bytes(lot)
    vieillir(depot / "pile.pdf")

    bilan = relever_source(SourceScans(depot, 60), registre, lire_entetes)
    assert (bilan.nouveaux, bilan.doublons, bilan.erreurs) == (3, 0, [])
    assert [p.name for p in (depot / "traites").iterdir()] == ["pile.pdf"]
    assert sorted(p.name for p in depot.iterdir()) == ["traites"]
    extraire_en_attente(registre, Limites(), processus=2)

    courriers = sorted(registre.courriers(), key=lambda c: c.rang)
    assert [c.rang for c in courriers] == [1, 2, 3]
    empreinte_lot = hashlib.sha256(lot).hexdigest()
    assert registre.archive.lire(empreinte_lot) == lot  # l'original, octet pour octet
    attendus = [
        ((2, 3), ["acte de naissance", "salutations distinguées"], ["lampadaire", "kermesse"]),
        ((5, 5), ["lampadaire", "Tilleuls"], ["naissance", "kermesse"]),
        ((8, 8), ["salle polyvalente", "kermesse"], ["naissance", "lampadaire"]),
    ]
    for rang, (c, (pages, presents, absents)) in enumerate(
        zip(courriers, attendus, strict=True), start=1
    ):
        assert c.statut == "extrait", c.erreur
        assert c.methode_extraction == "ocr"
        for mot in presents:
            assert mot in c.texte, (c.numero, c.texte)
        for mot in absents:
            assert mot not in c.texte, (c.numero, c.texte)
        assert CONTENU_SEPARATEUR not in c.texte and "séparatrice" not in c.texte
        ref = reference_du_courrier(registre.engine, c.id)
        assert ref is not None
        assert (ref.empreinte, ref.rang, ref.total) == (empreinte_lot, rang, 3)
        assert (ref.premiere_page, ref.derniere_page, ref.pages_lot) == (*pages, 9)
        assert c.pages == pages[1] - pages[0] + 1
        assert c.nom_fichier == f"pile-lettre-{rang}.pdf"
        assert f"lettre {rang}/3" in c.reference
        recu = [e for e in registre.evenements(c.numero) if e.type == "recu"]
        assert json.loads(recu[0].details)["lot"]["empreinte"] == empreinte_lot
    verification = registre.verifier_tout()
    assert verification.anomalies == []
    # Le PDF d'origine est cité (par le lot), pas un orphelin de l'archive.
    assert verification.archive.anomalies == [] and verification.archive.orphelins == []

    # La page web du courrier dit de quel lot et de quelles pages la lettre vient.
    nv.creer_comptes(registre)
    app = creer_app(nv.reglages_web(tmp_path / "donnees", url_base), registre)
    with TestClient(app, follow_redirects=False) as client:
        connecter(client, "secretaire")
        page = html.unescape(client.get(f"/courrier/{courriers[0].numero}").text)
    assert "Lettre 1 sur 3 du lot « pile.pdf », pages 2 à 3 sur 9" in page
    assert empreinte_lot in page

    # Redéposé (le copieur l'a envoyé deux fois) : reconnu, rien de nouveau.
    (depot / "pile.pdf").write_bytes(lot)
    vieillir(depot / "pile.pdf")
    bilan = relever_source(SourceScans(depot, 60), registre, lire_entetes)
    assert (bilan.nouveaux, bilan.doublons) == (0, 3)
    assert registre.nombre() == 3


def test_la_purge_efface_le_lot_d_origine_quand_sa_derniere_lettre_est_purgee(
    separateur: bytes, registre: Registre, tmp_path: Path
) -> None:
    """Le PDF d'origine contient les données de toutes ses lettres : il reste tant qu'une
    lettre n'est pas purgée, puis s'en va avec la dernière ; `verifier` reste sans anomalie."""
    depot = tmp_path / "scans"
    depot.mkdir()
    lot = lot_de_trois(separateur)
    (depot / "pile.pdf").write_bytes(lot)
    vieillir(depot / "pile.pdf")
    assert relever_source(SourceScans(depot, 60), registre, lire_entetes).nouveaux == 3
    empreinte_lot = hashlib.sha256(lot).hexdigest()
    premiere, *autres = sorted(registre.courriers(), key=lambda c: c.rang)
    # Deux lettres d'une catégorie gardée sans limite : seule la première arrive à échéance.
    for c in autres:
        registre.corriger_analyse(
            c.numero, "test", categorie="etat_civil", categories=charger_regles().categories
        )
    echeance = date(premiere.recu_le.year + 3, 1, 1)  # ni aujourd'hui, ni une date fixe
    bilan = purger(registre, Conservation(defaut_ans=1, categories={"etat_civil": 0}), echeance)
    assert bilan.purges == [premiere.numero]
    assert registre.archive.chemin(empreinte_lot).exists()
    assert registre.verifier_tout().anomalies == []
    # Les deux autres arrivent à échéance : le lot part avec la dernière.
    bilan = purger(registre, Conservation(defaut_ans=1), echeance)
    assert sorted(bilan.purges) == sorted(c.numero for c in autres)
    assert not registre.archive.chemin(empreinte_lot).exists()
    verification = registre.verifier_tout()
    assert verification.anomalies == []
    assert verification.archive.anomalies == [] and verification.archive.orphelins == []


def test_un_pdf_sans_separatrice_reste_un_seul_courrier(registre: Registre, tmp_path: Path) -> None:
    depot = tmp_path / "scans"
    depot.mkdir()
    (depot / "lettre.pdf").write_bytes(
        pdf_d_images([page_de_lettre(LETTRES[0]), page_de_lettre(LETTRES[1])])
    )
    bilan = relever_source(SourceScans(depot, 0), registre, lire_entetes)
    assert bilan.nouveaux == 1
    (c,) = registre.courriers()
    assert c.nom_fichier == "lettre.pdf" and c.reference == "lettre.pdf"
    assert reference_du_courrier(registre.engine, c.id) is None


def code_en_image(texte: str, format_: zxingcpp.BarcodeFormat) -> Image.Image:
    import numpy

    code = zxingcpp.write_barcode_to_image(zxingcpp.create_barcode(texte, format_))
    return Image.fromarray(numpy.asarray(code))


def test_entrees_hostiles_du_decoupage(separateur: bytes, corpus: Path) -> None:
    sep = scanner(separateur)
    lettre = page_de_lettre(LETTRES[2])
    # Rien que des séparatrices : un lot sans lettre.
    seul = decouper(pdf_d_images([sep, sep.rotate(180)]))
    assert seul is not None and seul.lettres == () and seul.separatrices == 2
    # Un QR étranger (autre contenu) : une page ordinaire, donc pas de lot.
    etranger = Image.new("L", sep.size, 255)
    qr = code_en_image("https://mairie.example/", zxingcpp.BarcodeFormat.QRCode)
    etranger.paste(qr.resize((600, 600), Image.Resampling.NEAREST), (500, 700))
    assert decouper(pdf_d_images([lettre, etranger, lettre])) is None
    # Une séparatrice illisible (QR effacé à moitié) : page ordinaire, rien n'est perdu.
    abimee = sep.copy()
    ImageDraw.Draw(abimee).rectangle((0, 0, sep.width, int(sep.height * 0.45)), fill=255)
    assert decouper(pdf_d_images([lettre, abimee, lettre])) is None
    # Un Code 128 au même contenu sépare aussi, même à l'envers.
    barre = Image.new("L", sep.size, 255)
    code = code_en_image(CONTENU_SEPARATEUR, zxingcpp.BarcodeFormat.Code128)
    barre.paste(code.resize((1200, 200), Image.Resampling.NEAREST), (200, 900))
    coupe = decouper(pdf_d_images([lettre, barre.rotate(180), lettre]))
    assert coupe is not None and [x.pages for x in coupe.lettres] == [(1,), (3,)]
    # Corrompu, tronqué, vide, pas un PDF : pas un lot, traité comme aujourd'hui.
    lot = pdf_d_images([lettre, sep, lettre])
    for hostile in (lot[: len(lot) // 3], b"%PDF-1.7\n" + b"\x00" * 500, b"", b"GIF89a"):
        assert decouper(hostile) is None
    # Page blanche du corpus : sépare seulement si l'option est mise.
    blanche = scanner((corpus / "scans" / "ocrmypdf__blank.pdf").read_bytes())
    avec_blanche = pdf_d_images([lettre, blanche, lettre, lettre])
    assert decouper(avec_blanche) is None
    coupe = decouper(avec_blanche, page_blanche=True)
    assert coupe is not None and [x.pages for x in coupe.lettres] == [(1,), (3, 4)]
    # Le verso blanc d'une séparatrice (copieur en recto verso) n'est pas une lettre.
    coupe = decouper(pdf_d_images([lettre, sep, blanche, lettre]))
    assert coupe is not None and [x.pages for x in coupe.lettres] == [(1,), (4,)]


def test_un_lot_sans_lettre_est_enregistre_tel_quel_et_dit_pourquoi(
    separateur: bytes, registre: Registre, tmp_path: Path
) -> None:
    depot = tmp_path / "scans"
    depot.mkdir()
    contenu = pdf_d_images([scanner(separateur)] * 2)
    (depot / "vide.pdf").write_bytes(contenu)
    assert relever_source(SourceScans(depot, 0), registre, lire_entetes).nouveaux == 1
    (c,) = registre.courriers()
    assert "seulement des feuilles séparatrices" in c.reference
    assert registre.archive.lire(c.empreinte) == contenu


def test_un_lot_de_deux_cents_pages_est_decoupe_et_un_lot_demesure_ne_l_est_pas(
    separateur: bytes,
) -> None:
    # Pages légères (rendu rapide) : ce qui est borné ici, c'est le nombre de pages lues.
    sep = scanner(separateur).resize((827, 1169))
    lettre = page_de_lettre(LETTRES[3]).resize((827, 1169))
    pages = [lettre if i % 4 else sep for i in range(200)]
    contenu = pdf_d_images(pages)
    coupe = decouper(contenu)
    assert coupe is not None and coupe.pages == 200 and coupe.separatrices == 50
    assert len(coupe.lettres) == 50
    assert coupe.lettres[-1].pages == (198, 199, 200)
    assert decouper(contenu, pages_max=199) is None


# --- Pannes : la relève tuée pendant un découpage, puis relancée ------------------------------


def lot_genere(separateur: bytes) -> bytes:
    """Un lot dont les lettres ont une couche texte (pas d'OCR : le test vise le découpage)."""
    from fpdf import FPDF

    document = pdfium.PdfDocument(separateur)
    for lignes in (LETTRES[0], LETTRES[2], LETTRES[3]):
        pdf = FPDF(format="A4")
        pdf.core_fonts_encoding = "windows-1252"
        pdf.add_page()
        pdf.set_font("Helvetica", size=14)
        pdf.multi_cell(0, 10, "\n".join(lignes))
        lettre = pdfium.PdfDocument(bytes(pdf.output()))
        document.import_pages(lettre, index=len(document))
        document.import_pages(pdfium.PdfDocument(separateur), index=len(document))
    tampon = io.BytesIO()
    document.save(tampon)
    return tampon.getvalue()


@pytest.mark.parametrize(
    "panne",
    [
        "apres_enregistrement:1",  # 1 lettre sur 3 validée, fichier pas rangé
        "apres_archive:2",  # octets de la 2e archivés, ligne pas écrite
        "avant_validation:3",  # 3e lettre dans la transaction
        "pendant_decoupage:3",  # 2 lettres validées et acquittées, 3e pas encore remise
        "apres_enregistrement:3",  # tout validé, fichier pas encore rangé
    ],
)
def test_la_releve_tuee_pendant_un_decoupage_ne_perd_ni_ne_double_aucune_lettre(
    separateur: bytes, tmp_path: Path, panne: str
) -> None:
    depot = tmp_path / "scans"
    depot.mkdir()
    lot = lot_genere(separateur)
    (depot / "pile.pdf").write_bytes(lot)
    vieillir(depot / "pile.pdf")
    env = env_cli(tmp_path)

    tuee = subprocess.run(
        [*COURRIER, "releve"],
        env={**env, "COURRIER_PANNE": panne},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert tuee.returncode == -9, tuee.stderr[-2000:]
    assert (depot / "pile.pdf").exists()  # rien n'est rangé tant qu'une lettre manque

    reprise = lancer("releve", env=env, cwd=tmp_path)
    assert reprise.returncode == 0, reprise.stderr[-2000:]
    assert not (depot / "pile.pdf").exists()
    assert [p.name for p in (depot / "traites").iterdir()] == ["pile.pdf"]

    numeros = []
    for rang in (1, 2, 3):
        numero = f"{_annee(tmp_path)}-{rang:05d}"
        montre = lancer("montrer", numero, "--json", env=env, cwd=tmp_path)
        assert montre.returncode == 0, montre.stderr
        c = json.loads(montre.stdout)
        numeros.append(c["numero"])
        assert c["lot"]["empreinte"] == hashlib.sha256(lot).hexdigest()
        assert c["lot"]["rang"] == rang
        assert (c["lot"]["premiere_page"], c["lot"]["derniere_page"]) == (2 * rang, 2 * rang)
        assert [e["type"] for e in c["journal"]].count("recu") == 1
    texte = lancer("montrer", numeros[1], env=env, cwd=tmp_path).stdout
    assert "Lot de scans : lettre 2 sur 3 du lot « pile.pdf »" in texte
    assert "page 4 sur 7" in texte
    assert "lampadaire" in texte
    absent = lancer("montrer", f"{_annee(tmp_path)}-00004", env=env, cwd=tmp_path)
    assert absent.returncode != 0  # ni quatrième lettre, ni doublon enregistré
    verifier = lancer("registre", "verifier", env=env, cwd=tmp_path)
    assert verifier.returncode == 0, verifier.stdout + verifier.stderr


def test_un_pdf_qui_fait_tomber_la_recherche_des_separatrices_ne_fait_pas_tomber_la_releve(
    separateur: bytes, tmp_path: Path
) -> None:
    """La recherche des séparatrices rend les pages par pdfium, dans un processus de service :
    s'il tombe (ici tué au premier rendu, comme le ferait un PDF piégé), la relève continue,
    le fichier est enregistré entier et les fichiers suivants sont encore découpés."""
    depot = tmp_path / "scans"
    depot.mkdir()
    (depot / "a-piege.pdf").write_bytes(lot_genere(separateur))
    vieillir(depot / "a-piege.pdf")
    env = env_cli(tmp_path)
    releve = subprocess.run(
        [*COURRIER, "releve"],
        env={**env, "COURRIER_PANNE": "recherche_separatrices:1"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert releve.returncode == 0, releve.stderr[-2000:]
    assert [p.name for p in (depot / "traites").iterdir()] == ["a-piege.pdf"]
    montre = lancer("montrer", f"{_annee(tmp_path)}-00001", "--json", env=env, cwd=tmp_path)
    assert montre.returncode == 0, montre.stderr
    c = json.loads(montre.stdout)
    assert c.get("lot") is None and c["nom_fichier"] == "a-piege.pdf"  # enregistré entier
    absent = lancer("montrer", f"{_annee(tmp_path)}-00002", env=env, cwd=tmp_path)
    assert absent.returncode != 0


def test_le_decoupage_a_part_rend_le_meme_decoupage_ou_abandonne(separateur: bytes) -> None:
    lot = lot_genere(separateur)
    a_part = decouper_a_part(lot, False)
    assert a_part == decouper(lot)  # mêmes pages, mêmes octets de chaque lettre
    assert a_part is not None and len(a_part.lettres) == 3
    # Trop long : le sous-processus est tué, le fichier sera enregistré entier.
    assert decouper_a_part(lot, False, delai_s=0.001) is None
    assert decouper_a_part(b"", False) is None and decouper_a_part(b"GIF89a", False) is None
    # Ce que le sous-processus écrit est relu et borné, jamais exécuté.
    for reponse in (
        b"",
        b"{",
        b'{"pages": 1, "separatrices": 0, "lettres": [{"rang": 1, "pages": [7], "contenu": ""}]}',
        b'"__import__"',
    ):
        with pytest.raises((ValueError, KeyError, TypeError)):
            depuis_json(reponse)


def _annee(tmp: Path) -> int:
    from sqlalchemy import create_engine, text

    moteur = create_engine(f"sqlite:///{tmp / 'donnees' / 'registre.sqlite3'}")
    try:
        with moteur.connect() as connexion:
            return int(connexion.execute(text("SELECT min(annee) FROM courriers")).scalar_one())
    finally:
        moteur.dispose()


def test_avec_l_option_page_blanche_le_depot_coupe_aux_pages_blanches_du_corpus(
    registre: Registre, tmp_path: Path, corpus: Path
) -> None:
    depot = tmp_path / "scans"
    depot.mkdir()
    blanche = scanner((corpus / "scans" / "ocrmypdf__blank.pdf").read_bytes())
    pile = [page_de_lettre(LETTRES[0]), blanche, page_de_lettre(LETTRES[2])]
    (depot / "pile.pdf").write_bytes(pdf_d_images(pile))
    bilan = relever_source(SourceScans(depot, 0, page_blanche=True), registre, lire_entetes)
    assert bilan.nouveaux == 2
    refs = sorted(c.reference for c in registre.courriers())
    assert refs == ["pile.pdf (lettre 1/2, page 1)", "pile.pdf (lettre 2/2, page 3)"]

    # Sans l'option (par défaut), la même pile dans l'autre sens reste un seul courrier.
    (depot / "sans-option.pdf").write_bytes(pdf_d_images(pile[::-1]))
    assert relever_source(SourceScans(depot, 0), registre, lire_entetes).nouveaux == 1
    assert registre.nombre() == 3
