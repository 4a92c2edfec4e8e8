"""Extraction des courriels : tout le corpus réel, puis des entrées hostiles faites ici.

Les fichiers viennent de ../shared/corpus/emails ; leur origine et ce qu'ils ont de difficile
sont décrits dans ../shared/corpus/emails/MANIFEST.tsv (cité par numéro ci-dessous).
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import tempfile
import zipfile
import zlib
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from connecteurs.ocr import Tesseract
from courrier.extraction import extraire_courriel, lire_entetes
from courrier.extraction.mime import decoder_mots_encodes
from courrier.extraction.texte import decoder_octets, html_en_texte
from noyau.domaine import EntetesCourrier, Limites, ResultatExtraction
from tests.conftest import CORPUS

COURRIELS = CORPUS / "emails"
FICHIERS = (
    sorted(p.name for p in COURRIELS.iterdir() if p.name != "MANIFEST.tsv")
    if COURRIELS.is_dir()
    else []
)
MOJIBAKE = ("Ã©", "Ã¨", "Ã ", "Ã§", "â€", "\ufffd")


class Archive:
    """Le `deposer` de l'appelant : rangement par empreinte, ici en mémoire."""

    def __init__(self) -> None:
        self.objets: dict[str, bytes] = {}

    def __call__(self, octets: bytes) -> str:
        empreinte = hashlib.sha256(octets).hexdigest()
        self.objets[empreinte] = octets
        return empreinte


@pytest.fixture(scope="module")
def ocr() -> Tesseract:
    return Tesseract()


def extraire(
    contenu: bytes, ocr: Tesseract, limites: Limites | None = None, archive: Archive | None = None
) -> ResultatExtraction:
    return extraire_courriel(contenu, archive or Archive(), limites or Limites(), ocr)


def du_corpus(nom_debut: str) -> bytes:
    (chemin,) = COURRIELS.glob(f"{nom_debut}*")
    return chemin.read_bytes()


def chaines(resultat: ResultatExtraction) -> list[str]:
    valeurs = [resultat.texte, resultat.methode, *resultat.erreurs]
    for piece in resultat.pieces:
        valeurs += [piece.nom, piece.type_mime, piece.texte, piece.methode, piece.erreur or ""]
    if resultat.entetes is not None:
        e = resultat.entetes
        valeurs += [e.expediteur, e.expediteur_adresse, e.destinataires, e.objet, e.message_id]
        valeurs += [e.in_reply_to, e.references]
    return valeurs


# --- Le corpus entier -------------------------------------------------------------------------


