"""La réponse papier : un vrai PDF (fpdf2), relu par un vrai lecteur (pdfplumber), sans fausses."""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import pdfplumber
import pytest
from pdfplumber.pdf import PDF

from courrier.lettre import (
    A_COMPLETER,
    FENETRE,
    LIGNES_ADRESSE,
    MARGE_BAS,
    MARGE_DROITE,
    MARGE_HAUT,
    MM_EN_POINTS,
    POLICE,
    POLICES,
    ZONE_ADRESSE,
    adresse_postale,
    composer_lettre,
)
from noyau.analyse import Analyse, Commune, Expediteur
from registre.tables import Courrier

LE = date(2026, 11, 23)
COMMUNE = Commune(
    nom="Saint-Aubin-sur-Loire",
    maire="Hélène Lefèvre",
    adresse="1 place de l'Église\n45000 Saint-Aubin-sur-Loire",
    telephone="02 38 00 00 00",
    email="mairie@saint-aubin.example",
)
DESTINATAIRE = "Mme Françoise Bœuf\nRésidence Les Tilleuls, bât. C\n3 rue des Écoles\n72000 LE MANS"
OBJET = "Votre demande d’autorisation de buvette – fête de l’école"
CORPS = (
    "Madame,\n\n"
    "Par courrier reçu le 12 novembre, vous sollicitez l’ouverture d’une buvette « temporaire » "
    "lors de la fête de l’école. J’ai le plaisir de vous informer que votre demande est "
    "acceptée ; la redevance d’occupation s’élève à 15 € (œuvres scolaires)…\n\n"
    "Je vous prie d’agréer, Madame, l’expression de mes salutations distinguées."
)
HAUTEUR_A4 = 297 * MM_EN_POINTS
LARGEUR_A4 = 210 * MM_EN_POINTS
# pdfplumber mesure la boîte de la police entière (jambages compris) : un demi-point de jeu.
JEU = 0.5


@contextmanager
def ouvrir(contenu: bytes) -> Iterator[PDF]:
    with pdfplumber.open(io.BytesIO(contenu)) as pdf:
        yield pdf


def texte_complet(pdf: PDF) -> str:
    return "\n".join(page.extract_text() or "" for page in pdf.pages)


def dans(mot: dict[str, object], zone: tuple[float, float, float, float]) -> bool:
    x0, haut, x1, bas = zone
    return (
        float(mot["x0"]) >= x0 - JEU  # type: ignore[arg-type]
        and float(mot["x1"]) <= x1 + JEU  # type: ignore[arg-type]
        and float(mot["top"]) >= haut - JEU  # type: ignore[arg-type]
        and float(mot["bottom"]) <= bas + JEU  # type: ignore[arg-type]
    )


def texte_de_la_fenetre(pdf: PDF) -> list[str]:
    fenetre = pdf.pages[0].crop(FENETRE.en_points(), strict=False)
    return (fenetre.extract_text() or "").splitlines()


def lettre(**changements: object) -> bytes:
    arguments: dict[str, object] = {
        "commune": COMMUNE,
        "destinataire": DESTINATAIRE,
        "objet": OBJET,
        "corps": CORPS,
        "reference": "2026-00042",
    }
    arguments |= changements
    arguments.setdefault("le", LE)
    return composer_lettre(**arguments)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# La lettre ordinaire


def test_la_fenetre_est_celle_des_enveloppes_dl_et_c5_6_et_l_adresse_y_tient_avec_du_jeu() -> None:
    assert (FENETRE.x, FENETRE.y, FENETRE.largeur, FENETRE.hauteur) == (100, 45, 100, 45)
    assert FENETRE.droite <= 210 and FENETRE.bas <= 99  # dans le premier volet de la feuille
    assert ZONE_ADRESSE.x - FENETRE.x >= 5 and FENETRE.droite - ZONE_ADRESSE.droite >= 5
    assert ZONE_ADRESSE.y - FENETRE.y >= 5 and FENETRE.bas - ZONE_ADRESSE.bas >= 2


