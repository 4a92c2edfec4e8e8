"""La sécurité de la page web (issues #14 et #15), sans navigateur : en-têtes de mandataire
crus seulement depuis COURRIER_MANDATAIRES, limite d'essais par compte et par adresse réelle,
jeton de connexion signé par le serveur, origine des formulaires, HSTS, en-têtes de sécurité
sur toute réponse (erreurs comprises), brouillon trop long refusé. Sur un vrai registre
SQLite garni ; les attaques de l'issue #15 sont rejouées telles quelles."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import text

from courrier.config import charger
from interfaces.web.app import COOKIE_CSRF, COOKIE_SESSION, creer_app
from interfaces.web.securite import adresse_reelle
from noyau.calendrier import aujourd_hui
from noyau.erreurs import ConfigurationErreur
from registre.registre import Registre
from tests import navigateur as nv
from tests.test_web import chemin_concret, connecter, jeton_connexion, lu

Fabrique = Callable[..., TestClient]


@pytest.fixture
def fabrique(tmp_path: Path) -> Iterator[tuple[Fabrique, Registre, nv.Jeu]]:
    """Une application sur un registre garni ; `fabrique(adresse, **reglages)` donne un client
    qui se présente depuis `adresse` (l'adresse de la connexion TCP)."""
    donnees = tmp_path / "donnees"
    url = f"sqlite:///{donnees / 'registre.sqlite3'}"
    registre = Registre.ouvrir(url, donnees)
    jeu = nv.garnir(registre, "http://127.0.0.1:9", aujourd_hui())
    nv.creer_comptes(registre)
    apps: dict[str, Any] = {}
    clients: list[TestClient] = []

    def fabriquer(adresse: str = "127.0.0.1", base: str = "http://testserver", **reglages: Any):
        cle = repr(sorted(reglages.items()))
        if cle not in apps:
            apps[cle] = creer_app(nv.reglages_web(donnees, url, **reglages), registre)
        client = TestClient(
            apps[cle], base_url=base, follow_redirects=False, client=(adresse, 40000)
        )
        clients.append(client)
        return client

    yield fabriquer, registre, jeu
    for client in clients:
        client.close()
    registre.fermer()


def essayer(client: TestClient, nom: str, mot_de_passe: str, **entetes: str) -> int:
    reponse = client.post(
        "/connexion",
        data={"nom": nom, "mot_de_passe": mot_de_passe, "csrf": jeton_connexion(client)},
        headers=entetes,
    )
    return reponse.status_code


# --- Mandataires et limite d'essais -------------------------------------------------------------


def test_sans_mandataire_declare_x_forwarded_for_ne_change_pas_d_adresse(
    fabrique: tuple[Fabrique, Registre, nv.Jeu],
) -> None:
    """L'attaque de l'issue #15, rejouée : 30 mauvais mots de passe pour « maire », chacun
    avec un X-Forwarded-For différent, depuis 127.0.0.1 (l'adresse par défaut)."""
    fabriquer, _, _ = fabrique
    client = fabriquer("127.0.0.1")
    codes = [
        essayer(client, "maire", "mauvais-mot", **{"X-Forwarded-For": f"10.8.0.{i}"})
        for i in range(30)
    ]
    assert codes == [401] * 5 + [429] * 25
    assert essayer(client, "maire", nv.MOT_DE_PASSE) == 429
    assert essayer(client, "maire", nv.MOT_DE_PASSE, **{"X-Forwarded-For": "10.8.0.1"}) == 429
    # Le verrou ne touche que ce compte : la secrétaire, depuis la même adresse, se connecte.
    assert essayer(client, "secretaire", nv.MOT_DE_PASSE) == 303


def test_derriere_un_mandataire_declare_on_compte_par_compte_et_par_adresse_reelle(
    fabrique: tuple[Fabrique, Registre, nv.Jeu],
) -> None:
    fabriquer, _, _ = fabrique
    mandataire = fabriquer("127.0.0.1", mandataires="127.0.0.1")
    # Un visiteur qui écrit lui-même un X-Forwarded-For : le mandataire ajoute à droite
    # l'adresse qu'il voit ; c'est elle qui compte, jamais la gauche.
    for i in range(5):
        entete = {"X-Forwarded-For": f"10.9.9.{i}, 203.0.113.7"}
        assert essayer(mandataire, "maire", "mauvais-mot", **entete) == 401
    assert (
        essayer(mandataire, "maire", nv.MOT_DE_PASSE, **{"X-Forwarded-For": "203.0.113.7"}) == 429
    )
    # Un autre visiteur (autre adresse réelle) se connecte au même compte.
    assert (
        essayer(mandataire, "maire", nv.MOT_DE_PASSE, **{"X-Forwarded-For": "198.51.100.2"}) == 303
    )
    # La secrétaire s'est déjà connectée depuis son poste (198.51.100.9).
    poste = {"X-Forwarded-For": "198.51.100.9"}
    assert essayer(mandataire, "secretaire", nv.MOT_DE_PASSE, **poste) == 303
    # Une attaque répartie sur beaucoup d'adresses finit par bloquer le compte visé, lui seul…
    codes = [
        essayer(mandataire, "secretaire", "mauvais", **{"X-Forwarded-For": f"192.0.2.{i}"})
        for i in range(25)
    ]
    assert codes == [401] * 20 + [429] * 5
    nouvelle = {"X-Forwarded-For": "198.51.100.10"}
    assert essayer(mandataire, "secretaire", nv.MOT_DE_PASSE, **nouvelle) == 429
    # … sauf depuis une adresse d'où ce compte s'est déjà connecté.
    assert essayer(mandataire, "secretaire", nv.MOT_DE_PASSE, **poste) == 303
    assert essayer(mandataire, "admin", nv.MOT_DE_PASSE, **{"X-Forwarded-For": "192.0.2.1"}) == 303
    # Le même en-tête venu d'une adresse non déclarée n'est pas cru.
    autre = fabriquer("192.0.2.50", mandataires="127.0.0.1")
    for _ in range(5):
        assert essayer(autre, "admin", "x", **{"X-Forwarded-For": "198.51.100.2"}) == 401
    assert essayer(autre, "admin", nv.MOT_DE_PASSE, **{"X-Forwarded-For": "198.51.100.3"}) == 429


def test_derriere_un_mandataire_muet_des_echecs_de_tous_ne_bloquent_pas_tous_les_comptes(
    fabrique: tuple[Fabrique, Registre, nv.Jeu],
) -> None:
    """Tout le monde arrive de 127.0.0.1 : 40 échecs sur des noms variés ne ferment pas la
    porte aux comptes qui n'ont rien manqué."""
    fabriquer, _, _ = fabrique
    client = fabriquer("127.0.0.1")
    for i in range(40):
        assert essayer(client, f"inconnu{i % 8}", "mauvais") in (401, 429)
    for nom in ("secretaire", "maire", "admin"):
        assert essayer(client, nom, nv.MOT_DE_PASSE) == 303


def test_l_adresse_reelle_se_lit_de_droite_a_gauche() -> None:
    from ipaddress import ip_network

    reseaux = [ip_network("127.0.0.1/32"), ip_network("10.0.0.0/8")]
    assert adresse_reelle("127.0.0.1", "1.2.3.4, 5.6.7.8, 10.1.1.1", reseaux) == "5.6.7.8"
    assert adresse_reelle("192.0.2.9", "1.2.3.4", reseaux) == "192.0.2.9"
    assert adresse_reelle("127.0.0.1", "", reseaux) == "127.0.0.1"
    assert adresse_reelle("127.0.0.1", "pas-une-adresse", reseaux) == "127.0.0.1"
    assert adresse_reelle("127.0.0.1", "2001:db8::1", reseaux) == "2001:db8::1"


def test_un_reglage_de_mandataires_invalide_est_une_phrase_francaise() -> None:
    assert [
        str(r)
        for r in charger(_env_file=None, mandataires="127.0.0.1, 10.0.0.0/8").reseaux_mandataires
    ] == ["127.0.0.1/32", "10.0.0.0/8"]
    assert charger(_env_file=None).reseaux_mandataires == []
    with pytest.raises(ConfigurationErreur, match="COURRIER_MANDATAIRES"):
        charger(_env_file=None, mandataires="nginx")


# --- Jeton de connexion, origine, HSTS ----------------------------------------------------------


def test_le_jeton_de_connexion_est_signe_par_le_serveur_et_lie_a_la_presession(
    fabrique: tuple[Fabrique, Registre, nv.Jeu],
) -> None:
    fabriquer, _, _ = fabrique
    client = fabriquer()
    donnees = {"nom": "maire", "mot_de_passe": nv.MOT_DE_PASSE}
    # Une valeur de cookie choisie par le client, répétée dans le formulaire : refusée.
    client.cookies.set(COOKIE_CSRF, "a" * 32, path="/connexion")
    reponse = client.post("/connexion", data={**donnees, "csrf": "a" * 32})
    assert reponse.status_code == 403 and COOKIE_SESSION not in reponse.cookies
    # Le jeton d'une pré-session ne vaut pas pour une autre.
    autre = fabriquer()
    jeton_d_autrui = jeton_connexion(autre)
    client.cookies.clear()
    jeton_connexion(client)
    assert client.post("/connexion", data={**donnees, "csrf": jeton_d_autrui}).status_code == 403
    assert (
        client.post("/connexion", data={**donnees, "csrf": jeton_connexion(client)}).status_code
        == 303
    )


def test_un_formulaire_venu_d_une_autre_origine_est_refuse(
    fabrique: tuple[Fabrique, Registre, nv.Jeu],
) -> None:
    fabriquer, registre, jeu = fabrique
    client = fabriquer()
    donnees = {"nom": "maire", "mot_de_passe": nv.MOT_DE_PASSE}
    for entetes in (
        {"Origin": "https://voisin.saint-aubin.example"},
        {"Origin": "null"},
        {"Referer": "https://ailleurs.example/piege.html"},
    ):
        reponse = client.post(
            "/connexion", data={**donnees, "csrf": jeton_connexion(client)}, headers=entetes
        )
        assert reponse.status_code == 403, entetes
        assert "ne vient pas de cette page" in lu(reponse)
        assert COOKIE_SESSION not in reponse.cookies
    reponse = client.post(
        "/connexion",
        data={**donnees, "csrf": jeton_connexion(client)},
        headers={"Origin": "http://testserver", "Referer": "http://testserver/connexion"},
    )
    assert reponse.status_code == 303
    csrf = connecter(client, "maire")
    avant = len(registre.evenements())
    reponse = client.post(
        f"/brouillon/{jeu.brouillon_hostile}/rejeter",
        data={"csrf": csrf, "raison": "piège"},
        headers={"Origin": "https://ailleurs.example"},
    )
    assert reponse.status_code == 403
    assert len(registre.evenements()) == avant


def test_hsts_et_cookie_host_seulement_en_https(
    fabrique: tuple[Fabrique, Registre, nv.Jeu],
) -> None:
    fabriquer, _, _ = fabrique
    en_clair = fabriquer().get("/connexion")
    assert "strict-transport-security" not in en_clair.headers
    https = fabriquer(base="https://courrier.saint-aubin.example").get("/connexion")
    assert https.headers["strict-transport-security"].startswith("max-age=")
    cookie = https.headers["set-cookie"]
    assert cookie.startswith(f"__Host-{COOKIE_CSRF}=") and "Secure" in cookie
    assert "Path=/;" in cookie and "HttpOnly" in cookie and "samesite=strict" in cookie.lower()
    # Derrière un mandataire déclaré qui dit « https » : HSTS ; non déclaré : rien.
    proto = {"X-Forwarded-Proto": "https"}
    assert (
        "strict-transport-security"
        in fabriquer(mandataires="127.0.0.1").get("/connexion", headers=proto).headers
    )
    assert "strict-transport-security" not in fabriquer().get("/connexion", headers=proto).headers
    # Et la connexion complète, en HTTPS, avec le cookie __Host- de la pré-session.
    client = fabriquer(base="https://courrier.saint-aubin.example")
    assert essayer(client, "maire", nv.MOT_DE_PASSE) == 303


# --- En-têtes de sécurité, erreurs comprises (#14.2) ---------------------------------------------


def _verifier_entetes(reponse: Any, contexte: str) -> None:
    csp = reponse.headers.get("content-security-policy", "")
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ):
        assert directive in csp, (contexte, directive)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "*" not in csp
    assert reponse.headers["x-content-type-options"] == "nosniff", contexte
    assert reponse.headers["referrer-policy"] in ("same-origin", "no-referrer"), contexte
    assert reponse.headers["x-frame-options"] == "DENY", contexte


