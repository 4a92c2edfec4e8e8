"""Le cloisonnement de la page web entre les communes d'une installation (issue #12, point 2).

Deux communes, « arville » et « bourg », chacune son vrai registre SQLite garni comme les
autres tests web (tests/navigateur.py : un courriel avec pièce jointe, un courriel hostile, une
lettre numérisée du dépôt de démo, des brouillons) ; bourg en a PLUS qu'arville : ses numéros
et ses brouillons visés ici n'existent pas chez arville. Un compte d'arville, un de bourg, un
de l'intercommunalité (les deux), dans le registre de l'installation.

Pour CHAQUE route de l'application (tirée de `app.routes`, comme le crible : une route ajoutée
demain sans place ici fait échouer le test), le compte d'arville qui vise un élément de bourg
est refusé (403 ou 404, page française) sans rien écrire ; les pages sans identifiant ne
montrent rien de bourg.
"""

from __future__ import annotations

import html
import os
import re
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from courrier.communes import FICHIER, dossier_de, ecrire_fichier, reglages_de_la_commune
from courrier.config import Reglages, charger
from interfaces.web.app import COOKIE_SESSION, creer_app
from noyau.analyse import Analyse, Brouillon, TypeBrouillon
from noyau.calendrier import aujourd_hui
from noyau.domaine import Canal
from preuves.serveurs import creer_base
from registre.comptes import Comptes
from registre.indicateurs import calculer
from registre.indicateurs import exporter as exporter_indicateurs
from registre.registre import Registre
from tests import navigateur as nv
from tests.test_web import jeton_connexion

MOT_A = "alizarine"  # ne figure que dans un courrier d'arville
MOT_B = "zephyrin"  # ne figure que dans les courriers de bourg
EXTRAS_B = 8  # de quoi pousser les numéros et les brouillons de bourg au-delà d'arville


@dataclass
class Site:
    client: TestClient
    installation: Registre
    arville: Registre
    bourg: Registre
    jeu_a: nv.Jeu
    jeu_b: nv.Jeu
    reglages: Reglages

    def journaux(self) -> tuple[int, int, int]:
        return (
            len(self.installation.evenements()),
            len(self.arville.evenements()),
            len(self.bourg.evenements()),
        )


def _extra(registre: Registre, rang: int, mot: str, recu_le: datetime, brouillon: bool) -> None:
    """Un courriel de plus, lu et analysé (avec un brouillon si `brouillon`)."""
    m = EmailMessage()
    m["From"] = f"Habitant {rang} <habitant{rang}@exemple.example>"
    m["Subject"] = f"Demande {mot} {rang}"
    m["Message-ID"] = f"<{mot}-{rang}@exemple.example>"
    m.set_content(f"Bonjour, une demande au sujet de {mot} ({rang}).")
    numero, ident = nv._enregistrer(
        registre, m.as_bytes(), Canal.DEPOT, f"{mot}{rang}.eml", recu_le
    )
    nv._lire(registre, numero)
    brouillons = (
        [Brouillon(TypeBrouillon.REPONSE, f"Re: {mot}", f"Bonjour,\n\n{mot}.\n\nLe Maire", "t")]
        if brouillon
        else []
    )
    registre.consigner_analyse(ident, Analyse(categorie="voirie", resume=mot), brouillons)


def ajouter_commune(reglages: Reglages, ident: str, nom: str) -> Reglages:
    dossier = dossier_de(reglages, ident)
    dossier.mkdir(parents=True, exist_ok=True)
    ecrire_fichier(dossier / FICHIER, {"COURRIER_COMMUNE": nom})
    return reglages_de_la_commune(reglages, ident)


def ouvrir_commune(reglages: Reglages, ident: str, nom: str) -> Registre:
    r = ajouter_commune(reglages, ident, nom)
    return Registre.ouvrir(r.url_base, r.donnees, commune=ident)


def base_postgres(request: pytest.FixtureRequest) -> str:
    """Une base neuve sur la grappe PostgreSQL de la session ; chaque commune y aura son schéma."""
    grappe: str = request.getfixturevalue("grappe_postgres")
    return creer_base(grappe, f"communes_{os.getpid()}_{uuid.uuid4().hex[:8]}")