def test_le_pdf_s_ouvre_en_a4_avec_ses_metadonnees() -> None:
    contenu = lettre()
    assert contenu.startswith(b"%PDF-")
    with ouvrir(contenu) as pdf:
        assert len(pdf.pages) == 1
        page = pdf.pages[0]
        assert page.width == pytest.approx(LARGEUR_A4, abs=1)
        assert page.height == pytest.approx(HAUTEUR_A4, abs=1)
        assert pdf.metadata["Title"] == OBJET
        assert pdf.metadata["Author"] == "Mairie de Saint-Aubin-sur-Loire"
        assert str(pdf.metadata["CreationDate"]).startswith("D:20261123")


def test_le_bloc_adresse_est_dans_la_fenetre_et_seul_a_y_etre() -> None:
    with ouvrir(lettre()) as pdf:
        assert texte_de_la_fenetre(pdf) == DESTINATAIRE.splitlines()
        mots = pdf.pages[0].extract_words()
        for attendu in DESTINATAIRE.split():
            trouves = [m for m in mots if m["text"] == attendu]
            assert trouves, attendu
            # « LE » ou « C » pourraient apparaître ailleurs ; les mots de l'adresse, eux, y sont.
            assert any(dans(m, ZONE_ADRESSE.en_points()) for m in trouves), attendu
        for unique in ("Bœuf", "Tilleuls,", "Écoles", "72000"):
            (mot,) = [m for m in mots if m["text"] == unique]
            assert dans(mot, ZONE_ADRESSE.en_points()), mot


def test_le_corps_l_objet_la_date_la_signature_et_l_en_tete_gardent_leurs_accents() -> None:
    with ouvrir(lettre()) as pdf:
        texte = texte_complet(pdf)
    lignes = texte.splitlines()
    assert "À Saint-Aubin-sur-Loire, le 23 novembre 2026" in lignes
    assert "Nos réf. : 2026-00042" in lignes
    assert f"Objet : {OBJET}" in lignes
    a_plat = " ".join(texte.split())
    for paragraphe in CORPS.split("\n\n"):
        assert " ".join(paragraphe.split()) in a_plat
    assert lignes[-2:] == ["Le Maire,", "Hélène Lefèvre"]
    for en_tete in (
        "Saint-Aubin-sur-Loire",
        "Mairie de Saint-Aubin-sur-Loire",
        "1 place de l'Église",
        "45000 Saint-Aubin-sur-Loire",
        "Tél. : 02 38 00 00 00",
        "Courriel : mairie@saint-aubin.example",
    ):
        assert en_tete in lignes, en_tete
    assert "Page" not in texte  # une seule page : pas de numéro


def test_l_en_tete_est_en_haut_a_gauche_hors_de_la_fenetre() -> None:
    with ouvrir(lettre()) as pdf:
        mots = pdf.pages[0].extract_words()
    (courriel,) = [m for m in mots if m["text"] == "mairie@saint-aubin.example"]
    commune = min((m for m in mots if m["text"] == "Saint-Aubin-sur-Loire"), key=lambda m: m["top"])
    assert commune["x0"] < 25 * MM_EN_POINTS and commune["top"] < 20 * MM_EN_POINTS
    assert courriel["x1"] < FENETRE.x * MM_EN_POINTS


def test_les_caracteres_francais_sont_tous_conserves() -> None:
    francais = "é è ê à ç ù î ô ë ï œ Œ « » € ’ – … É À Ç"
    with ouvrir(lettre(corps=francais, objet=francais)) as pdf:
        texte = texte_complet(pdf)
    assert f"Objet : {francais}" in texte.splitlines()
    assert texte.count(francais) == 2


def test_le_premier_du_mois_et_les_signataires() -> None:
    with ouvrir(composer_lettre(COMMUNE, DESTINATAIRE, OBJET, CORPS, le=date(2027, 5, 1))) as pdf:
        texte = texte_complet(pdf)
    assert "À Saint-Aubin-sur-Loire, le 1er mai 2027" in texte
    assert "Nos réf." not in texte

    pour_le_maire = "Pour le Maire,\nL’adjointe déléguée\nÉlodie Martin"
    with ouvrir(lettre(signataire=pour_le_maire)) as pdf:
        assert texte_complet(pdf).splitlines()[-3:] == pour_le_maire.splitlines()

    commune = Commune(nom="Orléans", signataire="Le Maire,\nSerge Grouard")
    with ouvrir(lettre(commune=commune)) as pdf:
        texte = texte_complet(pdf)
    assert texte.splitlines()[-2:] == ["Le Maire,", "Serge Grouard"]
    assert "Mairie d'Orléans" in texte

    with ouvrir(lettre(commune=Commune(nom="Bourges"))) as pdf:
        assert texte_complet(pdf).splitlines()[-1] == "Le Maire"


