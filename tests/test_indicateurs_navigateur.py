"""La page « Indicateurs » regardée dans un vrai Chromium sans écran (paquet Debian `chromium`,
piloté par Playwright), à la largeur d'un téléphone : rien ne sort du site, rien ne déborde,
et la capture montre bien des barres. Les captures vont dans artefacts/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import sync_playwright

from interfaces.web.app import creer_app
from interfaces.web.graphiques import COULEUR
from registre.registre import Registre
from tests import navigateur as nv
from tests.test_indicateurs import Jeu, garnir
from tests.test_web_navigateur import ARTEFACTS, CHROMIUM, se_connecter

TELEPHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            "Chromium est introuvable : installez le paquet Debian « chromium » "
            "(make test le fait)."
        )
    with sync_playwright() as p:
        navigateur = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield navigateur
        navigateur.close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Jeu]]:
    donnees = tmp_path / "donnees"
    url = f"sqlite:///{donnees / 'registre.sqlite3'}"
    registre = Registre.ouvrir(url, donnees)
    jeu = garnir(registre)
    nv.creer_comptes(jeu.registre)
    with nv.serveur_web(creer_app(nv.reglages_web(donnees, url), jeu.registre)) as base:
        yield base, jeu
    registre.fermer()


def _pixels_de_la_couleur(chemin: Path, couleur: str, tolerance: int = 12) -> int:
    cible = tuple(int(couleur[i : i + 2], 16) for i in (1, 3, 5))
    image = Image.open(chemin).convert("RGB")
    return sum(
        n
        for n, pixel in image.getcolors(maxcolors=1 << 24) or []
        if all(abs(a - b) <= tolerance for a, b in zip(pixel, cible, strict=True))
    )


def test_les_indicateurs_se_lisent_sur_un_telephone_sans_rien_charger_d_ailleurs(
    chromium: Any, site: tuple[str, Jeu]
) -> None:
    base, jeu = site
    contexte = chromium.new_context(viewport=TELEPHONE, locale="fr-FR", device_scale_factor=1)
    page = contexte.new_page()
    requetes: list[str] = []
    page.on("request", lambda r: requetes.append(r.url))
    erreurs: list[str] = []
    page.on("console", lambda m: erreurs.append(m.text) if m.type == "error" else None)
    # Le navigateur demande de lui-même /favicon.ico, que le site n'a pas (une erreur de
    # console « 404 » sans adresse) ; aucune ressource de la page ne doit manquer.
    manquants: list[str] = []
    page.on("response", lambda r: manquants.append(r.url) if r.status == 404 else None)
    se_connecter(page, base, "secretaire")

    page.get_by_role("link", name="Indicateurs").click()
    page.wait_for_url(f"{base}/indicateurs")
    page.select_option("#semaines", "4")
    page.get_by_role("button", name="Afficher").click()
    page.wait_for_url(f"{base}/indicateurs?semaines=4")
    assert page.get_by_role("heading", name="Courriers reçus : 5").is_visible()
    # Chaque graphique est une image nommée pour un lecteur d'écran.
    images = page.get_by_role("img")
    assert images.count() == 5
    assert images.nth(0).get_attribute("aria-labelledby") == "g-semaines-titre g-semaines-desc"

    # Rien ne déborde : la page tient dans la largeur du téléphone, graphiques compris.
    largeur = page.evaluate("document.documentElement.scrollWidth")
    assert largeur <= TELEPHONE["width"], largeur
    for svg in page.locator("svg").all():
        boite = svg.bounding_box()
        assert boite is not None and boite["x"] >= 0
        assert boite["x"] + boite["width"] <= TELEPHONE["width"]
    # Le texte des graphiques reste lisible : au moins 12 px à l'écran.
    taille = page.evaluate(
        "Math.min(...[...document.querySelectorAll('svg text')]"
        ".map(t => t.getBoundingClientRect().height))"
    )
    assert taille >= 12, taille

    ARTEFACTS.mkdir(exist_ok=True)
    capture = ARTEFACTS / "indicateurs-telephone.png"
    page.screenshot(path=str(capture), full_page=True)
    # Regardée en image : des barres de la couleur des graphiques, en quantité.
    barres = _pixels_de_la_couleur(capture, COULEUR)
    assert barres > 3000, barres

    # Le brouillon corrigé, à la même largeur : la différence se lit aussi sur un téléphone.
    page.goto(f"{base}/brouillon/{jeu.brouillons['A']}")
    # Le texte masqué « [ajouté : … ] » est lu par un lecteur d'écran, pas montré.
    ajout = page.locator("pre.difference ins").first
    assert "de travaux" in ajout.inner_text() and ajout.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= TELEPHONE["width"]
    page.screenshot(path=str(ARTEFACTS / "brouillon-difference-telephone.png"), full_page=True)

    dehors = [u for u in requetes if not u.startswith(base)]
    assert dehors == [], dehors
    assert [u for u in manquants if not u.endswith("/favicon.ico")] == [], manquants
    # Pas même une violation de la politique de sécurité du contenu (style ou script refusé).
    refus = [e for e in erreurs if "Content Security Policy" in e or "Refused" in e]
    assert refus == [], erreurs
    contexte.close()