@pytest.fixture
def site(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Site]:
    """SQLite ; `parametrize("site", ["postgresql"], indirect=True)` : PostgreSQL."""
    jour = aujourd_hui()
    nuit = datetime.combine(jour, datetime.min.time(), tzinfo=UTC)
    donnees = tmp_path / "donnees"
    url = f"sqlite:///{donnees / 'registre.sqlite3'}"
    if getattr(request, "param", "sqlite") == "postgresql":
        url = base_postgres(request)
    installation = Registre.ouvrir(url, donnees)
    reglages = nv.reglages_web(donnees, url)
    arville = ouvrir_commune(reglages, "arville", "Arville")
    bourg = ouvrir_commune(reglages, "bourg", "Bourg-sur-Loire")
    _extra(arville, 0, MOT_A, nuit - timedelta(hours=5), brouillon=False)
    jeu_a = nv.garnir(arville, "http://127.0.0.1:9", jour)
    for rang in range(EXTRAS_B):
        _extra(bourg, rang, MOT_B, nuit - timedelta(hours=5 + rang), brouillon=True)
    jeu_b = nv.garnir(bourg, "http://127.0.0.1:9", jour)
    comptes = Comptes(installation)
    comptes.creer("admin-a", "admin", nv.MOT_DE_PASSE, "test", ["arville"])
    comptes.creer("admin-b", "admin", nv.MOT_DE_PASSE, "test", ["bourg"])
    comptes.creer("inter", "admin", nv.MOT_DE_PASSE, "test", ["arville", "bourg"])
    comptes.creer("tout", "admin", nv.MOT_DE_PASSE, "test", ["*"])
    app = creer_app(reglages, installation)
    with TestClient(app, follow_redirects=False) as client:
        yield Site(client, installation, arville, bourg, jeu_a, jeu_b, reglages)
    for registre in (arville, bourg, installation):
        registre.fermer()


def lu(reponse: object) -> str:
    return html.unescape(reponse.text)  # type: ignore[attr-defined]


def connecter(client: TestClient, nom: str) -> str:
    """Se connecte (cookies du client remplacés) ; rend le jeton CSRF de la session."""
    client.cookies.clear()
    reponse = client.post(
        "/connexion",
        data={"nom": nom, "mot_de_passe": nv.MOT_DE_PASSE, "csrf": jeton_connexion(client)},
    )
    assert reponse.status_code == 303, reponse.text
    return csrf_de(client)


def csrf_de(client: TestClient) -> str:
    page = client.get("/registre")
    trouve = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert trouve, page.text
    return trouve.group(1)


def commune_affichee(client: TestClient) -> str:
    page = client.get("/registre")
    assert page.status_code == 200, page.text
    trouve = re.search(
        r'<p class="marque"><a href="/">Courrier</a> <span>([^<]*)</span>', page.text
    )
    assert trouve, page.text
    return html.unescape(trouve.group(1))


def trouves(client: TestClient, mot: str) -> int:
    """Le nombre de courriers que la recherche du registre trouve pour `mot`."""
    page = lu(client.get("/registre", params={"texte": mot}))
    trouve = re.search(r"(\d+) courriers? trouvés?", page)
    assert trouve, page
    return int(trouve.group(1))


def numeros(registre: Registre) -> set[str]:
    return {c.numero for c in registre.courriers()}


def francais(reponse: object) -> bool:
    return '<html lang="fr">' in reponse.text  # type: ignore[attr-defined]


def test_b_a_plus_de_courriers_et_de_brouillons_que_a(site: Site) -> None:
    """Le jeu de test lui-même : ce qu'on demande à arville n'existe que chez bourg."""
    assert len(numeros(site.bourg)) > len(numeros(site.arville))
    for numero in (site.jeu_b.demande, site.jeu_b.scan, site.jeu_b.hostile):
        assert site.arville.courrier(numero) is None and site.bourg.courrier(numero) is not None
    for ident in (site.jeu_b.brouillon_demande, site.jeu_b.brouillon_scan):
        assert site.arville.brouillon(ident) is None and site.bourg.brouillon(ident) is not None
    piece = site.bourg.courrier(site.jeu_b.demande)
    assert piece is not None and any(p.rang == 1 for p in piece.pieces)


# --- Chaque route ---------------------------------------------------------------------------

