"""Le banc de performance (preuves/bench.py) en miniature : il tourne de bout en bout, imprime
chaque chiffre et chaque ratio, et ses comptes tiennent debout. Aucun temps n'est vérifié."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from preuves.bench import main
from preuves.generateur import deposer, genre


def _empreintes(dossier: Path) -> dict[str, str]:
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(dossier.iterdir())}


def test_la_nuit_generee_est_la_meme_a_chaque_fois_et_garde_ses_proportions(
    tmp_path: Path,
) -> None:
    premiere = deposer(7, 40, tmp_path / "cache-1", tmp_path / "eml-1", tmp_path / "scans-1")
    seconde = deposer(7, 40, tmp_path / "cache-2", tmp_path / "eml-2", tmp_path / "scans-2")
    assert _empreintes(tmp_path / "eml-1") == _empreintes(tmp_path / "eml-2")
    assert _empreintes(tmp_path / "scans-1") == _empreintes(tmp_path / "scans-2")
    assert (premiere.courriels, premiere.avec_pdf, premiere.pdf_image, premiere.scans) == (
        32,
        8,
        2,
        8,
    )
    assert seconde.elements == 40
    assert len(premiere.pages_ocr or []) == premiere.scans + premiere.pdf_image
    assert [genre(i) for i in range(1000)].count("scan") == 200
    autre = deposer(8, 40, tmp_path / "cache-3", tmp_path / "eml-3", tmp_path / "scans-3")
    assert autre.elements == 40
    assert _empreintes(tmp_path / "eml-1") != _empreintes(tmp_path / "eml-3")


@pytest.mark.lent
def test_le_banc_en_miniature_imprime_chaque_chiffre_et_des_comptes_coherents(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sortie = tmp_path / "banc.json"
    code = main(
        [
            "--echelle",
            "12",
            "--latence",
            "0.05",
            "--paliers",
            "6",
            "--dossier",
            str(tmp_path / "banc"),
            "--json",
            str(sortie),
        ]
    )
    assert code == 0
    texte = capsys.readouterr().out
    for attendu in (
        "borne OCR : tesseract seul",
        "borne LLM :",
        "nuit de bout en bout",
        "lecture et OCR",
        "scans, lus en dernier",
        "analyse et brouillons",
        "Prefect (hors tâches, limite LLM)",
        "courriers enregistrés / générés",
        "Pic mémoire (Mo) par palier",
        "nuit ÷ max(borne OCR, borne LLM)",
        "débit de la lecture ÷ débit de tesseract seul",
        "part de Prefect dans la nuit",
        "appels LLM d'analyse par courrier",
        "appels LLM de rédaction par brouillon de l'IA",
        "croissance du pic mémoire, 6 → 12 éléments",
        "seconde nuit, rien de nouveau",
        "dossier de fichiers .eml (COURRIER_DEPOT_EML)",
    ):
        assert attendu in texte, texte

    donnees = json.loads(sortie.read_text(encoding="utf-8"))
    assert len(donnees["ratios"]) == 7
    assert all(r["affiche"] and r["cible"] for r in donnees["ratios"])
    paliers = {p["elements"]: p for p in donnees["paliers"]}
    assert set(paliers) == {6, 12}
    for elements, palier in paliers.items():
        mesure = palier["mesure"]
        assert palier["enregistres"] == elements == mesure["nouveaux"]
        assert mesure["extraits"] + mesure["erreurs_lecture"] == elements
        assert mesure["erreurs_lecture"] == 0
        assert mesure["analyses"] == mesure["par_llm"] == elements
        assert palier["appels_analyse"] == elements
        assert palier["appels_redaction"] == palier["brouillons_ia"]
        assert mesure["seconde_nouveaux"] == 0 and mesure["seconde_analyses"] == 0
        assert mesure["pic_principal_mo"] > 0
    grand = paliers[12]
    assert grand["pages_lues_ocr"] == grand["pages_ocr"] == grand["scans"] + grand["pdf_image"]
    assert donnees["chiffres"]["appels_llm"] > 0
    assert donnees["chiffres"]["borne_ocr_s"] > 0
    assert len(grand["mesure"]["lus"]) == 12