def test_le_corpus_des_courriels_correspond_a_son_manifeste() -> None:
    manifeste = (COURRIELS / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()[1:]
    assert sorted(ligne.split("\t")[0] for ligne in manifeste if ligne) == FICHIERS
    assert len(FICHIERS) > 50


@pytest.mark.parametrize("nom", FICHIERS)
def test_chaque_courriel_du_corpus_est_extrait_sans_exception(nom: str, ocr: Tesseract) -> None:
    contenu = (COURRIELS / nom).read_bytes()
    archive = Archive()
    resultat = extraire(contenu, ocr, archive=archive)

    assert isinstance(resultat, ResultatExtraction)
    assert resultat.entetes is not None
    assert all("\x00" not in valeur for valeur in chaines(resultat))
    assert [p.rang for p in resultat.pieces] == list(range(1, len(resultat.pieces) + 1))
    for piece in resultat.pieces:
        assert archive.objets[piece.empreinte].__len__() == piece.taille
        assert piece.nom and len(piece.nom) <= 150
        assert not set(piece.nom) & {"/", "\\", "\n", "\r", "\t"} and ".." not in piece.nom
    if resultat.echec or not resultat.texte.strip():
        assert resultat.erreurs, "un courriel sans texte doit dire pourquoi"
    # L'enregistrement lit les en-têtes sans extraire : il doit voir la même chose.
    assert lire_entetes(contenu) == resultat.entetes


def test_un_fichier_outlook_msg_est_lu_comme_un_courriel(ocr: Tesseract) -> None:
    # MANIFEST 79 : fichier OLE2, pas du MIME ; lu par extract-msg (issue #10, point 2).
    archive = Archive()
    resultat = extraire(du_corpus("79_"), ocr, archive=archive)
    assert not resultat.echec and resultat.erreurs == []
    assert resultat.entetes is not None
    assert resultat.entetes.objet == "Newsletter Prüfung Personalwesen / Prüfung Eröffnungsbilanz"
    assert resultat.entetes.expediteur_adresse == "nueblingv@w-vwa.de"
    assert resultat.entetes.date == datetime(2017, 9, 18, 10, 0, 18, tzinfo=UTC)
    assert "Sehr geehrte Frau Gaiser-Schönenborn" in resultat.texte
    assert [p.nom for p in resultat.pieces][:2] == ["newsletter.png", "spacer.gif"]
    assert all(p.empreinte in archive.objets for p in resultat.pieces)
    assert lire_entetes(du_corpus("79_")) == resultat.entetes


def test_un_nom_de_piece_qui_remonte_l_arborescence_est_reduit_a_son_nom_de_base(
    ocr: Tesseract,
) -> None:
    # MANIFEST 28 : nom déclaré « 1234/../../1234.txt », pièce vide.
    resultat = extraire(du_corpus("28_"), ocr)
    (piece,) = resultat.pieces
    assert piece.nom == "1234.txt"
    assert piece.erreur == "Pièce jointe vide (0 octet)."
    assert resultat.entetes is not None and resultat.entetes.objet == "1234 / 1234"


def test_un_nom_de_piece_contenant_un_saut_de_ligne_est_mis_sur_une_ligne(
    ocr: Tesseract,
) -> None:
    # MANIFEST 34 : nom encodé qui se décode avec un saut de ligne.
    (piece,) = extraire(du_corpus("34_"), ocr).pieces
    assert piece.nom == "Kontoutskrift for 1506.14.90466 Bedriftskonto.pdf"


def test_un_courriel_de_plus_de_300_pieces_jointes_est_lu_en_entier(ocr: Tesseract) -> None:
    # MANIFEST 36.
    resultat = extraire(du_corpus("36_"), ocr)
    assert len(resultat.pieces) > 300
    assert all(p.methode == "texte" and p.texte and p.erreur is None for p in resultat.pieces)
    assert resultat.pieces[0].texte.startswith(":20:XYZ1801/04XXX")
    assert resultat.texte == "test" and resultat.methode == "html"


def test_au_dela_de_la_limite_les_pieces_sont_conservees_sans_etre_analysees(
    ocr: Tesseract,
) -> None:
    archive = Archive()
    resultat = extraire(du_corpus("36_"), ocr, Limites(pieces_max=10), archive)
    total = len(resultat.pieces)
    assert total > 300
    assert all(p.texte for p in resultat.pieces[:10])
    for piece in resultat.pieces[10:]:
        assert piece.texte == "" and piece.methode == "aucune"
        assert piece.erreur is not None and "Pièce non analysée" in piece.erreur
        assert piece.empreinte in archive.objets
    assert any(
        "seules les 10 premières ont été analysées" in e and "compte" in e for e in resultat.erreurs
    )


@pytest.mark.parametrize(
    ("debut", "objet"),
    [
        ("13_", "Je prépare mon été zéro complexe !"),  # MANIFEST 13 : mots encodés UTF-8
        ("57_", "Nicolas Fouché has accepted your invitation to Gmail"),  # 57 : iso-8859-1
        ("19_", "Mail avec fichier attaché de 1ko"),  # 19 : QP iso-8859-1
        ("22_", "50032266 CAR 11_MNPA00A01_9PTX_H00 ATT N° 1467829. pdf"),  # 22 : « N° »
        ("49_", "Formação FrenetikPolis: Mega Campanha Final Verão | Cursos de Setembro"),
        (
            "32_",
            "Automatyczna odpowiedź: Piotrze, test z 6 miesięcy nauki ciągle na Ciebie czeka",
        ),
        ("17_", "代开各地增值税发票"),  # 17 : mots encodés GB2312
        ("63_", "Säying Hello"),  # 63 : UTF-8 brut dans les en-têtes (RFC 6532)
    ],
)
def test_les_objets_sont_decodes_sans_mojibake(debut: str, objet: str) -> None:
    entetes = lire_entetes(du_corpus(debut))
    assert entetes.objet == objet


def test_les_expediteurs_sont_decodes_et_leur_adresse_mise_en_minuscules() -> None:
    entetes = lire_entetes(du_corpus("57_"))
    assert entetes.expediteur == "Gmail Team <gmail-noreply@google.com>"
    assert entetes.destinataires == "Nicolas Fouché <a.b@gmail.com>"
    # MANIFEST 49 : nom affiché encodé en windows-1252.
    assert lire_entetes(du_corpus("49_")).expediteur.startswith("Formação Frenetikpolis <")
    # MANIFEST 63 : adresses UTF-8 brutes.
    utf8 = lire_entetes(du_corpus("63_"))
    assert utf8.expediteur == "Jöhn Doe <jdöe@mächine.example>"
    assert utf8.expediteur_adresse == "jdöe@mächine.example"
    assert lire_entetes(du_corpus("44_")).expediteur_adresse == "enews@free-quilting.com"


def test_la_date_est_rendue_en_utc_et_une_date_illisible_donne_none() -> None:
    assert lire_entetes(du_corpus("19_")).date == datetime(2013, 6, 16, 15, 50, 12, tzinfo=UTC)
    # MANIFEST 44 : « Wed, 15 Dec 2010    59:10 -0500 », l'heure manque.
    assert lire_entetes(du_corpus("44_")).date is None


def test_les_identifiants_de_message_sont_gardes_pour_le_fil_de_discussion() -> None:
    entetes = lire_entetes(du_corpus("29_"))
    assert entetes.message_id.startswith("<CAH-PCH47Mx9AiP9yWLK")
    assert entetes.in_reply_to.startswith("<") and entetes.references.startswith("<")


@pytest.mark.parametrize(
    ("debut", "attendu"),
    [
        # 17 : étiqueté gb2312, écrit en UTF-8.
        ("17_", "我公司可代开各类增值税发票"),
        # 33 : étiqueté x-mac-cyrillic, écrit en UTF-8 (son cyrillique est doublement encodé
        # à la source et reste tel que les octets le disent).
        ("33_", "on the Bulgarian Black Sea Coast(EU)."),
        # 60 : charset inconnu « x-unknown ».
        ("60_", "Envoyé par le service de messagerie texte de Bell Mobilité."),
        # 37 : vrai GB2312 en quoted-printable, structure non refermée.
        ("37_", "次の受信者またはグループへの配信に失敗しました"),
        # 22 : iso-8859-1 quoted-printable, français.
        ("22_", "Pas à pas, agissons au quotidien pour préserver notre environnement."),
        # 15 : iso-8859-1, italien.
        ("15_", "vi segnalo che oggi è stato annunciato"),
        # 25 : ks_c_5601-1987 en base64.
        ("25_", "My traveling companions!"),
        # 10 : HTML UTF-8 en base64, cyrillique.
        ("10_", "Информируем Вас об имеющейся задолженности."),
        # 32 : étiqueté iso-2022-jp, texte ASCII.
        ("32_", "toto"),
    ],
)
def test_les_charsets_menteurs_ou_rares_donnent_un_texte_lisible(
    debut: str, attendu: str, ocr: Tesseract
) -> None:
    resultat = extraire(du_corpus(debut), ocr)
    assert attendu in resultat.texte
    assert not any(signe in resultat.texte for signe in MOJIBAKE)


def test_un_texte_joint_en_iso_8859_1_est_decode(ocr: Tesseract) -> None:
    # MANIFEST 23 : nom RFC 2231 « HasenundFrösche.txt ».
    (piece,) = extraire(du_corpus("23_"), ocr).pieces
    assert piece.nom == "HasenundFrösche.txt"
    assert "Die Hasen klagten einst über ihre mißliche Lage" in piece.texte
    assert piece.methode == "texte"


def test_le_texte_brut_est_prefere_au_html_et_le_html_n_est_jamais_rendu(
    ocr: Tesseract,
) -> None:
    # MANIFEST 13 : multipart/alternative, texte brut puis HTML avec images intégrées.
    resultat = extraire(du_corpus("13_"), ocr)
    assert resultat.methode == "texte"
    assert "Offre valable du 8 mars au 8 avril 2017" in resultat.texte
    # MANIFEST 46 : HTML seul, iso-8859-1, transfert « 8bits » inventé.
    html = extraire(du_corpus("46_"), ocr)
    assert html.methode == "html"
    assert "Holiday Gift Ideas for the Computer Professional!" in html.texte
    assert "<" not in html.texte.split("jeff_dasovich@enron.com")[0]


def test_une_frontiere_mime_introuvable_est_retrouvee_dans_le_corps(ocr: Tesseract) -> None:
    # MANIFEST 09 : frontière annoncée absente ; 55 : frontière non protégée contenant « = ».
    espagnol = extraire(du_corpus("09_"), ocr)
    assert "Problemas para visualizar" in espagnol.texte
    assert espagnol.erreurs == []
    outlook = extraire(du_corpus("55_"), ocr)
    assert outlook.texte == "Hello\nThis is an outlook test\n\nSo there.\n\nMe."


def test_une_piece_rejetee_dans_l_epilogue_est_retrouvee(ocr: Tesseract) -> None:
    # MANIFEST 07 : l'alternative réutilise la frontière de sa mère ; le zip est « perdu ».
    resultat = extraire(du_corpus("07_"), ocr)
    assert resultat.texte == "--Sent from my iPhone"
    (piece,) = resultat.pieces
    assert piece.nom == "20160523_916527.jpg_.zip" and piece.methode == "liste"
    assert piece.texte == "Archive ZIP (1 fichiers) :\n- 20160523_211439.jpg_.jpg.exe"


def test_une_ligne_d_en_tete_invalide_ne_fait_pas_perdre_les_en_tetes_suivants(
    ocr: Tesseract,
) -> None:
    # MANIFEST 61 : « quite Delivered-To: » au milieu ; 29 : suites DKIM sans espace.
    assert lire_entetes(du_corpus("61_")).objet == "Stop adware/spyware once and for all."
    php = extraire(du_corpus("29_"), ocr)
    assert php.entetes is not None
    assert php.entetes.objet == "Re: [PHP-DEV] [RFC] Remove PHP 4 Constructors"
    assert php.texte.startswith("On Wed, Nov 19, 2014 at 12:11 AM, Levi Morrison")


def test_un_courriel_sans_corps_le_dit(ocr: Tesseract) -> None:
    # MANIFEST 50 : multipart/mixed sans aucun contenu.
    resultat = extraire(du_corpus("50_"), ocr)
    assert not resultat.echec and resultat.methode == "aucune"
    assert resultat.erreurs == ["Le courriel est vide : ni texte ni pièce jointe."]


def test_un_message_transfere_est_lu_et_ses_pieces_sont_rangees(ocr: Tesseract) -> None:
    # MANIFEST 38 : message/rfc822 contenant lui-même un PDF cassé.
    archive = Archive()
    resultat = extraire(du_corpus("38_"), ocr, archive=archive)
    transfere, pdf = resultat.pieces
    assert transfere.nom == "ForwardedMessage.eml" and transfere.type_mime == "message/rfc822"
    assert transfere.texte.startswith("De : Test Tester <xxxx@xxxx.com>")
    assert "Just attaching another PDF" in transfere.texte
    assert "Pièces jointes : broken.pdf" in transfere.texte
    assert archive.objets[transfere.empreinte].startswith(b"Return-Path:")
    assert pdf.nom == "broken.pdf" and pdf.methode == "aucune"
    assert pdf.erreur is not None and pdf.erreur.startswith("PDF illisible ou tronqué")


def test_un_message_transfere_encode_en_base64_est_decode(ocr: Tesseract) -> None:
    # MANIFEST 35 : .docx, .pdf, .odt, image, et un message/rfc822 en base64.
    resultat = extraire(du_corpus("35_"), ocr)
    par_nom = {p.nom: p for p in resultat.pieces[:5]}
    assert par_nom["Hello from SwiftMailer.pdf"].methode == "pdf"
    assert par_nom["Hello from SwiftMailer.pdf"].texte == "Hello from SwiftMailer !"
    for bureautique in ("Hello from SwiftMailer.docx", "Hello from SwiftMailer.odt"):
        assert par_nom[bureautique].methode == "bureautique"
        assert par_nom[bureautique].texte == "Hello from SwiftMailer\u00a0!"  # insécable d'origine
    eml = par_nom["test-localhost.eml"]
    assert eml.methode == "texte" and "Objet : test-localhost" in eml.texte
    assert "UmV0dXJu" not in resultat.texte + eml.texte


def test_les_images_integrees_au_corps_ne_sont_pas_lues(ocr: Tesseract) -> None:
    # MANIFEST 13 : images Content-ID dans multipart/related.
    resultat = extraire(du_corpus("13_"), ocr)
    assert resultat.pieces and all(p.en_ligne and p.methode == "aucune" for p in resultat.pieces)


def test_un_pdf_joint_est_lu_par_sa_couche_texte(ocr: Tesseract) -> None:
    # MANIFEST 11 : Bollettino.pdf déclaré application/octet-stream.
    pdf = next(p for p in extraire(du_corpus("11_"), ocr).pieces if p.nom == "Bollettino.pdf")
    assert pdf.methode == "pdf" and pdf.pages == 2
    assert pdf.texte.startswith("BOLLETTINO METEOROLOGICO")


def test_une_archive_zip_jointe_est_listee_sans_etre_ouverte(ocr: Tesseract) -> None:
    # MANIFEST 10 : zip au nom cyrillique.
    (piece,) = extraire(du_corpus("10_"), ocr).pieces
    assert piece.nom == "ФНС_РФ558.zip" and piece.methode == "liste"
    assert piece.texte.startswith("Archive ZIP (1 fichiers) :\n- ")


def test_une_signature_smime_est_reconnue(ocr: Tesseract) -> None:
    # MANIFEST 56 : multipart/signed, PNG tronqué et smime.p7s.
    png, signature = extraire(du_corpus("56_"), ocr).pieces
    assert png.erreur == "Image illisible ou abîmée : conservée, non lue."
    assert signature.erreur == "Signature électronique S/MIME : conservée, non vérifiée."


# --- Entrées hostiles ou absurdes ----------------------------------------------------------------


@pytest.mark.parametrize(
    "contenu",
    [
        b"",
        b"\x00" * 1000,
        os.urandom(5000),
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(600),
        b"Subject: =?utf-8?B?////?= =?x-inconnu?Q?=FF=FE?=\n\n",
        b"From: <<<@@@>>>\nDate: 99 Foo 99999 99:99:99 +9999\nTo: ,,,\n\n",
        b"Subject: " + b"\xff\xfe" * 300_000 + b"\n\ncorps",
        b"%PDF-1.4\n" + os.urandom(300),
        b"From: a@b.example\r\n" * 50_000,
    ],
    ids=["vide", "nuls", "aleatoire", "ole2", "mots-encodes", "adresses", "8bits", "pdf", "repete"],
)
def test_lire_entetes_ne_leve_jamais_d_exception(contenu: bytes, ocr: Tesseract) -> None:
    entetes = lire_entetes(contenu)
    assert isinstance(entetes, EntetesCourrier)
    assert "\x00" not in entetes.objet + entetes.expediteur
    assert len(entetes.objet) <= 1000
    resultat = extraire(contenu, ocr)
    assert all("\x00" not in valeur for valeur in chaines(resultat))


def test_un_fichier_vide_ou_qui_n_est_pas_un_courriel_echoue_avec_une_raison(
    ocr: Tesseract,
) -> None:
    vide = extraire(b"", ocr)
    assert vide.echec and vide.erreurs == ["Le fichier est vide : rien à lire."]
    pdf = extraire((CORPUS / "scans" / "invoice2data__free_fiber.pdf").read_bytes(), ocr)
    assert pdf.echec
    assert pdf.erreurs == [
        "Ce fichier n'est pas un courriel mais un fichier PDF : conservé tel quel, texte non lu."
    ]
    binaire = extraire(b"\x01\x02\x03 pas du tout un courriel\n\x04", ocr)
    assert binaire.echec and "ne ressemble pas à un courriel" in binaire.erreurs[0]


def test_un_nul_et_un_en_tete_d_un_mega_octet_ne_passent_pas(ocr: Tesseract) -> None:
    contenu = (
        b"From: Jean Dupont <Jean.Dupont@Exemple.Example>\r\n"
        b"To: mairie@exemple.example\r\n"
        b"Subject: Demande\x00 de salle\r\n"
        b"X-Rempli: " + b"a" * (1024 * 1024) + b"\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
        b"Bonjour,\x00 je voudrais r\xc3\xa9server la salle des f\xc3\xaates.\r\n"
    )
    entetes = lire_entetes(contenu)
    assert entetes.objet == "Demande de salle"
    assert entetes.expediteur_adresse == "jean.dupont@exemple.example"
    resultat = extraire(contenu, ocr)
    assert resultat.texte == "Bonjour, je voudrais réserver la salle des fêtes."
    assert resultat.entetes == entetes
    assert resultat.erreurs == [
        "Un en-tête anormalement long (1,0 Mo) a été coupé à 64 Ko.",
        "Les en-têtes du courriel contiennent des octets nuls (NUL) : ils sont retirés des "
        "valeurs lues ; l'original est conservé tel quel.",
    ]


def bombe_zip(taille_mo: int = 200) -> bytes:
    """Un fichier de zéros de `taille_mo` Mo, compressé en flux : ≈ 200 Ko en mémoire."""
    tampon = io.BytesIO()
    with (
        zipfile.ZipFile(tampon, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("zeros.bin", "w", force_zip64=True) as fichier,
    ):
        bloc = bytes(1024 * 1024)
        for _ in range(taille_mo):
            fichier.write(bloc)
    return tampon.getvalue()


def courriel(*pieces: tuple[bytes, str, str, str]) -> bytes:
    message = EmailMessage()
    message["From"] = "Jean Dupont <jean@exemple.example>"
    message["To"] = "mairie@exemple.example"
    message["Subject"] = "Pièces jointes"
    message.set_content("Bonjour, voici les pièces.")
    for octets, principal, secondaire, nom in pieces:
        message.add_attachment(octets, maintype=principal, subtype=secondaire, filename=nom)
    return message.as_bytes()


def test_une_bombe_zip_jointe_est_signalee_et_jamais_decompressee(ocr: Tesseract) -> None:
    zip_bombe = bombe_zip()
    assert len(zip_bombe) < 400_000
    resultat = extraire(courriel((zip_bombe, "application", "zip", "factures.zip")), ocr)
    (piece,) = resultat.pieces
    assert piece.methode == "liste"
    assert piece.texte == "Archive ZIP (1 fichiers) :\n- zeros.bin"
    assert piece.erreur is not None
    assert piece.erreur.startswith("Archive suspecte (bombe de décompression possible) : 200,0 Mo")
    assert "n'est pas ouverte" in piece.erreur
    assert resultat.texte == "Bonjour, voici les pièces."


def image_de_texte(lignes: list[str]) -> bytes:
    try:
        police = ImageFont.truetype("DejaVuSans.ttf", 40)
    except OSError:
        pytest.skip("police DejaVu absente")
    image = Image.new("L", (1600, 120 + 90 * len(lignes)), 255)
    dessin = ImageDraw.Draw(image)
    for i, ligne in enumerate(lignes):
        dessin.text((60, 50 + 90 * i), ligne, font=police, fill=0)
    tampon = io.BytesIO()
    image.save(tampon, format="PNG", dpi=(300, 300))
    return tampon.getvalue()


def test_une_piece_nommee_etc_passwd_n_ecrit_rien_hors_du_dossier_temporaire(
    ocr: Tesseract, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temporaire = tmp_path / "tmp"
    courant = tmp_path / "courant"
    temporaire.mkdir()
    courant.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporaire))
    monkeypatch.chdir(courant)
    scan = image_de_texte(["Demande de permis de construire", "Parcelle cadastrale 42"])
    contenu = courriel(
        (b"root:x:0:0:root:/root:/bin/sh\n", "text", "plain", "../../etc/passwd\x07"),
        (scan, "image", "png", "../../../scan.png"),
    )
    resultat = extraire(contenu, ocr)
    texte, image = resultat.pieces
    assert texte.nom == "passwd" and texte.texte.startswith("root:x:0:0")
    assert image.nom == "scan.png" and image.methode == "ocr"
    assert "permis de construire" in image.texte
    assert image.confiance_ocr is not None and image.confiance_ocr > 80
    assert list(temporaire.iterdir()) == [] and list(courant.iterdir()) == []
    assert not (tmp_path / "etc").exists()


def test_une_petite_image_jointe_est_consideree_comme_integree(ocr: Tesseract) -> None:
    tampon = io.BytesIO()
    Image.new("RGB", (120, 40), "white").save(tampon, format="PNG")
    (piece,) = extraire(courriel((tampon.getvalue(), "image", "png", "logo.png")), ocr).pieces
    assert piece.en_ligne and piece.methode == "aucune" and piece.erreur is None


def test_une_image_jointe_bombe_de_decompression_est_refusee(ocr: Tesseract) -> None:
    def bloc(genre: bytes, donnees: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(genre + donnees) & 0xFFFFFFFF)
        return struct.pack(">I", len(donnees)) + genre + donnees + crc

    entete = struct.pack(">IIBBBBB", 30_000, 30_000, 8, 0, 0, 0, 0)
    png = (
        b"\x89PNG\r\n\x1a\n"
        + bloc(b"IHDR", entete)
        + bloc(b"IDAT", zlib.compress(bytes(30_001)))
        + bloc(b"IEND", b"")
    )
    (piece,) = extraire(courriel((png, "image", "png", "plan.png")), ocr).pieces
    assert piece.methode == "aucune"
    assert piece.erreur is not None and "bombe de décompression" in piece.erreur


def test_une_piece_trop_volumineuse_est_conservee_sans_etre_lue(ocr: Tesseract) -> None:
    archive = Archive()
    gros = b"Lorem ipsum " * 1000
    contenu = courriel((gros, "text", "plain", "gros.txt"))
    resultat = extraire(contenu, ocr, Limites(taille_max_piece=1000), archive)
    (piece,) = resultat.pieces
    assert archive.objets[piece.empreinte] == gros and piece.texte == ""
    assert piece.erreur is not None and piece.erreur.startswith("Pièce trop volumineuse")


def test_un_texte_trop_long_est_tronque_avec_une_raison(ocr: Tesseract) -> None:
    contenu = b"From: a@b.example\r\nSubject: long\r\n\r\n" + b"x" * 5000
    resultat = extraire(contenu, ocr, Limites(caracteres_max=100))
    assert resultat.texte == "x" * 100
    assert resultat.erreurs == ["Texte tronqué à 100 caractères (il en comptait 5\u00a0000)."]


def test_les_messages_transferes_trop_imbriques_ne_sont_pas_relus(ocr: Tesseract) -> None:
    message = b"From: c@d.example\r\nSubject: niveau 0\r\n\r\nau fond\r\n"
    for niveau in range(1, 5):
        message = (
            b"From: c@d.example\r\nSubject: niveau %d\r\n"
            b'Content-Type: multipart/mixed; boundary="f%d"\r\n\r\n'
            b"--f%d\r\nContent-Type: text/plain\r\n\r\ncorps %d\r\n"
            b"--f%d\r\nContent-Type: message/rfc822\r\n\r\n"
            % ((niveau,) * 5)
            + message
            + b"\r\n--f%d--\r\n" % niveau
        )
    resultat = extraire(message, ocr, Limites(profondeur_max=2))
    assert resultat.texte == "corps 4"
    assert [p.nom for p in resultat.pieces] == ["niveau 3.eml", "niveau 2.eml", "niveau 1.eml"]
    assert "corps 3" in resultat.pieces[0].texte and "corps 2" in resultat.pieces[1].texte
    assert resultat.pieces[2].erreur == (
        "Message transféré imbriqué sur plus de 2 niveaux : conservé, non lu."
    )


def test_une_structure_mime_imbriquee_a_l_extreme_ne_fait_pas_tomber_l_extraction(
    ocr: Tesseract,
) -> None:
    ouvertures = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
        for i in range(3000)
    )
    contenu = b"From: a@b.example\r\nSubject: poupees\r\n" + ouvertures + b"\r\nau fond\r\n"
    resultat = extraire(contenu, ocr)
    assert resultat.erreurs
    assert lire_entetes(contenu).objet == "poupees"