def test_les_memes_entrees_donnent_les_memes_octets() -> None:
    assert lettre() == lettre()
    assert lettre() != lettre(le=date(2026, 11, 24))


def test_une_longue_lettre_court_sur_plusieurs_pages_numerotees() -> None:
    paragraphe = (
        "La commission municipale a examiné votre dossier et relève que l’emplacement demandé "
        "se situe à proximité immédiate de l’école, ce qui impose des précautions particulières."
    )
    corps = "\n\n".join(f"{rang}. {paragraphe}" for rang in range(1, 51))
    with ouvrir(lettre(corps=corps)) as pdf:
        total = len(pdf.pages)
        assert total >= 2
        for numero, page in enumerate(pdf.pages, start=1):
            assert f"Page {numero}/{total}" in (page.extract_text() or "")
        texte = texte_complet(pdf)
        assert texte_de_la_fenetre(pdf) == DESTINATAIRE.splitlines()
        for page in pdf.pages:
            for mot in page.extract_words():
                assert mot["bottom"] <= HAUTEUR_A4 - 10 * MM_EN_POINTS
    assert "50. La commission" in texte
    lignes = [ligne for ligne in texte.splitlines() if not ligne.startswith("Page ")]
    assert lignes[-2:] == ["Le Maire,", "Hélène Lefèvre"]


# ---------------------------------------------------------------------------------------------
# Entrées hostiles ou abîmées


def test_sans_adresse_la_fenetre_demande_de_la_completer() -> None:
    for vide in ("", "  \n\t\n  "):
        with ouvrir(lettre(destinataire=vide)) as pdf:
            assert texte_de_la_fenetre(pdf) == [A_COMPLETER]
            mots = [m for m in pdf.pages[0].extract_words() if m["text"] == "compléter]"]
            assert len(mots) == 1 and dans(mots[0], ZONE_ADRESSE.en_points())


def test_les_caracteres_de_controle_et_nul_sont_retires() -> None:
    contenu = lettre(
        destinataire="M. Jean\x00 Dupont\x1b[31m\n12\x07 rue\u202e du Port\n44000 Nantes",
        objet="Ob\x00jet\x08 piégé\r\nsur deux lignes",
        corps="Bon\x00jour\x0c,\r\n\r\nFin\u200b.\x7f",
    )
    with ouvrir(contenu) as pdf:
        texte = texte_complet(pdf)
        fenetre = texte_de_la_fenetre(pdf)
    assert not [c for c in texte if c != "\n" and unicodedata.category(c) in ("Cc", "Cf")]
    assert fenetre == ["M. Jean Dupont[31m", "12 rue du Port", "44000 Nantes"]
    assert "Objet : Objet piégé sur deux lignes" in texte
    assert "Bonjour," in texte and "Fin." in texte


def test_un_mot_de_5000_caracteres_est_coupe_sans_deborder() -> None:
    mot = "Anticonstitutionnellement" * 200
    with ouvrir(lettre(corps=f"Début {mot} fin.", destinataire=f"{mot}\n75001 Paris")) as pdf:
        bord = LARGEUR_A4 - MARGE_DROITE * MM_EN_POINTS + JEU
        caracteres = [c for page in pdf.pages for c in page.chars]
        cadre = FENETRE.en_points()
        hors_fenetre = [c for c in caracteres if c["page_number"] > 1 or not dans(c, cadre)]
        assert hors_fenetre and all(c["x1"] <= bord for c in hors_fenetre)
        assert all(c["x0"] >= 0 for c in caracteres)
        # Sans les en-têtes et pieds de page, le corps se relit en entier, dans l'ordre.
        haut, bas = MARGE_HAUT * MM_EN_POINTS, HAUTEUR_A4 - MARGE_BAS * MM_EN_POINTS
        corps = "".join(c["text"] for c in hors_fenetre if haut <= c["top"] and c["bottom"] <= bas)
        assert f"Début{mot}fin." in corps.replace(" ", "")
        fenetre = texte_de_la_fenetre(pdf)
        assert 1 < len(fenetre) <= LIGNES_ADRESSE
        mots = pdf.pages[0].crop(FENETRE.en_points(), strict=False).extract_words()
        assert all(dans(m, ZONE_ADRESSE.en_points()) for m in mots)
    assert len(pdf.pages) >= 2