# Les routes sans identifiant dans le chemin, et ce qui les éprouve plus bas : une route
# nouvelle sans identifiant doit être ajoutée ici (et éprouvée) pour que le test passe.
SANS_IDENTIFIANT = {
    ("GET", "/"): "file d'attente sans courrier de bourg",
    ("GET", "/registre"): "recherche d'un mot de bourg",
    ("GET", "/registre/export"): "export sans courrier de bourg",
    ("GET", "/indicateurs"): "indicateurs d'arville seule",
    ("GET", "/indicateurs/export"): "indicateurs d'arville seule",
    ("GET", "/elu"): "vue des élus sans courrier de bourg",
    ("GET", "/admin/utilisateurs"): "comptes d'arville seulement",
    ("POST", "/admin/utilisateurs"): "création refusée pour bourg",
    ("POST", "/commune"): "sélecteur : bourg refusé",
    ("GET", "/connexion"): "publique, aucune donnée de commune",
    ("POST", "/connexion"): "publique, aucune donnée de commune",
    ("POST", "/deconnexion"): "ferme la session, aucune donnée de commune",
}


def _chemin_de_bourg(route: APIRoute, jeu_b: nv.Jeu) -> str:
    valeurs = {
        "numero": jeu_b.scan if route.path.endswith("/page/{page}") else jeu_b.demande,
        "ident": str(jeu_b.brouillon_scan),
        "rang": "1",
        "page": "1",
        "nom": "admin-b",
    }
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: valeurs[m.group(1)], route.path)


def _formulaire(csrf: str) -> dict[str, str]:
    return {
        "csrf": csrf,
        "action": "enregistrer",
        "objet": "Objet changé",
        "corps": "Corps changé",
        "adresse": "1 rue de la Paix\n45000 Arville",
        "raison": "hors sujet",
        "parti": "oui",
        "texte": "Un commentaire",
        "elu": "",
        "categorie": "voirie",
        "reponse": "oui",
    }


@pytest.mark.parametrize("site", ["sqlite", "postgresql"], indirect=True)
def test_chaque_route_refuse_au_compte_d_arville_les_elements_de_bourg(site: Site) -> None:
    client, jeu_b = site.client, site.jeu_b
    # Une lettre produite chez bourg : sa route de téléchargement a quelque chose à refuser.
    csrf_b = connecter(client, "admin-b")
    produite = client.post(
        f"/brouillon/{jeu_b.brouillon_scan}",
        data={
            "csrf": csrf_b,
            "action": "papier",
            "objet": "Accusé de réception de votre demande",
            "corps": "Madame,\n\nVotre demande a bien été reçue.\n\nLe Maire",
            "adresse": "3 rue des Écoles\n45000 Bourg",
        },
    )
    assert produite.status_code == 303, lu(produite)
    routes = [r for r in client.app.routes if isinstance(r, APIRoute)]  # type: ignore[attr-defined]
    # Le témoin : chaque page à identifiant existe bien pour le compte de bourg.
    for route in routes:
        if "{" in route.path and "GET" in route.methods:
            reponse = client.get(_chemin_de_bourg(route, jeu_b))
            assert reponse.status_code == 200, (route.path, lu(reponse)[:500])

    csrf_a = connecter(client, "admin-a")
    avant = site.journaux()
    essayees = 0
    for route in routes:
        for methode in sorted(route.methods - {"HEAD"}):
            if "{" not in route.path:
                assert (methode, route.path) in SANS_IDENTIFIANT, (
                    f"{methode} {route.path} : route sans test d'accès croisé entre communes "
                    "(ajoutez-la à SANS_IDENTIFIANT et éprouvez-la)"
                )
                continue
            chemin = _chemin_de_bourg(route, jeu_b)
            reponse = client.request(methode, chemin, data=_formulaire(csrf_a))
            essayees += 1
            assert reponse.status_code in (403, 404), (methode, chemin, reponse.status_code)
            assert francais(reponse), (methode, chemin)
            texte = lu(reponse)
            assert "Bourg" not in texte and MOT_B not in texte, (methode, chemin)
            assert site.journaux() == avant, (methode, chemin)
    assert essayees >= 15
    # Les mêmes éléments, désignés par un lien qui porte la commune : refusés aussi.
    for chemin in (f"/courrier/{jeu_b.demande}", f"/brouillon/{jeu_b.brouillon_scan}"):
        reponse = client.get(chemin, params={"commune": "bourg"})
        assert reponse.status_code == 403 and francais(reponse)
        assert "pas accès à cette commune" in lu(reponse)
    assert site.journaux() == avant
    assert commune_affichee(client) == "Arville"


