"""Le registre annuel imprimable (PDF/A-2B) : relu par pdfplumber, regardé en image (pypdfium2),
avec l'empreinte de tête et le jeton d'une vraie autorité d'horodatage locale.

L'horloge du registre est celle du test : des courriers enregistrés fin 2025 et en 2026, pour
que l'export d'une année ne prenne que les siens, quel que soit le jour où la suite tourne.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from pathlib import Path

import pdfplumber
import pypdfium2
import pytest

from connecteurs.horodatage import ClientHorodatage
from noyau.analyse import Analyse, Urgence
from noyau.domaine import Canal, ElementRecu, EntetesCourrier, ResultatExtraction
from registre.ancrage import ancrer, verifier_ancres
from registre.export_pdf import Preuve, exporter_pdf
from registre.registre import Registre
from tests.autorite_horodatage import autorite_horodatage
from tests.conftest import RACINE, lancer
from tests.horloge import HorlogeDeTest

ARTEFACTS = RACINE / "artefacts"


def _enregistrer(registre: Registre, i: int) -> str:
    element = ElementRecu(
        source="depot_eml",
        canal=Canal.EMAIL if i % 3 else Canal.SCAN,
        reference=f"{i}.eml",
        recu_le=registre.horloge(),
        contenu=f"Lettre n°{i}".encode(),
    )
    objet = f"Demande n°{i} : " + ("réfection du chemin communal des Aubépines " * (1 + i % 3))
    entetes = EntetesCourrier(expediteur=f"Habitant {i} <habitant{i}@exemple.example>", objet=objet)
    numero = registre.enregistrer(element, entetes).numero
    ident = next(a.id for a in registre.a_extraire() if a.numero == numero)
    registre.consigner_extraction(ident, ResultatExtraction(texte="Bonjour", methode="texte"))
    registre.consigner_analyse(
        ident,
        Analyse(
            categorie="voirie",
            urgence=Urgence.NORMALE,
            resume="Une demande.",
            moteur="regles",
            confiance=0.8,
        ),
        [],
    )
    return numero


@pytest.fixture(scope="module")
def registre_deux_annees(tmp_path_factory: pytest.TempPathFactory) -> Registre:
    dossier = tmp_path_factory.mktemp("registre-pdf")
    horloge = HorlogeDeTest(datetime(2025, 12, 30, 9, 0, tzinfo=UTC))
    registre = Registre.ouvrir(f"sqlite:///{dossier / 'r.sqlite3'}", dossier, horloge)
    for i in range(4):
        _enregistrer(registre, i)
    horloge.regler(datetime(2026, 1, 5, 8, 0, tzinfo=UTC))
    for i in range(4, 134):
        _enregistrer(registre, i)
    return registre


def test_le_registre_d_une_annee_est_pagine_et_porte_sa_preuve(
    registre_deux_annees: Registre, tmp_path: Path
) -> None:
    registre = registre_deux_annees
    with autorite_horodatage() as autorite:
        ancrer(registre, ClientHorodatage(autorite.url).horodater, autorite.url)
        bilan = verifier_ancres(registre)
    assert bilan.prouvee is not None
    dernier, tete = registre.tete()
    sortie = tmp_path / "registre-2026.pdf"
    nombre = exporter_pdf(
        registre.courriers(),
        sortie,
        "Saint-Aubin-sur-Loire",
        2026,
        Preuve(dernier, tete, bilan.prouvee.phrase(), bilan.jeton),
        registre.horloge(),
    )
    assert nombre == 130

    brut = sortie.read_bytes()
    assert b"pdfaid:part" in brut and b"GTS_PDFA1" in brut  # XMP PDF/A-2B et profil sRGB
    with pdfplumber.open(sortie) as pdf:
        pages = [p.extract_text() or "" for p in pdf.pages]
    assert len(pages) >= 3
    for n, texte in enumerate(pages, start=1):
        assert "Registre du courrier arrivé — Saint-Aubin-sur-Loire — année 2026" in texte
        assert f"page {n} / {len(pages)}" in texte
        assert tete in texte.replace("\n", "")
    tout = "\n".join(pages)
    numeros = set(re.findall(r"\b20\d\d-\d{5}\b", tout))
    assert numeros == {f"2026-{i:05d}" for i in range(1, 131)}  # ni plus, ni moins, ni 2025
    assert "N° Reçu le" in pages[1].replace("\n", " ")  # titres répétés en haut de page
    # La preuve, après le tableau (le jeton peut déborder sur une page de plus).
    preuve = tout[tout.index("Preuve d'intégrité") :]
    assert "130 courrier(s) enregistré(s) en 2026" in preuve
    assert "horodatée le" in preuve and autorite.url in preuve.replace("\n", "")
    sans_pied = re.sub(r"Empreinte de tête : \w+ page \d+ / \d+|Registre du courrier.*2026", "",
                       preuve)  # fmt: skip
    assert base64.b64encode(bilan.jeton).decode() in "".join(sans_pied.split())

    # Regardé en image : la première page a son titre et des lignes de tableau à l'encre.
    ARTEFACTS.mkdir(exist_ok=True)
    document = pypdfium2.PdfDocument(str(sortie))
    try:
        image = document[0].render(scale=1.5).to_pil().convert("L")
    finally:
        document.close()
    image.save(ARTEFACTS / "registre-annuel-page1.png")
    largeur, hauteur = image.size
    assert largeur > hauteur  # A4 paysage

    def encre(haut: float, bas: float) -> float:
        bande = image.crop((0, int(haut * hauteur), largeur, int(bas * hauteur)))
        histogramme = bande.histogram()  # 256 cases en niveaux de gris
        return sum(histogramme[:128]) / sum(histogramme)

    assert encre(0.03, 0.08) > 0.005  # le titre
    assert encre(0.2, 0.8) > 0.02  # le tableau
    assert encre(0.2, 0.8) < 0.5  # pas une page noire


def test_la_commande_ecrit_le_registre_pdf_de_la_demo(
    demo: tuple[Path, dict[str, str], str], tmp_path: Path
) -> None:
    tmp, env, _ = demo
    sortie = tmp_path / "registre.pdf"
    fait = lancer(
        "registre", "export", "--format", "pdf", "--sortie", str(sortie), env=env, cwd=tmp
    )
    assert fait.returncode == 0, fait.stderr
    assert "PDF/A-2B" in fait.stdout
    with pdfplumber.open(sortie) as pdf:
        texte = "\n".join(p.extract_text() or "" for p in pdf.pages)
    assert "Registre du courrier arrivé" in texte and "Aucun jeton d'horodatage" in texte
    # Une année sans courrier donne un registre vide, pas une erreur.
    vide = tmp_path / "vide.pdf"
    fait = lancer(
        "registre", "export", "--format", "pdf", "--annee", "1999", "--sortie", str(vide),
        env=env, cwd=tmp,
    )  # fmt: skip
    assert fait.returncode == 0 and "0 courrier(s)" in fait.stdout
