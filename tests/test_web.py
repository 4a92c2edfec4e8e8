"""La page web sans navigateur (client HTTP de Starlette) : sessions, CSRF, rôles, limites,
décisions écrites au journal avec le nom de la personne, recherche et export du registre.
Sur SQLite et sur un vrai PostgreSQL là où le registre écrit."""

from __future__ import annotations

import csv
import hashlib
import html
import io
import os
import re
import subprocess
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from interfaces.web.app import COOKIE_SESSION, creer_app
from noyau.calendrier import aujourd_hui
from preuves.serveurs import attendre_port, port_libre
from registre.comptes import Comptes
from registre.recherche import Filtres, rechercher
from registre.registre import Registre, details
from registre.tables import SessionWeb, Utilisateur
from tests import navigateur as nv
from tests.conftest import RACINE


@pytest.fixture
def jour() -> date:
    return aujourd_hui()


@pytest.fixture
def site(
    url_base: str, tmp_path: Path, jour: date
) -> Iterator[tuple[TestClient, Registre, nv.Jeu]]:
    donnees = tmp_path / "donnees"
    registre = Registre.ouvrir(url_base, donnees)
    jeu = nv.garnir(registre, "http://127.0.0.1:9", jour)
    nv.creer_comptes(registre)
    app = creer_app(nv.reglages_web(donnees, url_base), registre)
    with TestClient(app, follow_redirects=False) as client:
        yield client, registre, jeu
    registre.fermer()


@pytest.fixture
def site_sqlite(tmp_path: Path, jour: date) -> Iterator[tuple[TestClient, Registre, nv.Jeu]]:
    donnees = tmp_path / "donnees"
    url = f"sqlite:///{donnees / 'registre.sqlite3'}"
    registre = Registre.ouvrir(url, donnees)
    jeu = nv.garnir(registre, "http://127.0.0.1:9", jour)
    nv.creer_comptes(registre)
    app = creer_app(nv.reglages_web(donnees, url), registre)
    with TestClient(app, follow_redirects=False) as client:
        yield client, registre, jeu
    registre.fermer()


def lu(reponse: Any) -> str:
    """Le texte de la page tel qu'on le lit (entités HTML décodées)."""
    return html.unescape(reponse.text)


def jeton_connexion(client: TestClient) -> str:
    page = client.get("/connexion")
    trouve = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert trouve, page.text
    return trouve.group(1)


def connecter(client: TestClient, nom: str, mot_de_passe: str = nv.MOT_DE_PASSE) -> str:
    """Se connecte ; rend le jeton CSRF de la session (celui des formulaires)."""
    reponse = client.post(
        "/connexion",
        data={"nom": nom, "mot_de_passe": mot_de_passe, "csrf": jeton_connexion(client)},
    )
    assert reponse.status_code == 303, reponse.text
    page = client.get("/")
    assert page.status_code == 200
    trouve = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert trouve
    return trouve.group(1)


def chemin_concret(route: APIRoute, jeu: nv.Jeu) -> str:
    valeurs = {
        "numero": jeu.demande,
        "ident": str(jeu.brouillon_demande),
        "rang": "1",
        "page": "1",
        "nom": "secretaire",
    }
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: valeurs[m.group(1)], route.path)


def routes(client: TestClient) -> list[APIRoute]:
    return [r for r in client.app.routes if isinstance(r, APIRoute)]  # type: ignore[attr-defined]


# --- Accès --------------------------------------------------------------------------------------