def test_une_adresse_de_300_lignes_est_tronquee_a_la_capacite_de_la_fenetre() -> None:
    adresse = "\n".join(f"Ligne {rang} de l’adresse" for rang in range(1, 301))
    with ouvrir(lettre(destinataire=adresse)) as pdf:
        fenetre = texte_de_la_fenetre(pdf)
        assert len(fenetre) == LIGNES_ADRESSE
        assert fenetre[0] == "Ligne 1 de l’adresse"
        assert fenetre[-1].endswith("…")
        mots = pdf.pages[0].crop(FENETRE.en_points(), strict=False).extract_words()
        assert all(dans(m, ZONE_ADRESSE.en_points()) for m in mots)
        assert "Ligne 7" not in texte_complet(pdf)


def test_l_arabe_l_hebreu_et_les_emojis_ne_cassent_rien() -> None:
    corps = "Bonjour مرحبا بكم et שלום 🦄👍🏽\u200d ok ✓ \U000f0000 fin"
    with ouvrir(lettre(corps=corps, destinataire="🦄 Licorne\nשלום 12\n75001 Paris")) as pdf:
        texte = texte_complet(pdf)
        fenetre = texte_de_la_fenetre(pdf)
    assert "Bonjour" in texte and "ok" in texte and "fin" in texte
    assert "🦄" not in texte and "?" in texte  # absente de DejaVu : remplacée, visible
    assert fenetre[-1] == "75001 Paris"


def test_sans_la_police_dejavu_la_lettre_sort_en_helvetica(tmp_path: Path) -> None:
    francais = "é è à ç œ Œ « » € ’ – …"
    contenu = lettre(polices=tmp_path, corps=f"{francais} 🦄 שלום ŀ ﬁn", objet="Œuvre\u202fnarrow")
    with ouvrir(contenu) as pdf:
        texte = texte_complet(pdf)
        polices = {c["fontname"] for c in pdf.pages[0].chars}
        assert texte_de_la_fenetre(pdf) == DESTINATAIRE.splitlines()
    assert polices <= {"Helvetica", "Helvetica-Bold"}
    assert francais in texte  # windows-1252 les connaît tous
    assert "? ????" in texte and "l·" in texte and "fin" in texte
    assert "Objet : Œuvre narrow" in texte


@pytest.mark.skipif(not (POLICES / POLICE).is_file(), reason="paquet fonts-dejavu-core absent")
def test_la_police_dejavu_est_incorporee_quand_elle_est_installee() -> None:
    with ouvrir(lettre()) as pdf:
        polices = {c["fontname"].split("+")[-1] for c in pdf.pages[0].chars}
    assert polices == {"DejaVuSansBook", "DejaVuSansBold"}


# ---------------------------------------------------------------------------------------------
# L'adresse postale d'une ligne du registre


def ligne_registre(analyse: Analyse | str, expediteur: str = "") -> Courrier:
    json_analyse = analyse if isinstance(analyse, str) else analyse.model_dump_json()
    return Courrier(
        numero="2026-00042",
        canal="scan",
        recu_le=datetime(2026, 11, 12, 9, 30, tzinfo=UTC),
        expediteur=expediteur,
        expediteur_adresse="",
        objet="Demande de buvette",
        analyse=json_analyse,
    )


ANALYSE = Analyse(
    categorie="salles_associations",
    service="Secrétariat",
    resume="Mme Bœuf demande l’autorisation d’ouvrir une buvette lors de la fête de l’école.",
    expediteur=Expediteur(
        nom="Mme Françoise Bœuf",
        email="",
        adresse="Résidence Les Tilleuls, bât. C\n3 rue des Écoles\n\n72000 LE MANS\n",
    ),
    demande="Autorisation de buvette temporaire",
    reponse_attendue=True,
    est_demande_usager=True,
    moteur="llm:mistral-small",
)


def test_adresse_postale_d_une_ligne_du_registre() -> None:
    assert adresse_postale(ligne_registre(ANALYSE)) == DESTINATAIRE


