"""Tout le corpus réel (../shared/corpus, voir les MANIFEST.tsv) traverse une relève.

Chaque fichier obtient une ligne du registre et ses octets bruts archivés ; là où la lecture
a échoué, la ligne dit pourquoi, en français. Relève et lecture réelles (Tesseract compris).
"""

from __future__ import annotations

import difflib
import hashlib
import re
import shutil
from pathlib import Path

import pytest

from connecteurs.dossiers import SourceEml, SourceScans
from courrier.extraction import lire_entetes
from courrier.releve import extraire_en_attente, relever_source
from noyau.domaine import Limites
from registre.registre import Registre
from registre.tables import Courrier

pytestmark = pytest.mark.lent

MOTS_FRANCAIS = re.compile(
    r"\b(le|la|les|de|des|du|une?|est|n'a|pas|non|lu|lue|conservé|illisible|fichier|format|"
    r"page|pages|pièce|document|texte)\b",
    re.IGNORECASE,
)


def normaliser(texte: str) -> str:
    return " ".join(texte.split())


@pytest.fixture(scope="module")
def releve_du_corpus(
    corpus: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Registre, dict[str, bytes], dict[str, Courrier]]:
    tmp = tmp_path_factory.mktemp("corpus")
    originaux: dict[str, bytes] = {}
    for sous, depot in (("emails", tmp / "eml"), ("scans", tmp / "scans")):
        depot.mkdir()
        for f in sorted((corpus / sous).iterdir()):
            if f.is_file() and f.name != "MANIFEST.tsv":
                shutil.copy(f, depot / f.name)
                originaux[f.name] = f.read_bytes()
    registre = Registre.ouvrir(f"sqlite:///{tmp / 'registre.sqlite3'}", tmp / "donnees")
    bilans = [
        relever_source(SourceEml(tmp / "eml", 0), registre, lire_entetes),
        relever_source(SourceScans(tmp / "scans", 0), registre, lire_entetes),
    ]
    assert all(not b.erreurs for b in bilans)
    extraire_en_attente(registre, Limites(), processus=2)
    par_fichier = {c.nom_fichier: c for c in registre.courriers()}
    return registre, originaux, par_fichier


def test_chaque_fichier_du_corpus_a_sa_ligne_et_ses_octets_archives(
    releve_du_corpus: tuple[Registre, dict[str, bytes], dict[str, Courrier]],
) -> None:
    registre, originaux, par_fichier = releve_du_corpus
    assert set(par_fichier) == set(originaux)
    assert registre.nombre() == len(originaux)
    for nom, octets in originaux.items():
        c = par_fichier[nom]
        assert c.empreinte == hashlib.sha256(octets).hexdigest()
        assert registre.archive.lire(c.empreinte) == octets
        assert c.statut in {"extrait", "erreur"}, nom
    assert registre.a_extraire() == []
    assert registre.verifier() == []
    # les fichiers temporaires de l'OCR restent dans le dossier de données, et sont nettoyés
    assert list((registre.archive.racine.parent / "tmp").iterdir()) == []


def test_chaque_echec_dit_pourquoi_en_francais(
    releve_du_corpus: tuple[Registre, dict[str, bytes], dict[str, Courrier]],
) -> None:
    _, _, par_fichier = releve_du_corpus
    en_erreur = [c for c in par_fichier.values() if c.statut == "erreur"]
    # Le .msg Outlook (MANIFEST 79) est lu depuis l'issue #10, point 2.
    assert {c.nom_fichier for c in en_erreur} >= {"ocrmypdf__invalid.pdf"}
    assert "79_spamscope_mail_outlook_1.msg" not in {c.nom_fichier for c in en_erreur}
    for c in en_erreur:
        assert c.erreur.strip(), c.nom_fichier
        assert MOTS_FRANCAIS.search(c.erreur), (c.nom_fichier, c.erreur)
        assert "Traceback" not in c.erreur and "Error" not in c.erreur


def test_l_ocr_de_linn_suit_la_verite_terrain(
    releve_du_corpus: tuple[Registre, dict[str, bytes], dict[str, Courrier]], corpus: Path
) -> None:
    _, _, par_fichier = releve_du_corpus
    linn = par_fichier["ocrmypdf__linn.pdf"]
    verite = (corpus / "scans" / "ground_truth" / "ocrmypdf__linn.txt").read_text()
    ratio = difflib.SequenceMatcher(None, normaliser(linn.texte), normaliser(verite)).ratio()
    assert ratio >= 0.9, ratio
    assert linn.methode_extraction == "ocr" and linn.confiance_ocr and linn.confiance_ocr > 60


def test_le_pangramme_francais_garde_ses_accents(
    releve_du_corpus: tuple[Registre, dict[str, bytes], dict[str, Courrier]],
) -> None:
    _, _, par_fichier = releve_du_corpus
    texte = par_fichier["ocrmypdf__francais.pdf"].texte
    for mot in (
        "whisky",
        "juge",
        "île",
        "intérieure",
        "côté",
        "alcôve",
        "bûches",
        "âtre",
        "çà",
        "là",
    ):
        assert mot in texte, (mot, texte)


def test_les_courriels_francais_sont_lus_avec_leurs_accents(
    releve_du_corpus: tuple[Registre, dict[str, bytes], dict[str, Courrier]],
) -> None:
    _, _, par_fichier = releve_du_corpus
    assert par_fichier["13_spamscope_mail_test_5.eml"].objet == (
        "Je prépare mon été zéro complexe !"
    )
    assert "Fouché" in par_fichier["57_mikel_encoded_stack_level_too_deep.eml"].expediteur + (
        par_fichier["57_mikel_encoded_stack_level_too_deep.eml"].objet
    )
    facture = par_fichier["invoice2data__free_fiber.pdf"]
    assert facture.methode_extraction == "pdf" and "Free" in facture.texte