def test_toute_route_refuse_une_requete_anonyme_et_ne_change_rien(
    site_sqlite: tuple[TestClient, Registre, nv.Jeu],
) -> None:
    client, registre, jeu = site_sqlite
    avant = len(registre.evenements())
    essayees = 0
    for route in routes(client):
        if route.path == "/connexion":
            continue
        chemin = chemin_concret(route, jeu)
        for methode in sorted(route.methods):
            reponse = client.request(methode, chemin, data={"csrf": "x", "action": "valider"})
            essayees += 1
            if reponse.status_code == 303:
                assert reponse.headers["location"].startswith("/connexion"), chemin
            else:
                assert reponse.status_code in (401, 403), (methode, chemin, reponse.status_code)
            assert "Fuite" not in lu(reponse)
    assert essayees >= 15
    assert len(registre.evenements()) == avant
    # Un jeton inventé ne vaut pas mieux qu'aucun jeton.
    client.cookies.set(COOKIE_SESSION, "jeton-invente")
    assert client.get(f"/courrier/{jeu.demande}").status_code == 303


def test_un_formulaire_poste_sans_son_jeton_csrf_est_refuse(
    site_sqlite: tuple[TestClient, Registre, nv.Jeu],
) -> None:
    client, registre, jeu = site_sqlite
    # Connexion sans le jeton de la page : refusée, aucune session.
    reponse = client.post("/connexion", data={"nom": "admin", "mot_de_passe": nv.MOT_DE_PASSE})
    assert reponse.status_code == 403
    assert COOKIE_SESSION not in reponse.cookies
    csrf = connecter(client, "admin")
    avant = len(registre.evenements())
    postes = 0
    for route in routes(client):
        if "POST" not in route.methods or route.path == "/connexion":
            continue
        chemin = chemin_concret(route, jeu)
        champs = {"action": "valider", "objet": "x", "corps": "y", "raison": "z", "parti": "oui"}
        for jeton in (None, "", csrf[:-2] + "zz"):
            donnees = dict(champs) if jeton is None else {**champs, "csrf": jeton}
            reponse = client.post(chemin, data=donnees)
            assert reponse.status_code == 403, (chemin, reponse.status_code)
            assert "Ce formulaire a expiré" in lu(reponse)
            postes += 1
    assert postes >= 8 * 3
    assert len(registre.evenements()) == avant
    assert client.get("/").status_code == 200  # toujours connecté


@pytest.mark.parametrize("nom", ["secretaire", "maire"])
def test_une_secretaire_ou_le_maire_n_atteint_pas_les_pages_d_administration(
    site_sqlite: tuple[TestClient, Registre, nv.Jeu], nom: str
) -> None:
    client, registre, _ = site_sqlite
    csrf = connecter(client, nom)
    assert 'href="/admin/utilisateurs"' not in client.get("/").text
    reponse = client.get("/admin/utilisateurs")
    assert reponse.status_code == 403
    assert "réservée aux administrateurs" in lu(reponse)
    reponse = client.post(
        "/admin/utilisateurs",
        data={
            "csrf": csrf,
            "nom": "intrus",
            "role": "admin",
            "mot_de_passe": "x" * 12,
            "confirmation": "x" * 12,
        },
    )
    assert reponse.status_code == 403
    reponse = client.post("/admin/utilisateurs/admin/desactiver", data={"csrf": csrf})
    assert reponse.status_code == 403
    noms = [c.nom for c in Comptes(registre).lister()]
    assert "intrus" not in noms
    assert all(c.actif for c in Comptes(registre).lister())


def test_les_connexions_manquees_sont_limitees_par_nom_et_adresse(
    site_sqlite: tuple[TestClient, Registre, nv.Jeu],
) -> None:
    client, _, _ = site_sqlite
    for _ in range(5):
        reponse = client.post(
            "/connexion",
            data={
                "nom": "secretaire",
                "mot_de_passe": "mauvais-mot",
                "csrf": jeton_connexion(client),
            },
        )
        assert reponse.status_code == 401
        assert "Nom ou mot de passe incorrect" in lu(reponse)
    # Le sixième essai est refusé, même avec le bon mot de passe.
    reponse = client.post(
        "/connexion",
        data={
            "nom": "secretaire",
            "mot_de_passe": nv.MOT_DE_PASSE,
            "csrf": jeton_connexion(client),
        },
    )
    assert reponse.status_code == 429
    assert "Trop d'essais manqués" in lu(reponse)
    assert COOKIE_SESSION not in reponse.cookies
    # Un autre compte, depuis la même adresse, n'est pas bloqué pour autant.
    connecter(client, "maire")


