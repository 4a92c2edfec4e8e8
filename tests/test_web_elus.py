"""La vue des élus sur la page web : un compte « élu » ne lit que ses courriers et l'urgent, ne
décide rien (chaque route d'action lui répond 403 en français), commente ; la secrétaire voit
l'élu référent, le corrige et lit les commentaires. Client HTTP de Starlette, puis un vrai
Chromium sans écran (Playwright)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import sync_playwright

from interfaces.web.app import creer_app
from interfaces.web.routes_elus import REFUS_ELU, permis_a_l_elu
from noyau.calendrier import aujourd_hui
from registre.comptes import Comptes
from registre.registre import Registre
from registre.repartition import commentaires, corriger_elu
from regles.repartition import charger_repartition
from tests import navigateur as nv
from tests.test_repartition import dossier_regles
from tests.test_web import chemin_concret, connecter, jeton_connexion, lu, routes

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@dataclass
class Site:
    client: TestClient
    registre: Registre
    jeu: nv.Jeu


def preparer(registre: Registre, regles: Path) -> nv.Jeu:
    """Le registre garni des tests web, réparti : la fuite (urgente) et l'urbanisme à l'adjoint
    à la voirie, l'aide sociale à la conseillère ; comptes d'élus, dont un qui n'est relié à
    aucun élu des règles."""
    jeu = nv.garnir(registre, "http://127.0.0.1:9", aujourd_hui())
    comptes = nv.creer_comptes(registre)
    for nom in ("p.durand", "c.martin", "orphelin"):
        comptes.creer(nom, "elu", nv.MOT_DE_PASSE, "test")
    repartition = charger_repartition(regles)
    corriger_elu(registre, repartition, jeu.demande, "test", "voirie")
    corriger_elu(registre, repartition, jeu.autres[1], "test", "voirie")
    corriger_elu(registre, repartition, jeu.scan, "test", "ecoles")
    return jeu


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    donnees = tmp_path / "donnees"
    url = f"sqlite:///{donnees / 'registre.sqlite3'}"
    regles = dossier_regles(tmp_path)
    registre = Registre.ouvrir(url, donnees)
    jeu = preparer(registre, regles)
    app = creer_app(nv.reglages_web(donnees, url, regles=regles), registre)
    with TestClient(app, follow_redirects=False) as client:
        yield Site(client, registre, jeu)
    registre.fermer()


def connecter_elu(client: TestClient, nom: str) -> str:
    reponse = client.post(
        "/connexion",
        data={"nom": nom, "mot_de_passe": nv.MOT_DE_PASSE, "csrf": jeton_connexion(client)},
    )
    assert reponse.status_code == 303
    accueil = client.get("/")
    assert accueil.status_code == 303 and accueil.headers["location"] == "/elu"
    page = client.get("/elu")
    assert page.status_code == 200
    trouve = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert trouve
    return trouve.group(1)


def test_l_elu_ne_voit_que_ses_courriers_et_l_urgent(site: Site) -> None:
    client, jeu = site.client, site.jeu
    connecter_elu(client, "p.durand")
    page = lu(client.get("/elu"))
    assert "Paul Durand (adjoint à la voirie)" in page
    assert jeu.demande in page and jeu.autres[1] in page
    for autre in (jeu.hostile, jeu.scan, jeu.autres[0], jeu.autres[2]):
        assert autre not in page
    assert 'href="/registre"' not in page and "File d'attente" not in page
    fiche = client.get(f"/elu/courrier/{jeu.demande}")
    assert fiche.status_code == 200
    assert "Une fuite d'eau inonde la chaussée" in lu(fiche)
    for autre in (jeu.scan, jeu.hostile, "2026-99999"):
        refus = client.get(f"/elu/courrier/{autre}")
        assert refus.status_code == 404
        assert "ne fait pas partie de vos courriers" in lu(refus)


def test_la_conseillere_voit_l_aide_sociale_et_l_urgent_pas_la_voirie(site: Site) -> None:
    client, jeu = site.client, site.jeu
    connecter_elu(client, "c.martin")
    page = lu(client.get("/elu"))
    assert jeu.scan in page and jeu.demande in page  # la fuite est urgente
    assert jeu.autres[1] not in page


def test_un_compte_d_elu_sans_regle_ne_voit_que_l_urgent(site: Site) -> None:
    client, jeu = site.client, site.jeu
    connecter_elu(client, "orphelin")
    page = lu(client.get("/elu"))
    assert "relié à aucun élu" in page
    assert jeu.demande in page
    assert jeu.autres[1] not in page and jeu.scan not in page


def test_chaque_route_d_action_refuse_l_elu_en_francais_et_ne_change_rien(site: Site) -> None:
    client, registre, jeu = site.client, site.registre, site.jeu
    csrf = connecter_elu(client, "p.durand")
    avant = len(registre.evenements())
    refusees = 0
    for route in routes(client):
        chemin = chemin_concret(route, jeu)
        for methode in sorted(route.methods):
            if permis_a_l_elu(methode, chemin) or route.path == "/connexion":
                continue
            donnees = {
                "csrf": csrf,
                "action": "valider",
                "objet": "x",
                "corps": "y",
                "raison": "z",
                "parti": "oui",
                "categorie": "autre",
                "urgence": "basse",
                "elu": "",
                "nom": "intrus",
                "role": "admin",
                "mot_de_passe": "x" * 12,
                "confirmation": "x" * 12,
            }
            reponse = client.request(methode, chemin, data=donnees if methode == "POST" else None)
            if chemin == "/" and methode in ("GET", "HEAD"):
                assert reponse.status_code == 303 and reponse.headers["location"] == "/elu"
                continue
            assert reponse.status_code == 403, (methode, chemin, reponse.status_code)
            if methode != "HEAD":
                assert REFUS_ELU in lu(reponse), chemin
            refusees += 1
    assert refusees >= 15  # les routes de la secrétaire, du maire et de l'administrateur
    assert len(registre.evenements()) == avant
    assert "intrus" not in [c.nom for c in Comptes(registre).lister()]
    c = registre.courrier(jeu.demande)
    assert c is not None and c.elu == "voirie" and c.categorie == "voirie"
    assert c.brouillons[0].statut == "a_valider"


def test_l_elu_commente_et_la_secretaire_lit_le_commentaire(site: Site) -> None:
    client, registre, jeu = site.client, site.registre, site.jeu
    csrf = connecter_elu(client, "p.durand")
    chemin = f"/elu/courrier/{jeu.demande}/commentaire"
    hostile = '<script>window.pwned=1</script><img src=x onerror="alert(1)"> Vu, urgent.'
    reponse = client.post(chemin, data={"csrf": csrf, "texte": hostile})
    assert reponse.status_code == 303
    assert "fait=commentaire" in reponse.headers["location"]
    page = client.get(reponse.headers["location"])
    assert "Votre commentaire est enregistré" in lu(page)
    assert "<script>window.pwned" not in page.text and "&lt;script&gt;" in page.text
    for texte, message in (("", "est vide"), ("  \n ", "est vide"), ("x" * 5000, "trop long")):
        refus = client.post(chemin, data={"csrf": csrf, "texte": texte})
        assert refus.status_code == 400, texte[:10]
        assert message in lu(refus)
    enorme = client.post(chemin, data={"csrf": csrf, "texte": "x" * 30_000})
    assert enorme.status_code == 400 and "trop long (30" in lu(enorme)
    # Sur le courrier d'un autre élu : refusé, rien d'écrit.
    ailleurs = client.post(
        f"/elu/courrier/{jeu.scan}/commentaire", data={"csrf": csrf, "texte": "Bonjour"}
    )
    assert ailleurs.status_code == 404
    assert [m.texte for m in commentaires(registre, jeu.demande)] == [hostile]
    assert commentaires(registre, jeu.scan) == []
    assert registre.verifier() == []

    client.post("/deconnexion", data={"csrf": csrf})
    connecter(client, "secretaire")
    page = client.get(f"/courrier/{jeu.demande}")
    assert "Commentaires des élus" in lu(page)
    assert "Vu, urgent." in lu(page) and "p.durand" in lu(page)
    assert "<script>window.pwned" not in page.text
    assert "commentaire d'élu" in lu(page)  # au journal du courrier


def test_la_secretaire_voit_et_corrige_l_elu_referent(site: Site) -> None:
    client, registre, jeu = site.client, site.registre, site.jeu
    csrf = connecter(client, "secretaire")
    assert "Élu : Paul Durand (adjoint à la voirie)" in lu(client.get("/"))
    page = lu(client.get(f"/courrier/{jeu.scan}"))
    assert "Claire Martin (conseillère déléguée aux écoles)" in page
    reponse = client.post(f"/courrier/{jeu.scan}/elu", data={"csrf": csrf, "elu": "fetes"})
    assert reponse.status_code == 303
    c = registre.courrier(jeu.scan)
    assert c is not None and c.elu == "fetes"
    assert registre.evenements(jeu.scan)[-1].acteur == "secretaire"
    refus = client.post(f"/courrier/{jeu.scan}/elu", data={"csrf": csrf, "elu": "inconnu"})
    assert refus.status_code == 400 and "n'est pas dans les règles" in lu(refus)
    assert registre.verifier() == []
    # La vue d'ensemble : les courriers de tous les élus, et l'urgent ; pas les autres.
    ensemble = lu(client.get("/elu"))
    assert "Courriers confiés aux élus" in ensemble
    assert jeu.scan in ensemble and jeu.autres[1] in ensemble and jeu.demande in ensemble
    assert jeu.autres[0] not in ensemble and jeu.hostile not in ensemble
    assert "Élu : Jean Bernard (adjoint aux fêtes)" in ensemble


def test_des_regles_d_elus_fausses_laissent_la_page_ouverte(tmp_path: Path) -> None:
    donnees = tmp_path / "donnees"
    url = f"sqlite:///{donnees / 'registre.sqlite3'}"
    regles = dossier_regles(tmp_path, "elus: [\n")
    registre = Registre.ouvrir(url, donnees)
    jeu = nv.garnir(registre, "http://127.0.0.1:9", aujourd_hui())
    nv.creer_comptes(registre)
    app = creer_app(nv.reglages_web(donnees, url, regles=regles), registre)
    with TestClient(app, follow_redirects=False) as client:
        connecter(client, "secretaire")
        page = client.get(f"/courrier/{jeu.demande}")
        assert page.status_code == 200 and "Élu référent" in lu(page)
    registre.fermer()


# --- Dans un vrai Chromium ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def navigateur() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium est introuvable : installez le paquet Debian « chromium ».")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def test_dans_chromium_l_elu_lit_son_courrier_et_le_commente(
    navigateur: Any, tmp_path: Path
) -> None:
    donnees = tmp_path / "donnees"
    url = f"sqlite:///{donnees / 'registre.sqlite3'}"
    regles = dossier_regles(tmp_path)
    registre = Registre.ouvrir(url, donnees)
    jeu = preparer(registre, regles)
    app = creer_app(nv.reglages_web(donnees, url, regles=regles), registre)
    with nv.serveur_web(app) as base:
        page = navigateur.new_context(locale="fr-FR").new_page()
        dialogues: list[str] = []
        page.on("dialog", lambda d: (dialogues.append(d.message), d.dismiss()))
        page.goto(f"{base}/")
        page.get_by_label("Nom d'utilisateur").fill("p.durand")
        page.get_by_label("Mot de passe").fill(nv.MOT_DE_PASSE)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url(f"{base}/elu")
        assert page.get_by_role("heading", name="Mes courriers").is_visible()
        assert page.get_by_role("link", name="Mes courriers").is_visible()
        assert page.get_by_role("link", name="Registre").count() == 0
        assert jeu.scan not in page.content()
        page.get_by_role("link", name=re.compile(re.escape(jeu.autres[1]))).click()
        page.wait_for_url(f"{base}/elu/courrier/{jeu.autres[1]}")
        assert "Déclaration préalable de travaux" in page.content()
        page.get_by_label("Votre commentaire pour le secrétariat").fill(
            "<script>alert('x')</script>Je passerai voir le terrain jeudi."
        )
        page.get_by_role("button", name="Envoyer le commentaire").click()
        page.wait_for_url(re.compile(r".*fait=commentaire.*"))
        assert page.get_by_role("status").inner_text().startswith("Votre commentaire")
        assert page.get_by_text("Je passerai voir le terrain jeudi.").is_visible()
        nv_capture(page, "elu-commentaire")
        # Un lien d'action tapé à la main : refusé en français.
        reponse = page.goto(f"{base}/brouillon/{jeu.brouillon_demande}")
        assert reponse is not None and reponse.status == 403
        assert "réservée au secrétariat" in page.content()
        assert dialogues == []

        secretaire = navigateur.new_context(locale="fr-FR").new_page()
        secretaire.goto(f"{base}/")
        secretaire.get_by_label("Nom d'utilisateur").fill("secretaire")
        secretaire.get_by_label("Mot de passe").fill(nv.MOT_DE_PASSE)
        secretaire.get_by_role("button", name="Se connecter").click()
        secretaire.wait_for_url(f"{base}/")
        secretaire.goto(f"{base}/courrier/{jeu.autres[1]}")
        section = secretaire.locator("#commentaires")
        assert "Je passerai voir le terrain jeudi." in section.inner_text()
        assert "<script>alert('x')</script>" in section.inner_text()  # montré, pas exécuté
        secretaire.get_by_label("Élu référent").select_option("fetes")
        secretaire.get_by_role("button", name="Changer l'élu référent").click()
        secretaire.wait_for_url(re.compile(r".*fait=classement.*"))
        assert "Jean Bernard (adjoint aux fêtes)" in secretaire.content()
        nv_capture(secretaire, "secretaire-commentaire-elu")
    c = registre.courrier(jeu.autres[1])
    assert c is not None and c.elu == "fetes"
    assert registre.verifier() == []
    registre.fermer()


def nv_capture(page: Any, nom: str) -> None:
    dossier = Path(__file__).resolve().parent.parent / "artefacts"
    dossier.mkdir(exist_ok=True)
    page.screenshot(path=str(dossier / f"web-{nom}.png"), full_page=True)