def test_les_pages_sans_identifiant_ne_montrent_rien_de_bourg(site: Site) -> None:
    client = site.client
    connecter(client, "admin-a")
    propres_b = numeros(site.bourg) - numeros(site.arville)
    assert propres_b
    for chemin in ("/", "/registre", "/elu", "/indicateurs", "/admin/utilisateurs"):
        texte = lu(client.get(chemin))
        assert not any(n in texte for n in propres_b), chemin
        assert MOT_B not in texte.lower() and "Bourg" not in texte, chemin
    # La recherche : le mot de bourg ne trouve rien, celui d'arville, si (la recherche marche).
    assert trouves(client, MOT_B) == 0
    assert trouves(client, MOT_A) > 0
    # L'export : les courriers d'arville, tous, et aucun de bourg.
    export = client.get("/registre/export", params={"format": "csv"})
    assert export.status_code == 200
    texte = export.content.decode("utf-8-sig")
    assert all(n in texte for n in numeros(site.arville))
    assert not any(n in texte for n in propres_b) and MOT_B not in texte.lower()
    # Les indicateurs : ceux du registre d'arville, octet pour octet, pas ceux de bourg.
    web = client.get("/indicateurs/export", params={"format": "csv"}).content

    def attendu(registre: Registre) -> bytes:
        ind = calculer(registre.engine, registre.aujourd_hui(), 12)
        with tempfile.TemporaryDirectory() as dossier:
            chemin = Path(dossier) / "i.csv"
            exporter_indicateurs(ind, dict(nv_categories(site)), "csv", chemin)
            return chemin.read_bytes()

    assert web == attendu(site.arville) != attendu(site.bourg)
    page = lu(client.get("/indicateurs"))
    assert f"Courriers reçus : {len(numeros(site.arville))}" in page


def nv_categories(site: Site) -> dict[str, str]:
    from regles.chargement import charger_regles

    return {i: c.libelle for i, c in charger_regles(site.reglages.regles).categories.items()}


def test_le_compte_de_l_intercommunalite_change_de_commune(site: Site) -> None:
    client, jeu_b = site.client, site.jeu_b
    csrf = connecter(client, "inter")
    # À la connexion, la première de ses communes ; le sélecteur les propose toutes deux.
    assert commune_affichee(client) == "Arville"
    page = lu(client.get("/"))
    assert 'action="/commune"' in page and "Bourg-sur-Loire" in page
    assert client.get(f"/courrier/{jeu_b.demande}").status_code == 404
    change = client.post("/commune", data={"csrf": csrf, "commune": "bourg"})
    assert change.status_code == 303 and change.headers["location"] == "/"
    assert commune_affichee(client) == "Bourg-sur-Loire"
    assert client.get(f"/courrier/{jeu_b.demande}").status_code == 200
    # Elle voit bourg, et plus arville.
    assert trouves(client, MOT_A) == 0
    assert trouves(client, MOT_B) > 0
    # Le lien d'un digest d'arville (?commune=arville) ramène la session sur arville.
    numero_a = next(iter(sorted(numeros(site.arville))))
    lien = client.get(f"/courrier/{numero_a}", params={"commune": "arville"})
    assert lien.status_code == 200 and "Arville" in lu(lien)
    assert commune_affichee(client) == "Arville"
    # Et celui d'un digest de bourg mène au courrier de bourg, qu'arville n'a pas.
    assert client.get(f"/courrier/{jeu_b.demande}", params={"commune": "bourg"}).status_code == 200
    # Le même lien avant toute connexion : la connexion y mène, commune comprise.
    client.cookies.clear()
    lien = client.get(f"/courrier/{jeu_b.demande}", params={"commune": "bourg"})
    assert lien.status_code == 303
    suite = f"/courrier/{jeu_b.demande}?commune=bourg"
    assert lien.headers["location"] == "/connexion?" + urlencode({"suite": suite})
    connexion = client.post(
        "/connexion",
        data={
            "nom": "inter",
            "mot_de_passe": nv.MOT_DE_PASSE,
            "csrf": jeton_connexion(client),
            "suite": suite,
        },
    )
    assert connexion.status_code == 303 and connexion.headers["location"] == suite
    assert client.get(suite).status_code == 200
    assert commune_affichee(client) == "Bourg-sur-Loire"
    csrf = csrf_de(client)
    # Le lien tel que les digests l'écrivent : par le chemin de la commune (/c/<id>/…).
    client.post("/commune", data={"csrf": csrf, "commune": "arville"})
    digest = client.get(f"/c/bourg/courrier/{jeu_b.demande}", params={"fait": "valide"})
    assert digest.status_code == 303
    assert digest.headers["location"] == f"/courrier/{jeu_b.demande}?fait=valide&commune=bourg"
    assert client.get(digest.headers["location"]).status_code == 200
    assert commune_affichee(client) == "Bourg-sur-Loire"
    # Sans jeton CSRF, le sélecteur ne change rien.
    sans = client.post("/commune", data={"csrf": "faux", "commune": "arville"})
    assert sans.status_code == 403 and francais(sans)
    assert commune_affichee(client) == "Bourg-sur-Loire"