def test_la_session_est_un_cookie_httponly_samesite_dont_la_base_ne_garde_que_l_empreinte(
    site_sqlite: tuple[TestClient, Registre, nv.Jeu],
) -> None:
    client, registre, _ = site_sqlite
    reponse = client.post(
        "/connexion",
        data={
            "nom": "secretaire",
            "mot_de_passe": nv.MOT_DE_PASSE,
            "csrf": jeton_connexion(client),
        },
    )
    entete = next(
        v for k, v in reponse.headers.multi_items() if k == "set-cookie" and COOKIE_SESSION in v
    )
    assert "HttpOnly" in entete
    assert "samesite=lax" in entete.lower()
    assert "Path=/" in entete
    jeton = reponse.cookies[COOKIE_SESSION]
    with Session(registre.engine) as session:
        stockes = list(session.execute(select(SessionWeb.jeton)).scalars())
        hachages = list(session.execute(select(Utilisateur.hachage)).scalars())
    assert stockes == [hashlib.sha256(jeton.encode()).hexdigest()]
    assert jeton not in stockes
    assert all(h.startswith("$argon2id$") for h in hachages)
    # Déconnexion : la session est effacée, le cookie ne vaut plus rien.
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/").text)
    assert csrf
    assert client.post("/deconnexion", data={"csrf": csrf.group(1)}).status_code == 303
    client.cookies.set(COOKIE_SESSION, jeton)
    assert client.get("/").status_code == 303
    with Session(registre.engine) as session:
        assert list(session.execute(select(SessionWeb.jeton)).scalars()) == []