def test_chaque_route_porte_les_en_tetes_et_chaque_fichier_se_telecharge(
    fabrique: tuple[Fabrique, Registre, nv.Jeu],
) -> None:
    fabriquer, registre, jeu = fabrique
    client = fabriquer()
    anonyme = client.get("/connexion")
    _verifier_entetes(anonyme, "connexion")
    presession = anonyme.headers["set-cookie"]
    assert "HttpOnly" in presession and "samesite=strict" in presession.lower()
    reponse = client.post(
        "/connexion",
        data={"nom": "admin", "mot_de_passe": nv.MOT_DE_PASSE, "csrf": jeton_connexion(client)},
    )
    session = next(
        v for k, v in reponse.headers.multi_items() if k == "set-cookie" and COOKIE_SESSION in v
    )
    assert "HttpOnly" in session and "samesite=lax" in session.lower()
    # Une lettre produite, pour que sa route serve un vrai fichier.
    registre.valider_brouillon(jeu.brouillon_scan, "admin", "papier")
    registre.consigner_lettre(jeu.brouillon_scan, "admin", b"%PDF-1.4\n<script>alert(1)</script>")
    fichiers = 0
    for route in client.app.routes:  # type: ignore[attr-defined]
        if not isinstance(route, APIRoute) or "GET" not in route.methods:
            continue
        chemin = chemin_concret(route, jeu).replace(
            f"/brouillon/{jeu.brouillon_demande}/lettre", f"/brouillon/{jeu.brouillon_scan}/lettre"
        )
        if "/page/" in chemin:
            chemin = chemin.replace(jeu.demande, jeu.scan)
        if "/registre/export" in chemin:
            chemin += "?format=csv"
        reponse = client.get(chemin)
        assert reponse.status_code == 200, (chemin, reponse.status_code)
        _verifier_entetes(reponse, chemin)
        type_ = reponse.headers["content-type"]
        if not type_.startswith(("text/html", "image/png")):
            # Jamais rendu sur l'origine de l'application : toujours un téléchargement.
            assert reponse.headers["content-disposition"].startswith("attachment;"), chemin
            fichiers += 1
    assert fichiers >= 4  # original, pièce jointe, lettre PDF, export
    _verifier_entetes(client.get("/statique/courrier.css"), "statique")
    _verifier_entetes(client.get("/nulle-part"), "404")


