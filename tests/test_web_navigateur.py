"""La page web dans un vrai Chromium sans écran (paquet Debian `chromium`, piloté par Playwright).

La secrétaire se connecte, ouvre la file, corrige un brouillon et le valide : le serveur SMTP de
test (127.0.0.1) reçoit exactement un message, dans le fil du courriel d'origine, et le registre
dit `repondu`. Un courriel HTML hostile affiché n'exécute rien et ne charge rien d'ailleurs.
Une capture de chaque page va dans artefacts/.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from interfaces.web.app import creer_app
from noyau.calendrier import aujourd_hui
from registre.registre import Registre
from tests import navigateur as nv
from tests.conftest import RACINE

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTEFACTS = RACINE / "artefacts"


@dataclass
class Site:
    base: str
    registre: Registre
    jeu: nv.Jeu
    boite: nv.Boite
    piege: nv.Piege


@pytest.fixture(scope="module")
def navigateur() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            "Chromium est introuvable : installez le paquet Debian « chromium » "
            "(make test le fait)."
        )
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    donnees = tmp_path / "donnees"
    url = f"sqlite:///{donnees / 'registre.sqlite3'}"
    jour: date = aujourd_hui()
    with nv.serveur_piege() as piege, nv.serveur_smtp() as (boite, port_smtp):
        registre = Registre.ouvrir(url, donnees)
        jeu = nv.garnir(registre, piege.url, jour)
        nv.creer_comptes(registre)
        app = creer_app(nv.reglages_web(donnees, url, port_smtp), registre)
        with nv.serveur_web(app) as base:
            yield Site(base, registre, jeu, boite, piege)
        registre.fermer()


def capture(page: Any, nom: str) -> None:
    ARTEFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"web-{nom}.png"), full_page=True)


def champs_sans_etiquette(page: Any) -> list[str]:
    """Les champs visibles sans étiquette : un lecteur d'écran ne saurait pas les nommer."""
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll('input, select, textarea')]
                .filter(e => e.type !== 'hidden' && e.labels.length === 0
                             && !e.getAttribute('aria-label'))
                .map(e => e.name)"""
        )
    )


def se_connecter(page: Any, base: str, nom: str) -> None:
    page.goto(f"{base}/")
    assert page.url.startswith(f"{base}/connexion")
    page.get_by_label("Nom d'utilisateur").fill(nom)
    page.get_by_label("Mot de passe").fill(nv.MOT_DE_PASSE)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{base}/")


def test_la_secretaire_valide_une_reponse_qui_part_une_fois_dans_le_fil(
    navigateur: Any, site: Site
) -> None:
    contexte = navigateur.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    page = contexte.new_page()
    jeu = site.jeu

    page.goto(f"{site.base}/")
    assert page.url.startswith(f"{site.base}/connexion")
    assert champs_sans_etiquette(page) == []
    capture(page, "connexion")
    se_connecter(page, site.base, "secretaire")

    # La file : l'urgent d'abord, l'échéance en J-n, l'étiquette de l'IA.
    fiches = page.locator("ol.file > li")
    assert fiches.count() == 3
    premiere = fiches.nth(0).inner_text()
    assert "Fuite d'eau rue des Lilas" in premiere
    assert "Urgent" in premiere and "Échéance J-2" in premiere and "préparé par l'IA" in premiere
    capture(page, "file-d-attente")
    # Au clavier : la première tabulation mène au lien d'évitement, qui mène au contenu.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Aller au contenu"

    page.get_by_role("link", name="Réponse – Fuite d'eau rue des Lilas").click()
    page.wait_for_url(f"{site.base}/brouillon/{jeu.brouillon_demande}")
    assert champs_sans_etiquette(page) == []
    corps = "Monsieur,\n\nLes services techniques passent cet après-midi au 12 rue des Lilas.\n"
    page.get_by_label("Texte de la réponse").fill(corps + "\nLe Maire")
    page.get_by_role("button", name="Enregistrer").click()
    assert page.get_by_role("status").inner_text() == "Le brouillon est enregistré."
    capture(page, "brouillon")

    page.get_by_role("button", name=f"Valider et envoyer à {nv.DEMANDEUR}").click()
    page.wait_for_url(f"{site.base}/?fait=valide")
    assert "Réponse validée" in page.get_by_role("status").inner_text()

    def repondu() -> bool:
        courrier = site.registre.courrier(jeu.demande)
        return courrier is not None and courrier.statut == "repondu"

    assert nv.attendre(repondu), "le registre ne dit pas « repondu »"
    time.sleep(1.0)  # un second envoi éventuel aurait le temps d'arriver
    messages = site.boite.lus()
    assert len(messages) == 1
    reponse = messages[0]
    assert reponse["To"] == nv.DEMANDEUR
    assert reponse["In-Reply-To"] == nv.MESSAGE_ID_DEMANDE
    assert reponse["References"].split() == [nv.REFERENCES_DEMANDE, nv.MESSAGE_ID_DEMANDE]
    assert reponse["Subject"] == "Re: Fuite d'eau rue des Lilas"
    assert "passent cet après-midi" in reponse.get_content()

    # Le registre dit « repondu » ; le journal porte le nom de la secrétaire.
    page.goto(f"{site.base}/registre?texte=fuite")
    ligne = page.locator("table.registre tbody tr")
    assert ligne.count() == 1
    assert ligne.locator("td[data-statut]").get_attribute("data-statut") == "repondu"
    assert "répondu" in ligne.inner_text()
    assert champs_sans_etiquette(page) == []
    page.goto(f"{site.base}/registre")
    capture(page, "registre")
    decisions = [e for e in site.registre.evenements(jeu.demande) if e.type == "decision"]
    assert [e.acteur for e in decisions] == ["secretaire", "secretaire"]

    page.goto(f"{site.base}/courrier/{jeu.demande}")
    assert "Analyse préparée par l'IA" in page.inner_text("main")
    assert champs_sans_etiquette(page) == []
    capture(page, "courrier")
    page.goto(f"{site.base}/courrier/{jeu.scan}")
    image = page.get_by_role("img", name=f"Page 1 de la lettre numérisée {jeu.scan}")
    image.scroll_into_view_if_needed()
    page.wait_for_function("() => document.images.length > 0 && document.images[0].complete")
    assert page.evaluate("document.images[0].naturalWidth") > 500
    capture(page, "courrier-numerise")
    page.goto(f"{site.base}/brouillon/{jeu.brouillon_scan}")
    capture(page, "brouillon-papier")
    contexte.close()

    # L'administrateur, et le maire sur son téléphone.
    admin = navigateur.new_context(locale="fr-FR").new_page()
    se_connecter(admin, site.base, "admin")
    admin.goto(f"{site.base}/admin/utilisateurs")
    assert champs_sans_etiquette(admin) == []
    capture(admin, "comptes")
    admin.context.close()
    telephone = navigateur.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="fr-FR"
    ).new_page()
    se_connecter(telephone, site.base, "maire")
    largeur = telephone.evaluate("document.documentElement.scrollWidth")
    assert largeur <= 390, "la file déborde de l'écran du téléphone"
    capture(telephone, "file-telephone")
    telephone.context.close()


def test_un_courriel_hostile_affiche_n_execute_rien_et_ne_charge_rien_d_ailleurs(
    navigateur: Any, site: Site
) -> None:
    contexte = navigateur.new_context(locale="fr-FR")
    page = contexte.new_page()
    requetes: list[str] = []
    dialogues: list[str] = []
    page.on("request", lambda r: requetes.append(r.url))

    def noter_dialogue(d: Any) -> None:
        dialogues.append(d.message)
        d.dismiss()

    page.on("dialog", noter_dialogue)
    se_connecter(page, site.base, "secretaire")
    for chemin in (
        f"/courrier/{site.jeu.hostile}",
        f"/brouillon/{site.jeu.brouillon_hostile}",
        "/",
        "/registre",
    ):
        page.goto(f"{site.base}{chemin}")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("typeof window.pwned") == "undefined", chemin
        assert "PWNED" not in page.title()
    page.goto(f"{site.base}/courrier/{site.jeu.hostile}")
    page.wait_for_load_state("networkidle")
    texte = page.inner_text("main")
    assert "voici ma demande de salle" in texte
    assert "<script>" in texte  # l'objet hostile se lit, comme du texte
    assert (
        page.locator("main script, main img, main iframe, main form[action^='http']").count() == 0
    )
    capture(page, "courrier-hostile")
    time.sleep(0.5)
    contexte.close()

    assert dialogues == []
    etrangeres = [u for u in requetes if not u.startswith(site.base + "/")]
    assert etrangeres == []
    assert site.piege.requetes == []
