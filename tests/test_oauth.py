"""OAuth2 de la boîte (issue #12, point 4), contre de vrais serveurs sur 127.0.0.1.

Un petit fournisseur OAuth2 (preuves/serveur_oauth.py : device code, refresh_token,
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
from dataclasses import replace
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from connecteurs.imap import ErreurImap, ErreurImapPassagere, SourceImap
from connecteurs.oauth import CoffreJeton, JetonsOAuth
from connecteurs.oauth_sasl import ErreurOAuth
from connecteurs.smtp import ClientSmtp, ErreurSmtp
from courrier import config
from courrier.envoi import parametres_smtp
from courrier.extraction.mime import lire_entetes
from courrier.releve import relever_source
from noyau.erreurs import ConfigurationErreur
from preuves import serveurs
from preuves.serveur_oauth import CLIENT, FournisseurOAuth, fournisseur_oauth, serveur_smtp_oauth
from registre.registre import Registre
from tests.conftest import RACINE, lancer
from tests.horloge import HorlogeDeTest
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
    assert "appareil?code=WDJB-MJHT" in sortie
    assert "Essai réussi : la boîte mairie accepte le jeton." in sortie


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


def test_un_jeton_refuse_par_le_serveur_imap_est_renouvele_une_fois(
    reglages_oauth: config.Reglages, dovecot_oauth: serveurs.Dovecot, fournisseur: FournisseurOAuth
) -> None:
    """Le fournisseur a révoqué le jeton d'accès avant son heure : Dovecot le refuse, la relève
    en demande un neuf et passe."""
    fournisseur.etat.expirer_les_acces()
    avant = reglages_oauth.coffre_oauth().lire()
    source = SourceImap(reglages_oauth.parametres_imap())
    try:
        assert list(source.elements()) == []
    finally:
        source.fermer()
    assert fournisseur.etat.demandes[-1]["grant_type"] == "refresh_token"
    assert reglages_oauth.coffre_oauth().lire().jeton_acces != avant.jeton_acces


def test_consentement_retire_la_releve_le_dit_rien_n_est_perdu_et_le_digest_le_montre(
    reglages_oauth: config.Reglages,
    dovecot_oauth: serveurs.Dovecot,
    fournisseur: FournisseurOAuth,
    tmp_path: Path,
) -> None:
    deposer(dovecot_oauth, 2)
    fournisseur.etat.consentement_retire = True
    fournisseur.etat.expirer_les_acces()  # le jeton gardé ne vaut plus : il faut rafraîchir
    env = env_processus(env_oauth(fournisseur, dovecot_oauth.port, tmp_path / "donnees"))
    releve = lancer("releve", env=env, cwd=tmp_path)
    assert releve.returncode == 1
    sortie = " ".join((releve.stdout + releve.stderr).split())
    assert "consentement a été retiré" in sortie
    assert "Relancez « courrier connexion-oauth »" in sortie
    assert "Traceback" not in sortie
    assert compter(dovecot_oauth, "INBOX") == 2  # rien n'est pris à la boîte
    # Le fichier de jeton n'est pas effacé : une erreur passagère du fournisseur ne le perd pas.
    assert reglages_oauth.coffre_oauth().lire().jeton_rafraichissement

    digest = lancer("digest", env=env, cwd=tmp_path)
    assert digest.returncode == 0, digest.stderr
    texte = " ".join(digest.stdout.split())
    assert "consentement a été retiré" in texte

    # Reconnectée, la boîte est relevée.
    fournisseur.etat.consentement_retire = False
    connecter(
        fournisseur, env_oauth(fournisseur, dovecot_oauth.port, tmp_path / "donnees"), tmp_path
    )
    assert lancer("releve", env=env, cwd=tmp_path).returncode == 0
    assert compter(dovecot_oauth, "Traité") == 2


# --- SMTP -----------------------------------------------------------------------------------


def message_digest() -> EmailMessage:
    m = EmailMessage()
    m["From"] = "mairie@saint-aubin-sur-loire.example"
    m["To"] = "maire@saint-aubin-sur-loire.example"
    m["Subject"] = "Digest du matin"
    m.set_content("Trois courriers.\n")
    return m


@pytest.mark.parametrize("mecanisme", ["xoauth2", "oauthbearer"])
def test_l_envoi_s_identifie_par_jeton_et_un_consentement_retire_est_dit(
    reglages_oauth: config.Reglages,
    fournisseur: FournisseurOAuth,
    env_courrier: pytest.MonkeyPatch,
    mecanisme: str,
) -> None:
    with serveur_smtp_oauth(fournisseur.point_introspection) as (smtp, boite):
        env_courrier.setenv("COURRIER_SMTP_HOTE", "127.0.0.1")
        env_courrier.setenv("COURRIER_SMTP_PORT", str(smtp.port))
        env_courrier.setenv("COURRIER_SMTP_SECURITE", "aucune")
        env_courrier.setenv("COURRIER_SMTP_UTILISATEUR", "mairie")
        env_courrier.setenv("COURRIER_SMTP_AUTH", "oauth2")
        env_courrier.setenv("COURRIER_OAUTH_MECANISME", mecanisme)
        config.reglages.cache_clear()
        r = config.reglages()
        ClientSmtp(parametres_smtp(r)).envoyer(message_digest())
        assert boite.identifies == [(mecanisme.upper(), "mairie")]
        assert [m["Subject"] for m in smtp.lus()] == ["Digest du matin"]

        # Jeton révoqué : refusé par le serveur (535), renouvelé une fois, envoyé.
        fournisseur.etat.expirer_les_acces()
        ClientSmtp(parametres_smtp(r)).envoyer(message_digest())
        assert len(smtp.lus()) == 2

        fournisseur.etat.expirer_les_acces()
        fournisseur.etat.consentement_retire = True
        with pytest.raises(ErreurSmtp) as erreur:
            ClientSmtp(parametres_smtp(r)).envoyer(message_digest())
        assert erreur.value.rien_envoye
        assert RELANCER.capitalize() in str(erreur.value)
        assert len(smtp.lus()) == 2


def test_un_jeton_que_le_serveur_smtp_refuse_meme_neuf_est_dit(
    reglages_oauth: config.Reglages, fournisseur: FournisseurOAuth
) -> None:
    with serveur_smtp_oauth(fournisseur.point_introspection) as (smtp, _):
        p = parametres_smtp(
            reglages_oauth.model_copy(update={"smtp_hote": "127.0.0.1", "smtp_auth": "oauth2"})
        )
        p = replace(p, port=smtp.port, securite="aucune", utilisateur="adjoint")
        with pytest.raises(ErreurSmtp, match="refuse le jeton OAuth2 de adjoint, même renouvelé"):
            ClientSmtp(p).envoyer(message_digest())
        assert smtp.lus() == []


# --- Entrées hostiles et pannes du fournisseur ---------------------------------------------------


def test_un_fichier_de_jeton_abime_est_dit_et_garde_a_la_reconnexion(
    reglages_oauth: config.Reglages, fournisseur: FournisseurOAuth, tmp_path: Path
) -> None:
    fichier = reglages_oauth.chemin_jeton_oauth
    abime = fichier.read_bytes()[:-7] + b"\x00garbage"
    fichier.write_bytes(abime)
    with pytest.raises(ErreurImap, match="ne se déchiffre pas") as erreur:
        SourceImap(reglages_oauth.parametres_imap())._connecter()
    assert RELANCER in str(erreur.value)
    env = env_oauth(fournisseur, reglages_oauth.port_imap, reglages_oauth.donnees)
    connecter(fournisseur, env, tmp_path)
    assert fichier.with_name(fichier.name + ".ancien").read_bytes() == abime  # octets gardés
    assert reglages_oauth.coffre_oauth().lire().jeton_acces


def test_une_cle_fausse_ou_trop_ouverte_est_refusee_en_francais(
    reglages_oauth: config.Reglages, env_courrier: pytest.MonkeyPatch
) -> None:
    cle = reglages_oauth.chemin_cle_oauth
    cle.chmod(0o644)
    with pytest.raises(ErreurImap, match="lisible par d'autres utilisateurs"):
        SourceImap(reglages_oauth.parametres_imap())._connecter()
    cle.chmod(0o600)
    env_courrier.setenv("COURRIER_OAUTH_CLE", Fernet.generate_key().decode())
    config.reglages.cache_clear()
    with pytest.raises(ErreurImap, match="la clé n'est pas la bonne"):
        SourceImap(config.reglages().parametres_imap())._connecter()
    env_courrier.setenv("COURRIER_OAUTH_CLE", "pas-une-cle")
    config.reglages.cache_clear()
    with pytest.raises(ErreurImap, match="COURRIER_OAUTH_CLE n'est pas une clé valide"):
        SourceImap(config.reglages().parametres_imap())._connecter()
    cle.write_text("n'importe quoi\n")
    env_courrier.delenv("COURRIER_OAUTH_CLE")
    config.reglages.cache_clear()
    with pytest.raises(ErreurImap, match="ne contient pas une clé valide"):
        SourceImap(config.reglages().parametres_imap())._connecter()


def test_un_contenu_dechiffre_mais_faux_est_refuse(reglages_oauth: config.Reglages) -> None:
    fernet = Fernet(reglages_oauth.chemin_cle_oauth.read_bytes())
    for contenu in (b"[1, 2]", b'{"client_id": ""}', b"\xff\xfe", b'{"a":' * 10_000):
        reglages_oauth.chemin_jeton_oauth.write_bytes(fernet.encrypt(contenu))
        with pytest.raises(ErreurOAuth, match="est illisible"):
            reglages_oauth.jetons_oauth()()
    reglages_oauth.chemin_jeton_oauth.write_bytes(b"\0" * 2_000_000)
    with pytest.raises(ErreurOAuth, match="bien trop grand"):
        reglages_oauth.jetons_oauth()()


@pytest.mark.parametrize(
    ("panne", "attendu", "passagere"),
    [
        ("illisible", "a répondu quelque chose d'illisible", False),
        ("json_sans_jeton", "a répondu quelque chose d'illisible", False),
        ("client", "ne reconnaît pas l'application « inconnue »", False),
        ("injoignable", "est injoignable", True),
        ("en_panne", "est momentanément en panne \\(HTTP 502\\)", True),
    ],
)
def test_les_pannes_du_fournisseur_sont_dites_et_la_releve_les_signale(
    reglages_oauth: config.Reglages,
    fournisseur: FournisseurOAuth,
    env_courrier: pytest.MonkeyPatch,
    panne: str,
    attendu: str,
    passagere: bool,
) -> None:
    fournisseur.etat.expirer_les_acces()
    jeton = reglages_oauth.coffre_oauth().lire()
    if panne == "illisible":
        fournisseur.etat.reponse_illisible = True
    elif panne == "json_sans_jeton":
        fournisseur.etat.json_sans_jeton = True
    elif panne == "en_panne":
        fournisseur.etat.en_panne = True
    elif panne == "client":
        env_courrier.setenv("COURRIER_OAUTH_CLIENT_ID", "inconnue")
        # Le jeton gardé appartient à l'autre client : il faut que ce soit le fournisseur qui
        # refuse, on le réécrit au nom de « inconnue ».
        reglages_oauth.coffre_oauth().ecrire(jeton.model_copy(update={"client_id": "inconnue"}))
    else:
        env_courrier.setenv(
            "COURRIER_OAUTH_POINT_JETON", f"http://127.0.0.1:{serveurs.port_libre()}/j"
        )
    config.reglages.cache_clear()
    with pytest.raises(ErreurImap, match=attendu) as erreur:
        SourceImap(config.reglages().parametres_imap())._connecter()
    assert isinstance(erreur.value, ErreurImapPassagere) == passagere
    # Rien n'est effacé : le jeton de rafraîchissement est toujours là pour la prochaine fois.
    assert (
        reglages_oauth.coffre_oauth().lire().jeton_rafraichissement == jeton.jeton_rafraichissement
    )


def test_un_jeton_donne_a_une_autre_application_est_refuse(
    reglages_oauth: config.Reglages, env_courrier: pytest.MonkeyPatch
) -> None:
    env_courrier.setenv("COURRIER_OAUTH_CLIENT_ID", "une-autre")
    config.reglages.cache_clear()
    with pytest.raises(ErreurImap, match="a été donné à l'application « courrier-test »"):
        SourceImap(config.reglages().parametres_imap())._connecter()


# --- Réglages ------------------------------------------------------------------------------------


def test_sans_reglage_rien_ne_change_et_oauth_sans_client_est_dit(
    env_courrier: pytest.MonkeyPatch,
) -> None:
    env_courrier.setenv("COURRIER_IMAP_HOTE", "imap.commune.example")
    env_courrier.setenv("COURRIER_IMAP_UTILISATEUR", "mairie")
    env_courrier.setenv("COURRIER_IMAP_MOT_DE_PASSE", "s3cret")
    p = config.charger().parametres_imap()
    assert p.jeton is None and p.mot_de_passe == "s3cret"
    env_courrier.delenv("COURRIER_IMAP_MOT_DE_PASSE")
    env_courrier.setenv("COURRIER_IMAP_AUTH", "OAuth2")
    with pytest.raises(ConfigurationErreur, match="COURRIER_OAUTH_CLIENT_ID manque"):
        config.charger()
    env_courrier.setenv("COURRIER_OAUTH_CLIENT_ID", "0000-1111")
    env_courrier.setenv("COURRIER_OAUTH_TENANT", "mairie.example")
    p = config.charger().parametres_imap()
    assert p.jeton is not None and p.mecanisme == "XOAUTH2"
    o = config.charger().parametres_oauth()
    assert o.point_jeton == "https://login.microsoftonline.com/mairie.example/oauth2/v2.0/token"
    assert "offline_access" in o.scopes and "IMAP.AccessAsUser.All" in o.scopes
    env_courrier.setenv("COURRIER_OAUTH_FOURNISSEUR", "generique")
    with pytest.raises(ConfigurationErreur, match="COURRIER_OAUTH_POINT_JETON manque"):
        config.charger()
    env_courrier.setenv("COURRIER_IMAP_AUTH", "certificat")
    with pytest.raises(ConfigurationErreur, match="COURRIER_IMAP_AUTH doit valoir"):
        config.charger()
    env_courrier.delenv("COURRIER_IMAP_HOTE")
    env_courrier.setenv("COURRIER_IMAP_AUTH", "motdepasse")
    env_courrier.setenv("COURRIER_SMTP_AUTH", "oauth2")
    with pytest.raises(ConfigurationErreur, match="COURRIER_SMTP_UTILISATEUR"):
        config.charger()


def test_un_refus_sur_la_page_du_fournisseur_est_dit_et_rien_n_est_ecrit(
    env_courrier: pytest.MonkeyPatch, fournisseur: FournisseurOAuth, tmp_path: Path
) -> None:
    fournisseur.etat.refus_utilisateur = True
    env = env_oauth(fournisseur, serveurs.port_libre(), tmp_path / "donnees")
    resultat = lancer("connexion-oauth", env=env_processus(env), cwd=tmp_path)
    assert resultat.returncode == 1
    assert "La connexion a été refusée sur la page du fournisseur." in resultat.stderr
    assert "Traceback" not in resultat.stderr + resultat.stdout
    assert not (tmp_path / "donnees" / "oauth" / "jeton.chiffre").exists()


def test_un_client_inconnu_est_dit_des_la_demande_de_code(
    env_courrier: pytest.MonkeyPatch, fournisseur: FournisseurOAuth, tmp_path: Path
) -> None:
    env = env_oauth(fournisseur, serveurs.port_libre(), tmp_path / "donnees")
    env["COURRIER_OAUTH_CLIENT_ID"] = "pas-inscrite"
    resultat = lancer("connexion-oauth", env=env_processus(env), cwd=tmp_path)
    assert resultat.returncode == 1
    assert "ne reconnaît pas l'application « pas-inscrite »" in " ".join(resultat.stderr.split())


def test_une_cle_trop_ouverte_arrete_connexion_oauth_avant_de_demander_un_code(
    env_courrier: pytest.MonkeyPatch, fournisseur: FournisseurOAuth, tmp_path: Path
) -> None:
    donnees = tmp_path / "donnees"
    donnees.mkdir()
    (donnees / "oauth.cle").write_bytes(Fernet.generate_key())
    (donnees / "oauth.cle").chmod(0o644)
    env = env_oauth(fournisseur, serveurs.port_libre(), donnees)
    resultat = lancer("connexion-oauth", env=env_processus(env), cwd=tmp_path)
    assert resultat.returncode == 1
    assert "chmod 600" in resultat.stderr
    assert fournisseur.etat.codes == {}  # personne n'a eu de code à saisir pour rien