@pytest.mark.parametrize(
    "demandee",
    ["bourg", "", "inexistante", "../bourg", "bourg/../arville", "*", "x" * 5000, "bourg\x00"],
)
def test_le_selecteur_refuse_au_compte_d_arville_toute_autre_commune(
    site: Site, demandee: str
) -> None:
    client = site.client
    csrf = connecter(client, "admin-a")
    avant = site.journaux()
    # Un compte d'une seule commune n'a pas de sélecteur.
    assert 'action="/commune"' not in client.get("/").text
    reponse = client.post("/commune", data={"csrf": csrf, "commune": demandee})
    assert reponse.status_code in (400, 403) and francais(reponse)
    assert "Traceback" not in reponse.text
    lien = client.get("/", params={"commune": demandee})
    assert lien.status_code == 403 and francais(lien)
    assert commune_affichee(client) == "Arville"
    assert site.journaux() == avant


@pytest.mark.parametrize(
    ("chemin", "cible"),
    [
        ("/c/bourg", "/?commune=bourg"),
        ("/c/bourg//ailleurs.example/piege", "/?commune=bourg"),
        # Encodé, l'antislash reste un chemin de ce site (le navigateur ne le décode pas).
        ("/c/bourg/\\ailleurs.example", "/%5Cailleurs.example?commune=bourg"),
        ("/c/bourg/courrier/2026-00001?commune=arville", "/courrier/2026-00001?commune=bourg"),
    ],
)
def test_le_chemin_d_une_commune_reste_sur_le_site_et_refuse_au_compte_d_arville(
    site: Site, chemin: str, cible: str
) -> None:
    client = site.client
    connecter(client, "admin-a")
    reponse = client.get(chemin)
    assert reponse.status_code == 303 and reponse.headers["location"] == cible
    refus = client.get(cible)
    assert refus.status_code == 403 and "pas accès à cette commune" in lu(refus)
    assert commune_affichee(client) == "Arville"
    # D'autres méthodes, des identifiants impossibles : une page qui n'existe pas.
    for methode, autre in (
        ("POST", "/c/bourg/commune"),
        ("GET", "/c/Bourg/"),
        ("GET", "/c/..%2Fregistre"),
        ("GET", "/c/" + "b" * 60 + "/"),
    ):
        page = client.request(methode, autre, data={"csrf": "x", "commune": "bourg"})
        assert page.status_code in (403, 404) and francais(page), (methode, autre)
    assert commune_affichee(client) == "Arville"


def test_les_comptes_d_un_administrateur_sont_ceux_de_ses_communes(site: Site) -> None:
    client = site.client
    csrf = connecter(client, "admin-a")
    page = lu(client.get("/admin/utilisateurs"))
    assert "admin-a" in page
    assert not any(nom in page for nom in ("admin-b", "inter", "tout"))
    avant = site.journaux()
    for communes in ("bourg", "arville,bourg", "*"):
        reponse = client.post(
            "/admin/utilisateurs",
            data={
                "csrf": csrf,
                "nom": "intrus",
                "role": "admin",
                "mot_de_passe": nv.MOT_DE_PASSE,
                "confirmation": nv.MOT_DE_PASSE,
                "communes": communes,
            },
        )
        assert reponse.status_code == 403 and francais(reponse), communes
        assert "vos propres communes" in lu(reponse)
    assert site.journaux() == avant
    assert Comptes(site.installation).compte("intrus") is None
    # Sans rien préciser : la commune regardée.
    cree = client.post(
        "/admin/utilisateurs",
        data={
            "csrf": csrf,
            "nom": "secretaire-a",
            "role": "secretaire",
            "mot_de_passe": nv.MOT_DE_PASSE,
            "confirmation": nv.MOT_DE_PASSE,
        },
    )
    assert cree.status_code == 303, lu(cree)
    compte = Comptes(site.installation).compte("secretaire-a")
    assert compte is not None and compte.communes == ("arville",)
    # L'administrateur de toutes les communes voit tous les comptes.
    connecter(client, "tout")
    page = lu(client.get("/admin/utilisateurs"))
    assert all(nom in page for nom in ("admin-a", "admin-b", "inter", "secretaire-a"))