# --- Décodage et HTML ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("octets", "charset", "attendu"),
    [
        ("Été à Noël".encode("gb18030"), "gb2312", "Été à Noël"),
        ("안녕하세요".encode("cp949"), "ks_c_5601-1987", "안녕하세요"),
        ("שלום".encode("iso-8859-8"), "iso-8859-8-i", "שלום"),
        ("Привет".encode("mac-cyrillic"), "x-mac-cyrillic", "Привет"),
        ("façon".encode("cp1252"), "x-unknown", "façon"),
        ("façon".encode("cp1252"), "iso-2022-jp", "façon"),  # étiquette 7 bits, octets 8 bits
        ("œuvre – 5 €".encode("cp1252"), "iso-8859-1", "œuvre – 5 €"),
        ("Noël".encode("utf-16"), None, "Noël"),
        ("Noël".encode("utf-16-le"), "utf-16le", "Noël"),
        ("Noël".encode("utf-16-le"), None, "Noël"),
        ("Bâle".encode(), "big5", "Bâle"),  # UTF-8 valide étiqueté autrement
        (b"\\x41\\u0042", "unicode_escape", "\\x41\\u0042"),  # jamais d'échappements interprétés
        (b"\xff\xfe\xfd", "utf-8", "ÿþý"),
    ],
)
def test_les_octets_sont_decodes_malgre_les_etiquettes(
    octets: bytes, charset: str | None, attendu: str
) -> None:
    assert decoder_octets(octets, charset) == attendu


