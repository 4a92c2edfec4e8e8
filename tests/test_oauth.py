"""OAuth2 de la boîte (issue #12, point 4), contre de vrais serveurs sur 127.0.0.1.

Un petit fournisseur OAuth2 (tests/serveur_oauth.py : device code, refresh_token,
introspection RFC 7662), un vrai Dovecot dont le passdb `oauth2` interroge ce fournisseur, et un
serveur SMTP (aiosmtpd) qui vérifie les jetons au même point d'introspection. Le flux « device
code » est joué par la vraie commande `courrier connexion-oauth`, dans un processus à part.

Ce qui n'est pas joué ici : les vrais Microsoft Entra et Google (mêmes requêtes RFC 6749 / 8628,
autres adresses ; voir deploiement/README.md).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from connecteurs.imap import SourceImap
from connecteurs.oauth import CoffreJeton, JetonsOAuth
from courrier import config
from courrier.extraction.mime import lire_entetes
from courrier.releve import relever_source
from registre.registre import Registre
from tests import serveurs
from tests.conftest import RACINE, lancer
from tests.horloge import HorlogeDeTest
from tests.serveur_oauth import CLIENT, FournisseurOAuth, fournisseur_oauth
from tests.test_source_imap import compter, deposer

RELANCER = "relancez « courrier connexion-oauth »"


@pytest.fixture
def fournisseur() -> Iterator[FournisseurOAuth]:
    with fournisseur_oauth("mairie") as f:
        yield f


@pytest.fixture
def dovecot_oauth(fournisseur: FournisseurOAuth) -> Iterator[serveurs.Dovecot]:
    with serveurs.dovecot(["mairie"], fournisseur.point_introspection) as d:
        yield d


def env_oauth(f: FournisseurOAuth, port_imap: int, donnees: Path) -> dict[str, str]:
    return {
        "COURRIER_DONNEES": str(donnees),
        "COURRIER_IMAP_HOTE": "127.0.0.1",
        "COURRIER_IMAP_PORT": str(port_imap),
        "COURRIER_IMAP_UTILISATEUR": "mairie",
        "COURRIER_IMAP_SECURITE": "aucune",
        "COURRIER_IMAP_DELAI_S": "10",
        "COURRIER_IMAP_AUTH": "oauth2",
        "COURRIER_OAUTH_FOURNISSEUR": "generique",
        "COURRIER_OAUTH_CLIENT_ID": CLIENT,
        "COURRIER_OAUTH_SCOPES": "imap smtp",
        "COURRIER_OAUTH_POINT_JETON": f.point_jeton,
        "COURRIER_OAUTH_POINT_APPAREIL": f.point_appareil,
        "COURRIER_OAUTH_DELAI_S": "5",
    }


def env_processus(env: dict[str, str]) -> dict[str, str]:
    propre = {k: v for k, v in os.environ.items() if not k.startswith("COURRIER_")}
    return {**propre, **env, "PYTHONPATH": str(RACINE)}


def connecter(f: FournisseurOAuth, env: dict[str, str], cwd: Path) -> None:
    """`courrier connexion-oauth`, pour de vrai, dans un autre processus."""
    resultat = lancer("connexion-oauth", env=env_processus(env), cwd=cwd)
    assert resultat.returncode == 0, resultat.stderr + resultat.stdout
    sortie = " ".join(resultat.stdout.split())
    assert "https://connexion.fournisseur.example/appareil" in sortie
    assert "WDJB-MJHT" in sortie
    assert "Connexion enregistrée" in sortie


@pytest.fixture
def reglages_oauth(
    env_courrier: pytest.MonkeyPatch,
    fournisseur: FournisseurOAuth,
    dovecot_oauth: serveurs.Dovecot,
    tmp_path: Path,
) -> config.Reglages:
    env = env_oauth(fournisseur, dovecot_oauth.port, tmp_path / "donnees")
    connecter(fournisseur, env, tmp_path)
    for cle, valeur in env.items():
        env_courrier.setenv(cle, valeur)
    config.reglages.cache_clear()
    return config.reglages()


def journal_dovecot(d: serveurs.Dovecot) -> str:
    return (d.dossier / "dovecot.log").read_text(encoding="utf-8", errors="replace")


# --- Le flux « device code » et le coffre -------------------------------------------------------


def test_connexion_oauth_garde_le_jeton_chiffre_en_0600_et_la_cle_a_part(
    reglages_oauth: config.Reglages, fournisseur: FournisseurOAuth
) -> None:
    r = reglages_oauth
    jeton, cle = r.chemin_jeton_oauth, r.chemin_cle_oauth
    assert stat.S_IMODE(jeton.stat().st_mode) == 0o600
    assert stat.S_IMODE(cle.stat().st_mode) == 0o600
    # Le flux a attendu le consentement (une réponse « authorization_pending ») puis reçu le jeton.
    types = [d["grant_type"] for d in fournisseur.etat.demandes]
    assert types == ["urn:ietf:params:oauth:grant-type:device_code"] * 2
    (rafraichissement,) = fournisseur.etat.rafraichissements_valides
    contenu = jeton.read_bytes()
    assert rafraichissement.encode() not in contenu  # chiffré au repos
    assert b"rafraichir-" not in contenu
    clair = CoffreJeton(jeton, lambda: cle.read_bytes()).lire()
    assert clair.jeton_rafraichissement == rafraichissement
    assert clair.client_id == CLIENT


# --- La relève par XOAUTH2 puis OAUTHBEARER ---------------------------------------------------


def test_la_releve_passe_par_xoauth2_puis_oauthbearer(
    reglages_oauth: config.Reglages,
    dovecot_oauth: serveurs.Dovecot,
    fournisseur: FournisseurOAuth,
    tmp_path: Path,
    env_courrier: pytest.MonkeyPatch,
) -> None:
    registre = Registre.ouvrir(reglages_oauth.url_base, reglages_oauth.donnees)
    try:
        deposer(dovecot_oauth, 2)
        relever_source(SourceImap(reglages_oauth.parametres_imap()), registre, lire_entetes)
        assert len(registre.courriers()) == 2
        assert compter(dovecot_oauth, "Traité") == 2
        assert "method=XOAUTH2" in journal_dovecot(dovecot_oauth)

        env_courrier.setenv("COURRIER_OAUTH_MECANISME", "oauthbearer")
        config.reglages.cache_clear()
        deposer(dovecot_oauth, 3)
        relever_source(SourceImap(config.reglages().parametres_imap()), registre, lire_entetes)
        assert len(registre.courriers()) == 3  # le message 0, 1 et 2 : 0 et 1 déjà connus
        assert "method=OAUTHBEARER" in journal_dovecot(dovecot_oauth)
    finally:
        registre.fermer()
    # Jeton d'accès encore vivant : gardé, aucun rafraîchissement.
    assert [d["grant_type"] for d in fournisseur.etat.demandes][2:] == []


def test_un_jeton_expire_est_renouvele_et_le_rafraichissement_neuf_remplace_l_ancien(
    reglages_oauth: config.Reglages, fournisseur: FournisseurOAuth
) -> None:
    r = reglages_oauth
    coffre = r.coffre_oauth()
    avant = coffre.lire()
    assert avant.expire_le is not None
    horloge = HorlogeDeTest(avant.expire_le - timedelta(minutes=30))
    jetons = JetonsOAuth(r.parametres_oauth(), coffre, horloge)
    assert jetons() == avant.jeton_acces  # encore 30 min : gardé, pas d'appel au fournisseur
    assert len(fournisseur.etat.demandes) == 2
    horloge.regler(avant.expire_le - timedelta(minutes=1))  # bientôt mort : renouvelé d'avance
    neuf = jetons()
    assert neuf != avant.jeton_acces
    assert fournisseur.etat.demandes[-1]["grant_type"] == "refresh_token"
    assert fournisseur.etat.demandes[-1]["refresh_token"] == avant.jeton_rafraichissement
    apres = coffre.lire()
    assert apres.jeton_acces == neuf
    assert apres.jeton_rafraichissement != avant.jeton_rafraichissement
    assert fournisseur.etat.rafraichissements_valides == {apres.jeton_rafraichissement}
    assert apres.expire_le is not None
    assert timedelta(0) < apres.expire_le - horloge.moment <= timedelta(seconds=3600)
    assert jetons() == neuf  # le neuf est gardé à son tour