def test_une_commune_ajoutee_apres_le_demarrage_est_servie_sans_redemarrer(site: Site) -> None:
    client = site.client
    cerny = ouvrir_commune(site.reglages, "cerny", "Cerny")
    _extra(cerny, 0, "cernois", datetime.now(UTC), brouillon=False)
    cerny.fermer()
    Comptes(site.installation).creer("admin-c", "admin", nv.MOT_DE_PASSE, "test", ["cerny"])
    connecter(client, "admin-c")
    assert commune_affichee(client) == "Cerny"
    assert trouves(client, "cernois") > 0
    assert trouves(client, MOT_A) == 0
    # Ses réglages sont relus à chaque demande : un nouveau nom se voit aussitôt.
    ecrire_fichier(dossier_de(site.reglages, "cerny") / FICHIER, {"COURRIER_COMMUNE": "Cerny-2"})
    assert commune_affichee(client) == "Cerny-2"


def test_un_compte_sans_commune_existante_est_refuse_mais_peut_se_deconnecter(
    site: Site,
) -> None:
    client = site.client
    Comptes(site.installation).creer("perdu", "admin", nv.MOT_DE_PASSE, "test", ["disparue"])
    client.cookies.clear()
    reponse = client.post(
        "/connexion",
        data={"nom": "perdu", "mot_de_passe": nv.MOT_DE_PASSE, "csrf": jeton_connexion(client)},
    )
    assert reponse.status_code == 303
    for chemin in ("/", f"/courrier/{site.jeu_a.demande}", "/registre/export"):
        page = client.get(chemin)
        assert page.status_code == 403 and "aucune commune" in lu(page), chemin
    assert client.post("/deconnexion", data={"csrf": "x"}).status_code == 403
    # La page du refus garde le bouton de déconnexion, qui marche.
    trouve = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text)
    assert trouve
    sortie = client.post("/deconnexion", data={"csrf": trouve.group(1)})
    assert sortie.status_code == 303 and sortie.headers["location"].startswith("/connexion")
    assert not client.cookies.get(COOKIE_SESSION)


def test_une_commune_mal_reglee_ne_gene_que_ses_comptes(site: Site) -> None:
    client = site.client
    fichier = dossier_de(site.reglages, "bourg") / FICHIER
    fichier.write_text("COURRIER_INCONNU=1\n", encoding="utf-8")
    connecter(client, "admin-a")
    assert commune_affichee(client) == "Arville"
    client.cookies.clear()
    reponse = client.post(
        "/connexion",
        data={"nom": "admin-b", "mot_de_passe": nv.MOT_DE_PASSE, "csrf": jeton_connexion(client)},
    )
    assert reponse.status_code == 303
    avant = site.journaux()
    for chemin in ("/", f"/courrier/{site.jeu_b.demande}"):
        page = client.get(chemin)
        assert page.status_code == 503 and francais(page), chemin
        assert "ne peut pas être servie" in lu(page) and "COURRIER_INCONNU" not in page.text
    assert site.journaux() == avant
    # L'intercommunalité, restée sur bourg, en sort par le sélecteur.
    csrf = connecter(client, "inter")
    assert client.post("/commune", data={"csrf": csrf, "commune": "bourg"}).status_code == 303
    assert client.get("/").status_code == 503
    for hostile in ("inexistante", "x" * 5000):
        refus = client.post("/commune", data={"csrf": csrf, "commune": hostile})
        assert refus.status_code in (400, 403) and francais(refus)
    sortie = client.post("/commune", data={"csrf": csrf, "commune": "arville"})
    assert sortie.status_code == 303
    assert commune_affichee(client) == "Arville"


# --- La commande ------------------------------------------------------------------------------