def test_une_erreur_inattendue_est_une_page_francaise_avec_les_en_tetes(
    fabrique: tuple[Fabrique, Registre, nv.Jeu],
) -> None:
    fabriquer, registre, jeu = fabrique
    client = fabriquer(base="https://courrier.saint-aubin.example")
    connecter(client, "secretaire")
    with registre.engine.begin() as connexion:  # une vraie panne : la table a disparu
        connexion.execute(text("DROP TABLE brouillons"))
    reponse = client.get(f"/brouillon/{jeu.brouillon_demande}")
    assert reponse.status_code == 500
    assert "Une erreur inattendue est survenue" in lu(reponse)
    assert not re.search(r"Traceback|sqlite|brouillons", reponse.text.split("<main", 1)[-1])
    _verifier_entetes(reponse, "500")
    assert "strict-transport-security" in reponse.headers


# --- Brouillon trop long (#15.3) ----------------------------------------------------------------


def test_un_brouillon_trop_long_est_refuse_jamais_coupe(
    fabrique: tuple[Fabrique, Registre, nv.Jeu],
) -> None:
    fabriquer, registre, jeu = fabrique
    client = fabriquer()
    csrf = connecter(client, "secretaire")
    trouve = registre.brouillon(jeu.brouillon_demande)
    assert trouve is not None
    avant = trouve[1].corps
    long = "Madame,\n\n" + "x" * 20_001
    for action in ("enregistrer", "valider"):
        reponse = client.post(
            f"/brouillon/{jeu.brouillon_demande}",
            data={"csrf": csrf, "action": action, "objet": "Re: fuite", "corps": long},
        )
        assert reponse.status_code == 422, action
        assert "trop long" in lu(reponse) and "20\u202f000 au plus" in lu(reponse)
        assert "x" * 20_001 in reponse.text  # le texte de la secrétaire n'est pas perdu
    trouve = registre.brouillon(jeu.brouillon_demande)
    assert trouve is not None and trouve[1].corps == avant and trouve[1].statut == "a_valider"
    reponse = client.post(
        f"/brouillon/{jeu.brouillon_demande}",
        data={"csrf": csrf, "action": "enregistrer", "objet": "o" * 301, "corps": "Madame"},
    )
    assert reponse.status_code == 422 and "L'objet du brouillon est trop long" in lu(reponse)
    # Exactement la limite : accepté, gardé en entier.
    juste = "y" * 20_000
    reponse = client.post(
        f"/brouillon/{jeu.brouillon_demande}",
        data={"csrf": csrf, "action": "enregistrer", "objet": "Re: fuite", "corps": juste},
    )
    assert reponse.status_code == 303
    trouve = registre.brouillon(jeu.brouillon_demande)
    assert trouve is not None and trouve[1].corps == juste