def test_chaque_reponse_porte_une_politique_de_securite_stricte(
    site_sqlite: tuple[TestClient, Registre, nv.Jeu],
) -> None:
    client, _, jeu = site_sqlite
    anonymes = [client.get("/connexion"), client.get("/statique/courrier.css"), client.get("/")]
    connecter(client, "secretaire")
    pages = [client.get(f"/courrier/{jeu.hostile}"), client.get("/nulle-part")]
    for reponse in [*anonymes, *pages]:
        csp = reponse.headers["content-security-policy"]
        for directive in (
            "default-src 'self'",
            "img-src 'self' data:",
            "script-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ):
            assert directive in csp
        assert reponse.headers["x-content-type-options"] == "nosniff"
        assert reponse.headers["referrer-policy"] == "same-origin"
    assert pages[1].status_code == 404
    assert "Cette page n'existe pas" in lu(pages[1])


# --- Le courrier, le HTML hostile, les pièces ---------------------------------------------------


def test_le_html_d_un_courrier_n_est_jamais_rendu(
    site_sqlite: tuple[TestClient, Registre, nv.Jeu],
) -> None:
    client, _, jeu = site_sqlite
    connecter(client, "secretaire")
    for chemin in (f"/courrier/{jeu.hostile}", f"/brouillon/{jeu.brouillon_hostile}", "/"):
        page = client.get(chemin).text.split("<main", 1)[1]  # ce que la page montre
        assert "<script" not in page.lower()
        assert not re.search(r"<[a-z]+[^>]*\son\w+\s*=", page, re.IGNORECASE)
        assert not re.search(r"<(iframe|object|embed|video|svg|style|link|meta http)", page)
        assert not re.search(r"<img[^>]+src=\"http", page)
        assert not re.search(r"<form[^>]+action=\"http", page)
    page = client.get(f"/courrier/{jeu.hostile}").text
    assert "&lt;script&gt;" in page  # l'objet hostile est montré, comme du texte


def test_pieces_et_original_se_telechargent_sans_jamais_s_afficher(
    site_sqlite: tuple[TestClient, Registre, nv.Jeu],
) -> None:
    client, registre, jeu = site_sqlite
    connecter(client, "secretaire")
    hostile = registre.courrier(jeu.hostile)
    assert hostile is not None
    rang = next(p.rang for p in hostile.pieces if p.nom.endswith(".html"))
    piece = client.get(f"/courrier/{jeu.hostile}/piece/{rang}")
    assert piece.status_code == 200
    assert piece.headers["content-type"] == "application/octet-stream"
    disposition = piece.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    nom = re.search(r'filename="([^"]+)"', disposition)
    assert nom and re.fullmatch(r"[A-Za-z0-9._-]+", nom.group(1)), disposition
    assert b"<script>" in piece.content  # les octets d'origine, intacts, à télécharger
    photo = client.get(f"/courrier/{jeu.demande}/piece/1")
    assert 'filename="photo_fuite_1_.pdf"' in photo.headers["content-disposition"]
    original = client.get(f"/courrier/{jeu.demande}/original")
    assert original.headers["content-disposition"].startswith("attachment;")
    assert nv.MESSAGE_ID_DEMANDE.encode() in original.content
    assert client.get(f"/courrier/{jeu.demande}/piece/99").status_code == 404
    # La lettre numérisée : chaque page en PNG produit ici.
    page_scan = client.get(f"/courrier/{jeu.scan}")
    assert f'src="/courrier/{jeu.scan}/page/1"' in page_scan.text
    image = client.get(f"/courrier/{jeu.scan}/page/1")
    assert image.headers["content-type"] == "image/png"
    with Image.open(io.BytesIO(image.content)) as png:
        assert png.format == "PNG" and 500 < png.width <= 1400
    assert client.get(f"/courrier/{jeu.scan}/page/2").status_code == 404
    assert client.get(f"/courrier/{jeu.demande}/page/1").status_code == 404


# --- Décisions au journal -----------------------------------------------------------------------


def test_corrections_et_decisions_vont_au_journal_avec_le_nom_de_la_personne(
    site: tuple[TestClient, Registre, nv.Jeu],
) -> None:
    client, registre, jeu = site
    csrf = connecter(client, "secretaire")
    page = client.get("/")
    # Urgent d'abord, échéance en J-n, étiquette de l'IA.
    assert page.text.index(f"/brouillon/{jeu.brouillon_demande}") < page.text.index(
        f"/brouillon/{jeu.brouillon_hostile}"
    )
    assert "Échéance J-2" in lu(page) and "préparé par l'IA" in lu(page)

    reponse = client.post(
        f"/brouillon/{jeu.brouillon_demande}",
        data={
            "csrf": csrf,
            "action": "enregistrer",
            "objet": "Re: Fuite d'eau rue des Lilas",
            "corps": "Monsieur,\n\nLes services techniques passent cet après-midi.\n\nLe Maire",
        },
    )
    assert reponse.headers["location"] == f"/brouillon/{jeu.brouillon_demande}?fait=enregistre"
    reponse = client.post(
        f"/brouillon/{jeu.brouillon_hostile}/rejeter", data={"csrf": csrf, "raison": ""}
    )
    assert reponse.status_code == 409 and "Dites pourquoi" in lu(reponse)
    reponse = client.post(
        f"/brouillon/{jeu.brouillon_hostile}/rejeter",
        data={"csrf": csrf, "raison": "Publicité, pas de réponse"},
    )
    assert reponse.status_code == 303
    # Un scan n'a pas d'adresse électronique : l'erreur du registre s'affiche en français.
    reponse = client.post(
        f"/brouillon/{jeu.brouillon_scan}",
        data={"csrf": csrf, "action": "valider", "objet": "AR", "corps": "Madame, …"},
    )
    assert reponse.status_code == 409
    assert "choisissez la réponse papier" in lu(reponse)
    # Le classement corrigé après le rejet : une correction refait les brouillons encore à
    # valider (tests/test_apprentissage.py), le rejet doit donc la précéder ici.
    reponse = client.post(
        f"/courrier/{jeu.hostile}/classement",
        data={"csrf": csrf, "categorie": "publicite", "service": "Accueil", "urgence": "basse"},
    )
    assert reponse.status_code == 303
    reponse = client.post(
        f"/courrier/{jeu.hostile}/classement",
        data={"csrf": csrf, "categorie": "inexistante", "service": "", "urgence": "basse"},
    )
    assert reponse.status_code == 400 and "Catégorie inconnue" in lu(reponse)

    evenements = [e for e in registre.evenements() if e.type in ("correction", "decision")]
    assert [(e.type, e.numero, e.acteur) for e in evenements] == [
        ("decision", jeu.demande, "secretaire"),
        ("decision", jeu.hostile, "secretaire"),
        ("correction", jeu.hostile, "secretaire"),
    ]
    assert details(evenements[2])["categorie"] == {
        "avant": "salles_associations",
        "apres": "publicite",
    }
    assert details(evenements[1])["action"] == "rejete"
    journal = client.get(f"/courrier/{jeu.hostile}").text
    assert "classement corrigé" in journal and "secretaire" in journal
    assert registre.verifier() == []


def test_la_reponse_papier_produit_une_lettre_a_imprimer(
    site: tuple[TestClient, Registre, nv.Jeu],
) -> None:
    client, registre, jeu = site
    csrf = connecter(client, "maire")
    page = client.get(f"/brouillon/{jeu.brouillon_scan}").text
    assert "Claire Martin" in page and "3 rue des Écoles" in page  # adresse proposée
    reponse = client.post(
        f"/brouillon/{jeu.brouillon_scan}",
        data={
            "csrf": csrf,
            "action": "papier",
            "objet": "Accusé de réception de votre demande",
            "corps": "Madame,\n\nVotre demande a bien été reçue.\n\nLe Maire",
            "adresse": "Mme Claire Martin\n3 rue des Écoles\n45000 Saint-Aubin",
        },
    )
    assert reponse.status_code == 303, reponse.text
    page = client.get(reponse.headers["location"]).text
    assert "Lettre produite" in page
    lettre = client.get(f"/brouillon/{jeu.brouillon_scan}/lettre.pdf")
    assert lettre.content.startswith(b"%PDF")
    assert lettre.headers["content-disposition"].startswith("attachment;")
    import io

    import pdfplumber

    with pdfplumber.open(io.BytesIO(lettre.content)) as pdf:
        texte = "\n".join(p.extract_text() or "" for p in pdf.pages)
    assert "Mme Claire Martin" in texte and "3 rue des Écoles" in texte  # bloc adresse
    assert "Votre demande a bien été reçue." in texte  # le corps corrigé
    assert texte.count("Le Maire") == 1  # la signature, une seule fois
    courrier = registre.courrier(jeu.scan)
    assert courrier is not None and courrier.statut == "repondu"
    assert courrier.brouillons[0].statut == "papier"
    assert courrier.brouillons[0].decide_par == "maire"
    assert [e.acteur for e in registre.evenements(jeu.scan)][-2:] == ["maire", "maire"]


def test_un_envoi_douteux_se_verifie_et_un_echec_s_affiche(
    site_sqlite: tuple[TestClient, Registre, nv.Jeu],
) -> None:
    client, registre, jeu = site_sqlite
    csrf = connecter(client, "secretaire")
    for ident in (jeu.brouillon_demande, jeu.brouillon_hostile):
        registre.valider_brouillon(ident, "secretaire", "courriel")
        assert registre.reserver_envoi(ident, f"<essai-{ident}@saint-aubin.example>")
        registre.echec_envoi(ident, "La connexion est tombée pendant l'envoi.", rien_envoye=False)
    file = lu(client.get("/"))
    assert "Réponses validées pas encore parties" in file
    assert file.count("envoi à vérifier") == 2
    page = lu(client.get(f"/brouillon/{jeu.brouillon_hostile}"))
    assert "Il est bien parti" in page and "Il n'est pas parti : renvoyer" in page
    reponse = client.post(
        f"/brouillon/{jeu.brouillon_hostile}/verification", data={"csrf": csrf, "parti": "oui"}
    )
    assert reponse.headers["location"] == "/?fait=parti"
    trouve = registre.brouillon(jeu.brouillon_hostile)
    assert trouve is not None and trouve[1].statut == "envoye"
    # « Renvoyer » relance l'envoi aussitôt ; aucun serveur SMTP n'écoute ici : rien ne part, le
    # brouillon reste validé et la raison de l'échec s'affiche sur la file et sur le brouillon.
    reponse = client.post(
        f"/brouillon/{jeu.brouillon_demande}/verification", data={"csrf": csrf, "parti": "non"}
    )
    assert reponse.headers["location"] == "/?fait=renvoi"
    trouve = registre.brouillon(jeu.brouillon_demande)
    assert trouve is not None and trouve[1].statut == "valide" and trouve[1].raison
    assert trouve[1].raison in lu(client.get("/"))
    assert "Le dernier essai d'envoi a échoué" in lu(
        client.get(f"/brouillon/{jeu.brouillon_demande}")
    )
    acteurs = [(e.type, e.acteur) for e in registre.evenements() if e.type == "decision"]
    assert ("decision", "secretaire") in acteurs
    assert registre.evenements(jeu.hostile)[-1].acteur == "secretaire"


def test_la_commande_serveur_sert_la_page(tmp_path: Path) -> None:
    port = port_libre()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURRIER_")} | {
        "COURRIER_DONNEES": str(tmp_path / "donnees")
    }
    processus = subprocess.Popen(
        [str(RACINE / ".venv" / "bin" / "courrier"), "serveur", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        attendre_port(port, 60)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            assert http.get("/").status_code == 303
            page = http.get("/connexion")
            assert page.status_code == 200 and "Connexion" in page.text
    finally:
        processus.terminate()
        processus.wait(20)


# --- Registre : recherche et export -------------------------------------------------------------


def test_la_recherche_du_registre_filtre_en_sql_et_pagine(
    site: tuple[TestClient, Registre, nv.Jeu], jour: date
) -> None:
    client, registre, jeu = site
    moteur = registre.engine
    assert rechercher(moteur, Filtres()).total == 6
    assert [c.numero for c in rechercher(moteur, Filtres(texte="FUITE lilas")).lignes] == [
        jeu.demande
    ]
    assert rechercher(moteur, Filtres(texte="100%_")).total == 0  # jokers cherchés tels quels
    assert [c.numero for c in rechercher(moteur, Filtres(expediteur="loto@asso")).lignes] == [
        jeu.hostile
    ]
    assert [c.numero for c in rechercher(moteur, Filtres(categorie="social")).lignes] == [jeu.scan]
    recents = rechercher(moteur, Filtres(du=jour - timedelta(days=2), au=jour))
    assert {c.numero for c in recents.lignes} == {jeu.demande, jeu.hostile, jeu.scan, jeu.autres[0]}
    assert rechercher(moteur, Filtres(statut="repondu")).total == 0
    page2 = rechercher(moteur, Filtres(page=2, par_page=4))
    assert (page2.total, page2.pages, page2.page, len(page2.lignes)) == (6, 2, 2, 2)
    assert rechercher(moteur, Filtres(page=99, par_page=4)).page == 2

    connecter(client, "secretaire")
    page = client.get("/registre", params={"texte": "fuite", "statut": "analyse"})
    assert page.status_code == 200
    assert f'href="/courrier/{jeu.demande}"' in lu(page)
    assert f'href="/courrier/{jeu.hostile}"' not in lu(page)
    assert "1 courrier trouvé" in lu(page)
    mauvaise = client.get("/registre", params={"du": "31/02/2026"})
    assert mauvaise.status_code == 400 and "n'est pas une date valide" in lu(mauvaise)

    export = client.get("/registre/export", params={"format": "csv", "categorie": "voirie"})
    assert export.headers["content-disposition"].startswith("attachment;")
    lignes = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig")), delimiter=";"))
    assert [ligne["numero"] for ligne in lignes] == [jeu.demande]
    xlsx = client.get("/registre/export", params={"format": "xlsx"})
    assert xlsx.content[:2] == b"PK"


# --- Comptes ------------------------------------------------------------------------------------


def test_l_administrateur_cree_et_desactive_un_compte_au_journal(
    site_sqlite: tuple[TestClient, Registre, nv.Jeu],
) -> None:
    client, registre, _ = site_sqlite
    csrf = connecter(client, "admin")
    champs = {"csrf": csrf, "nom": "adjoint", "role": "maire"}
    court = client.post(
        "/admin/utilisateurs", data={**champs, "mot_de_passe": "court", "confirmation": "court"}
    )
    assert court.status_code == 400 and "au moins 10 caractères" in lu(court)
    reponse = client.post(
        "/admin/utilisateurs",
        data={**champs, "mot_de_passe": "adjoint-2026!", "confirmation": "adjoint-2026!"},
    )
    assert reponse.status_code == 303
    autre = TestClient(client.app, follow_redirects=False)
    connecter(autre, "adjoint", "adjoint-2026!")
    reponse = client.post("/admin/utilisateurs/adjoint/desactiver", data={"csrf": csrf})
    assert reponse.status_code == 303
    assert autre.get("/").status_code == 303  # sa session est fermée
    comptes = [e for e in registre.evenements() if e.type == "compte"]
    assert [(details(e)["action"], details(e)["nom"], e.acteur) for e in comptes][-2:] == [
        ("cree", "adjoint", "admin"),
        ("desactive", "adjoint", "admin"),
    ]
    assert (
        client.post("/admin/utilisateurs/admin/desactiver", data={"csrf": csrf}).status_code == 400
    )


def test_la_commande_utilisateur_ajoute_liste_et_desactive(
    env_courrier: pytest.MonkeyPatch,
) -> None:
    from interfaces.cli import app

    runner = CliRunner()
    env_courrier.setenv("COURRIER_MOT_DE_PASSE", "assez-long")
    resultat = runner.invoke(app, ["utilisateur", "ajouter", "Secretaire", "--role", "secretaire"])
    assert resultat.exit_code == 0, resultat.output
    assert "Compte « secretaire » créé (secrétaire)" in resultat.output
    env_courrier.setenv("COURRIER_MOT_DE_PASSE", "court")
    resultat = runner.invoke(app, ["utilisateur", "ajouter", "maire", "--role", "maire"])
    assert resultat.exit_code == 1
    assert "au moins 10 caractères" in resultat.output
    env_courrier.delenv("COURRIER_MOT_DE_PASSE")
    resultat = runner.invoke(
        app,
        ["utilisateur", "ajouter", "maire", "--role", "maire"],
        input="mot-de-passe-du-maire\nmot-de-passe-du-maire\n",
    )
    assert resultat.exit_code == 0, resultat.output
    assert "mot-de-passe-du-maire" not in resultat.output
    resultat = runner.invoke(
        app,
        ["utilisateur", "ajouter", "maire", "--role", "maire"],
        input="x" * 12 + "\n" + "x" * 12 + "\n",
    )
    assert resultat.exit_code == 1 and "existe déjà" in resultat.output
    resultat = runner.invoke(app, ["utilisateur", "desactiver", "maire"])
    assert resultat.exit_code == 0, resultat.output
    resultat = runner.invoke(app, ["utilisateur", "lister"])
    assert "secretaire" in resultat.output and "désactivé" in resultat.output
    resultat = runner.invoke(app, ["serveur", "--help"])
    assert "--hote" in resultat.output and "--port" in resultat.output


def test_apres_la_connexion_on_revient_a_la_page_demandee_et_jamais_ailleurs(
    site_sqlite: tuple[TestClient, Registre, nv.Jeu],
) -> None:
    client, registre, jeu = site_sqlite
    demande = client.get(f"/courrier/{jeu.demande}")
    assert demande.headers["location"] == f"/connexion?suite=%2Fcourrier%2F{jeu.demande}"
    assert f'value="/courrier/{jeu.demande}"' in client.get(demande.headers["location"]).text
    for suite, cible in (
        (f"/courrier/{jeu.demande}", f"/courrier/{jeu.demande}"),
        ("//ailleurs.example/piege", "/"),
        ("/\\ailleurs.example", "/"),
        ("https://ailleurs.example", "/"),
    ):
        reponse = client.post(
            "/connexion",
            data={
                "nom": "maire",
                "mot_de_passe": nv.MOT_DE_PASSE,
                "csrf": jeton_connexion(client),
                "suite": suite,
            },
        )
        assert reponse.headers["location"] == cible
    # Une session expirée ne vaut plus rien.
    expirees = Comptes(registre, duree_session=timedelta(seconds=-1))
    compte = expirees.compte("maire")
    assert compte is not None
    assert expirees.session(expirees.ouvrir_session(compte)) is None


def test_une_page_geante_est_rendue_a_la_taille_de_l_ecran(corpus: Path) -> None:
    """L'affiche du corpus (un très grand format) n'est pas rendue en une image de centaines
    de mégapixels dans le processus de la page web, puis réduite : elle est rendue petite."""
    import pypdfium2

    from interfaces.web.images import LARGEUR_MAX, RESOLUTION_PDF, echelle_pdf, page_png

    affiche = (corpus / "scans" / "ocrmypdf__poster.pdf").read_bytes()
    document = pypdfium2.PdfDocument(affiche)
    largeur, hauteur = document[0].get_size()
    document.close()
    assert largeur * RESOLUTION_PDF / 72 > 2 * LARGEUR_MAX  # à 150 ppp, elle déborderait
    echelle = echelle_pdf(largeur, hauteur)
    assert largeur * echelle <= LARGEUR_MAX and hauteur * echelle <= 2 * LARGEUR_MAX
    assert echelle_pdf(595, 842) == RESOLUTION_PDF / 72  # une page A4 garde ses 150 ppp
    for nom in ("ocrmypdf__poster.pdf", "ocrmypdf__2400dpi.pdf", "ocrmypdf__baiona.png"):
        png = page_png((corpus / "scans" / nom).read_bytes(), 1)
        with Image.open(io.BytesIO(png)) as image:
            assert image.width <= LARGEUR_MAX and image.height <= 2 * LARGEUR_MAX, nom


def test_une_image_demesuree_n_est_pas_decodee_par_la_page() -> None:
    """Une image qui annonce 9 000 × 9 000 pixels (sous le seuil de Pillow, 178 millions, au-
    dessus du nôtre) est refusée sur la foi de son en-tête, avec une phrase française, sans
    être décodée ; au-delà du seuil de Pillow (le jeu hostile, 30 000²), elle n'a pas de page."""
    from interfaces.web.images import ImageErreur, nombre_de_pages, page_png
    from preuves.hostiles import png, png_bombe

    grande = png(9_000, 9_000, b"\x00" * 9_001 * 4)
    assert nombre_de_pages(grande) == 1
    with pytest.raises(ImageErreur, match="trop grande pour être affichée"):
        page_png(grande, 1)
    assert nombre_de_pages(png_bombe()) == 0
    with pytest.raises(ImageErreur, match="ne peut pas être affichée"):
        page_png(png_bombe(), 1)


def test_le_lien_du_digest_ouvre_le_courrier_sur_la_page(
    site_sqlite: tuple[TestClient, Registre, nv.Jeu],
) -> None:
    """Le maire clique dans son digest : le lien mène, après connexion, à la page du courrier."""
    from urllib.parse import urlsplit

    from courrier.digest import lien_courrier

    client, _, jeu = site_sqlite
    lien = lien_courrier("https://courrier.saint-aubin.example/", jeu.demande)
    assert lien is not None
    chemin = urlsplit(lien).path
    anonyme = client.get(chemin, follow_redirects=False)
    assert anonyme.status_code == 303 and "/connexion" in anonyme.headers["location"]
    connecter(client, "maire")
    page = client.get(chemin)
    assert page.status_code == 200 and jeu.demande in page.text