def test_adresse_postale_prend_le_nom_de_l_en_tete_quand_l_analyse_l_ignore() -> None:
    sans_nom = ANALYSE.model_copy(
        update={"expediteur": Expediteur(adresse="3 rue des Écoles\n72000 LE MANS")}
    )
    courriel = ligne_registre(sans_nom, expediteur="Françoise Bœuf <f.boeuf@example.org>")
    assert adresse_postale(courriel) == "Françoise Bœuf\n3 rue des Écoles\n72000 LE MANS"
    scan = ligne_registre(sans_nom, expediteur="Mme Bœuf")
    assert adresse_postale(scan) == "Mme Bœuf\n3 rue des Écoles\n72000 LE MANS"
    inconnu = ligne_registre(sans_nom, expediteur="f.boeuf@example.org")
    assert adresse_postale(inconnu) == "3 rue des Écoles\n72000 LE MANS"


def test_adresse_postale_ne_repete_pas_le_nom_deja_en_tete_de_l_adresse() -> None:
    double = ANALYSE.model_copy(
        update={
            "expediteur": Expediteur(
                nom="Mme Françoise Bœuf", adresse="MME FRANCOISE BŒUF\n72000 LE MANS"
            )
        }
    )
    assert adresse_postale(ligne_registre(double)) == "MME FRANCOISE BŒUF\n72000 LE MANS"


def test_adresse_postale_vide_quand_elle_est_inconnue() -> None:
    sans_adresse = ANALYSE.model_copy(update={"expediteur": Expediteur(nom="Mme Bœuf")})
    assert adresse_postale(ligne_registre(sans_adresse, expediteur="Mme Bœuf")) == ""
    assert adresse_postale(ligne_registre("")) == ""
    assert adresse_postale(ligne_registre("{pas du json")) == ""
    assert adresse_postale(ligne_registre('{"categorie": 12}')) == ""


def test_l_adresse_du_registre_tombe_dans_la_fenetre() -> None:
    with ouvrir(lettre(destinataire=adresse_postale(ligne_registre(ANALYSE)))) as pdf:
        assert texte_de_la_fenetre(pdf) == DESTINATAIRE.splitlines()


def test_un_brouillon_du_gabarit_donne_une_lettre_sans_rien_en_double() -> None:
    """Le brouillon écrit comme une lettre complète (en-tête, adresse, objet, signature) : la
    lettre PDF ne garde que son corps et place le reste elle-même, une seule fois."""
    from courrier.brouillons import reponse_modele
    from courrier.lettre import decouper_brouillon
    from noyau.analyse import CourrierALire
    from regles.crpa import charger_crpa

    commune = Commune(
        nom="Saint-Aubin-sur-Loire",
        maire="Hélène Dufresne",
        adresse="1 place de la Mairie\n49170 Saint-Aubin-sur-Loire",
    )
    analyse = Analyse(
        categorie="cimetiere",
        expediteur=Expediteur(
            nom="Mme Odile Ferrand", adresse="3 rue des Lilas\n49170 Savennières"
        ),
    )
    lu = CourrierALire(
        numero="2026-00042",
        canal="scan",
        recu_le=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
        objet="Concession au cimetière",
    )
    brouillon = reponse_modele(lu, analyse, commune, charger_crpa(), le=date(2026, 11, 23))
    objet, corps = decouper_brouillon(brouillon.corps, commune)
    assert objet and objet in brouillon.corps
    assert "Objet :" not in corps and "3 rue des Lilas" not in corps
    assert corps.startswith("Madame") and "Hélène Dufresne" not in corps
    pdf = composer_lettre(
        commune,
        "Mme Odile Ferrand\n3 rue des Lilas\n49170 Savennières",
        objet,
        corps,
        le=date(2026, 11, 23),
        reference="2026-00042",
    )
    with ouvrir(pdf) as document:
        texte = texte_complet(document)
    assert texte.count("3 rue des Lilas") == 1
    assert texte.count("Hélène Dufresne") == 1
    assert texte.count("Objet :") == 1
    # Un texte réécrit à la main, sans « Objet : » en tête, est gardé entier.
    assert decouper_brouillon("Madame,\n\nOui.", commune) == ("", "Madame,\n\nOui.")