def test_un_caractere_coupe_entre_deux_mots_encodes_est_recolle() -> None:
    # « é » (C3 A9) coupé entre deux mots encodés, comme le font certains logiciels.
    assert decoder_mots_encodes("=?utf-8?B?ww==?= =?utf-8?B?qQ==?=") == "é"
    assert decoder_mots_encodes("=?UTF-8?Q?=C3?=\r\n =?utf-8?Q?=A9t=C3=A9?=") == "été"
    assert decoder_mots_encodes("Re: =?iso-8859-1?Q?Fouch=E9?= et =?bogus?Q?x?=") == (
        "Re: Fouché et x"
    )


def test_le_html_devient_du_texte_sans_script_ni_style_ni_entete() -> None:
    html = (
        "<html><head><title>Titre</title><style>p{color:red}</style></head><body>"
        "<script>alert('x')</script><h1>Mairie</h1><p>Salle des f&ecirc;tes&nbsp;: "
        "r&eacute;servation &amp; tarifs</p><ul><li>Samedi</li><li>Dimanche</li></ul>"
        "<table><tr><td>Tarif</td><td>50 &euro;</td></tr></table><br>Fin<!-- secret -->"
        "</body></html>"
    )
    assert html_en_texte(html) == (
        "Mairie\n\nSalle des fêtes : réservation & tarifs\n\n- Samedi\n\n- Dimanche\n\n"
        "Tarif\t50 €\n\nFin"
    )


def test_un_courriel_enregistre_avec_un_bom_est_lu() -> None:
    contenu = b"\xef\xbb\xbfFrom: a@b.example\r\nSubject: =?utf-8?Q?R=C3=A9union?=\r\n\r\nCorps"
    assert lire_entetes(contenu).objet == "Réunion"