def test_la_commande_utilisateur_range_les_comptes_dans_l_installation(
    env_courrier: pytest.MonkeyPatch,
) -> None:
    from interfaces.cli import app

    runner = CliRunner()
    # `courrier --commune x` pose COURRIER_COMMUNE_ID pour ses sous-processus : noté ici, la
    # variable est retirée après le test et ne suit pas les tests suivants.
    env_courrier.setenv("COURRIER_COMMUNE_ID", "defaut")
    env_courrier.setenv("COURRIER_MOT_DE_PASSE", "assez-long-vraiment")
    ajout = runner.invoke(app, ["commune", "ajouter", "arville", "--nom", "Arville"])
    assert ajout.exit_code == 0, ajout.output

    def lancer(*arguments: str) -> tuple[int, str]:
        sortie = runner.invoke(app, list(arguments))
        return sortie.exit_code, " ".join(sortie.output.split())

    code, sortie = lancer("utilisateur", "ajouter", "marie", "--role", "secretaire")
    assert code == 0 and "créé (secrétaire)." in sortie, sortie
    code, sortie = lancer(
        "utilisateur", "ajouter", "paul", "--role", "maire", "--communes", "arville,zzz"
    )
    assert code == 1 and "Commune inconnue dans cette installation : zzz" in sortie, sortie
    for hostile in ("../x", "", "a,*", "Arville"):
        code, sortie = lancer(
            "utilisateur", "ajouter", "paul", "--role", "maire", "--communes", hostile
        )
        assert code == 1 and "Erreur :" in sortie and "Traceback" not in sortie, (hostile, sortie)
    # Sous --commune, le compte reçoit cette commune, et reste dans le registre de l'installation.
    code, sortie = lancer(
        "--commune", "arville", "utilisateur", "ajouter", "paul", "--role", "maire"
    )
    assert code == 0 and "communes : arville" in sortie, sortie
    code, sortie = lancer("utilisateur", "ajouter", "inter", "--role", "admin", "--communes", "*")
    assert code == 0 and "communes : toutes" in sortie, sortie
    installation = charger(commune_id="defaut")
    registre = Registre.ouvrir(installation.url_base, installation.donnees)
    try:
        comptes = {c.nom: c.communes for c in Comptes(registre).lister()}
    finally:
        registre.fermer()
    assert comptes == {"marie": ("defaut",), "paul": ("arville",), "inter": ("*",)}
    arville = reglages_de_la_commune(installation, "arville")
    registre = Registre.ouvrir(arville.url_base, arville.donnees, commune="arville")
    try:
        assert Comptes(registre).lister() == []
    finally:
        registre.fermer()
    code, sortie = lancer("--commune", "arville", "utilisateur", "lister")
    assert code == 0 and "paul" in sortie and "toutes" in sortie and "arville" in sortie


# --- Dans un vrai Chromium ----------------------------------------------------------------------


def test_le_selecteur_de_commune_dans_chromium(site: Site) -> None:
    """Le sélecteur tel que le voit l'intercommunalité (capture : artefacts/web-selecteur-
    commune.png), étiqueté pour un lecteur d'écran, et qui change vraiment de commune."""
    from playwright.sync_api import sync_playwright

    from tests.test_web_navigateur import CHROMIUM, capture, champs_sans_etiquette

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium est introuvable : installez le paquet Debian « chromium ».")
    app = creer_app(site.reglages, site.installation)
    try:
        with nv.serveur_web(app) as base, sync_playwright() as p:
            chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = chromium.new_page()
            page.goto(f"{base}/connexion")
            page.get_by_label("Nom d'utilisateur").fill("inter")
            page.get_by_label("Mot de passe").fill(nv.MOT_DE_PASSE)
            page.get_by_role("button", name="Se connecter").click()
            page.wait_for_url(f"{base}/")
            assert page.locator(".marque span").inner_text() == "Arville"
            assert champs_sans_etiquette(page) == []
            page.get_by_label("Commune").select_option(label="Bourg-sur-Loire")
            capture(page, "selecteur-commune")
            page.get_by_role("button", name="Changer de commune").click()
            page.wait_for_url(f"{base}/")
            assert page.locator(".marque span").inner_text() == "Bourg-sur-Loire"
            page.goto(f"{base}/courrier/{site.jeu_b.demande}")
            assert "Fuite" in page.content()
            chromium.close()
    finally:
        app.state.installation.fermer()
