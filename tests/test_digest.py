"""Le digest du maire : un registre garni par la vraie API, rendu en fichier et envoyé à un vrai
serveur SMTP (aiosmtpd) sur 127.0.0.1, relu, puis relancé le même jour sans rien renvoyer."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from connecteurs.smtp import ClientSmtp, ErreurSmtp, ErreurSmtpPassagere, ParametresSmtp
from courrier import config
from courrier.config import Reglages
from courrier.digest import j_moins, rendre_html
from courrier.publication import envoi_smtp, preparer, publier_digest
from courrier.reprises import PANNES_PASSAGERES
from noyau.analyse import Alerte, Analyse, Brouillon, TypeBrouillon, Urgence
from noyau.domaine import Canal, ElementRecu, EntetesCourrier, ResultatExtraction, TypeEvenement
from noyau.erreurs import ConfigurationErreur
from preuves.serveurs import ServeurSmtp, port_libre, serveur_smtp
from registre.registre import Registre
from tests.conftest import RACINE
from tests.horloge import HorlogeDeTest

JOUR = date(2026, 11, 23)  # un lundi
URL = "https://courrier.saint-aubin.example/"
MAIRE = "maire@saint-aubin.example"
ADJOINT = "adjoint@saint-aubin.example"
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def smtp() -> Iterator[ServeurSmtp]:
    with serveur_smtp() as serveur:
        yield serveur


# --- Registre garni ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Numeros:
    urgent: str
    prefecture: str
    signale: str
    acte: str
    hostile: str
    illisible: str
    ancien: str


def _deposer(
    registre: Registre,
    ref: str,
    objet: str,
    expediteur: str,
    recu_le: datetime,
    canal: Canal = Canal.EMAIL,
) -> tuple[str, int]:
    element = ElementRecu(
        source="imap" if canal == Canal.EMAIL else "depot_scans",
        canal=canal,
        reference=ref,
        recu_le=recu_le,
        contenu=f"{ref} {objet}".encode(),
    )
    entetes = EntetesCourrier(expediteur=expediteur, objet=objet)
    numero = registre.enregistrer(element, entetes).numero
    ident = next(a.id for a in registre.a_extraire() if a.numero == numero)
    return numero, ident


def garnir(registre: Registre) -> Numeros:
    """Une nuit de mairie : un urgent, la préfecture, un signalé, des courriers ordinaires, un
    illisible, une source en panne ; des échéances à J-2, J et dépassées ; des brouillons."""
    nuit = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)

    def courrier(
        ref: str,
        objet: str,
        expediteur: str,
        analyse: Analyse,
        brouillons: list[Brouillon] | None = None,
        recu_le: datetime = nuit,
        canal: Canal = Canal.EMAIL,
    ) -> str:
        numero, ident = _deposer(registre, ref, objet, expediteur, recu_le, canal)
        registre.consigner_extraction(
            ident, ResultatExtraction(texte=f"Texte de {objet}", methode="texte")
        )
        registre.consigner_analyse(ident, analyse, brouillons or [])
        return numero

    def reponse(objet: str) -> Brouillon:
        return Brouillon(TypeBrouillon.REPONSE, f"Re: {objet}", "Madame, Monsieur…", "modele:x")

    # Enregistrés dans l'ordre inverse de leur importance : l'ordre du digest ne doit rien au
    # numéro chrono.
    ancien = courrier(
        "ancien",
        "Devis de réfection du préau",
        "Entreprise Martin <devis@martin.example>",
        Analyse(
            categorie="finances",
            service="Comptabilité",
            resume="Devis pour le préau de l'école.",
            echeance=JOUR + timedelta(days=5),
        ),
        recu_le=nuit - timedelta(days=12),
    )
    # Le digest de la veille est parti après lui : il n'est plus une nouveauté ce matin.
    veille = JOUR - timedelta(days=1)
    assert registre.reserver_digest(veille, MAIRE, "<veille@saint-aubin.example>")
    registre.confirmer_digest(veille)
    hostile = courrier(
        "hostile",
        HOSTILE,
        'Association "Loto & Cie" <loto@asso.example>',
        Analyse(
            categorie="salles_associations",
            service="Vie associative",
            resume="Réservation de la salle des fêtes <b>pour</b> le loto du 5 décembre.",
        ),
        [reponse("salle")],
        recu_le=nuit - timedelta(days=3),
    )
    acte = courrier(
        "acte",
        "Demande d'acte de naissance",
        "Camille Lefèvre <camille@exemple.example>",
        Analyse(
            categorie="etat_civil",
            service="Accueil – état civil",
            resume="Demande de copie intégrale d'acte de naissance pour un passeport.",
            est_demande_usager=True,
            reponse_attendue=True,
            echeance=JOUR - timedelta(days=3),
        ),
        [
            Brouillon(
                TypeBrouillon.ACCUSE_RECEPTION,
                "Accusé de réception",
                "Madame…",
                "modele:accuse_reception",
            )
        ],
        recu_le=nuit - timedelta(days=1),
    )
    signale = courrier(
        "signale",
        "Question diverse",
        "Dominique <d@exemple.example>",
        Analyse(
            categorie="autre",
            service="Secrétariat général",
            resume="Une question dont le sujet n'est pas clair.",
            alertes=[Alerte.A_VERIFIER],
        ),
        canal=Canal.SCAN,
    )
    prefecture = courrier(
        "prefecture",
        "Élections : transmission de la liste électorale",
        "Préfecture du Loiret <elections@loiret.gouv.example>",
        Analyse(
            categorie="institutions",
            service="Secrétariat général",
            resume="La préfecture demande la liste électorale mise à jour.",
            echeance=JOUR,
        ),
    )
    urgent = courrier(
        "urgent",
        "Fuite d'eau importante rue des Lilas",
        "Jean Dupont <jean.dupont@exemple.example>",
        Analyse(
            categorie="voirie",
            service="Services techniques",
            urgence=Urgence.HAUTE,
            resume="Une fuite d'eau inonde la chaussée devant le n° 12 depuis ce matin.",
            reponse_attendue=True,
            echeance=JOUR + timedelta(days=2),
        ),
        [reponse("fuite")],
    )
    illisible, ident = _deposer(registre, "illisible", "Scan illisible", "", nuit, canal=Canal.SCAN)
    registre.consigner_extraction(
        ident,
        ResultatExtraction(echec=True, erreurs=["Le PDF est chiffré : aucune page lue."]),
    )
    registre.evenement_general(
        TypeEvenement.ERREUR,
        "releve",
        {"source": "imap", "raison": "Le serveur IMAP imap.exemple.example:993 ne répond pas."},
    )
    return Numeros(urgent, prefecture, signale, acte, hostile, illisible, ancien)


@pytest.fixture
def donnees(tmp_path: Path) -> Path:
    return tmp_path / "donnees"


def au_matin(jour: date) -> datetime:
    """L'heure du digest (7 h 30 à Paris en hiver) le jour donné."""
    return datetime(jour.year, jour.month, jour.day, 6, 30, tzinfo=UTC)


@pytest.fixture
def horloge() -> HorlogeDeTest:
    """La nuit du 23 novembre 2026 : la relève enregistre à 2 h 30 (heure de Paris)."""
    return HorlogeDeTest(datetime(2026, 11, 23, 1, 30, tzinfo=UTC))


@pytest.fixture
def registre_garni(donnees: Path, horloge: HorlogeDeTest) -> Iterator[tuple[Registre, Numeros]]:
    registre = Registre.ouvrir(f"sqlite:///{donnees / 'registre.sqlite3'}", donnees, horloge)
    try:
        numeros = garnir(registre)
        horloge.regler(au_matin(JOUR))
        yield registre, numeros
    finally:
        registre.fermer()


def reglages_de_test(serveur: ServeurSmtp | None = None, port: int | None = None) -> Reglages:
    return config.charger(
        _env_file=None,
        commune="Saint-Aubin-sur-Loire",
        smtp_hote="127.0.0.1",
        smtp_port=port or (serveur.port if serveur else port_libre()),
        smtp_securite="aucune",
        smtp_delai_s=5,
        adresse_mairie="mairie@saint-aubin.example",
        destinataires_digest=f"{MAIRE}, {ADJOINT}",
        url_publique=URL,
    )


def envoyeur(p: ParametresSmtp) -> Any:
    return ClientSmtp(p).envoyer


# --- Les tests --------------------------------------------------------------------------------


def test_j_moins_compte_les_jours_de_paris() -> None:
    assert j_moins(JOUR + timedelta(days=3), JOUR) == "J-3"
    assert j_moins(JOUR, JOUR) == "J"
    assert j_moins(JOUR - timedelta(days=2), JOUR) == "dépassée de 2 j"


def visible(html: str) -> str:
    """Le texte qu'un lecteur voit dans le HTML : sans balises, entités décodées."""
    sans_balises = re.sub(r"<!--.*?-->|<[^>]+>", "", html, flags=re.S)
    return " ".join(unescape(sans_balises).split())


def _partie(message: EmailMessage, type_: str) -> EmailMessage:
    return next(p for p in message.walk() if p.get_content_type() == type_)  # type: ignore[misc]


def test_le_digest_envoye_a_le_texte_et_le_html_urgent_d_abord_sans_ressource_exterieure(
    registre_garni: tuple[Registre, Numeros], smtp: ServeurSmtp, tmp_path: Path
) -> None:
    registre, n = registre_garni
    r = reglages_de_test(smtp)

    resultat = publier_digest(registre, r, JOUR, envoyeur(smtp.parametres()))
    assert resultat.statut == "envoye"
    assert (resultat.nouveaux, resultat.urgents) == (6, 1)
    envoi = registre.envoi_digest(JOUR)
    assert envoi is not None and envoi.statut == "envoye"

    ((expediteur, rcpt, _),) = smtp.boite.messages
    assert expediteur == "mairie@saint-aubin.example"
    assert sorted(rcpt) == sorted([MAIRE, ADJOINT])
    (m,) = smtp.lus()
    assert m.get_content_type() == "multipart/alternative"
    assert str(m["Subject"]) == "Courrier du lundi 23 novembre 2026 : 6 nouveaux, 1 urgent"
    assert str(m["Message-ID"]).endswith("@saint-aubin.example>")
    assert m["Date"] is not None and m["Auto-Submitted"] == "auto-generated"
    assert str(m["Message-ID"]) == resultat.message_id == envoi.message_id
    types = [p.get_content_type() for p in m.walk()]
    assert types == [
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/png",
    ]
    texte = _partie(m, "text/plain").get_content()
    html = _partie(m, "text/html").get_content()
    image = _partie(m, "image/png")
    assert image.get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    cid = str(image["Content-ID"]).strip("<>")
    assert f'src="cid:{cid}"' in html

    for partie in (texte, visible(html)):
        # L'urgent d'abord, puis la préfecture, puis le courrier signalé ; les autres ensuite.
        positions = [partie.index(x) for x in (n.urgent, n.prefecture, n.signale)]
        assert positions == sorted(positions), positions
        assert all(positions[-1] < partie.index(x) for x in (n.acte, n.hostile, n.illisible)), (
            "un courrier ordinaire passe avant les prioritaires"
        )
        # Échéances comptées depuis JOUR.
        assert "J-2 (25/11/2026)" in partie
        assert "J (23/11/2026)" in partie
        assert "dépassée de 3 j" in partie
        assert "J-5" in partie  # l'ancien courrier, hors de la nuit, à échéance proche
        for titre in (
            "À voir en priorité",
            "Brouillons en attente de validation",
            "Échéances proches ou dépassées",
            "Erreurs de la nuit",
        ):
            assert titre.lower() in partie.lower(), titre
        assert "Services techniques" in partie
        assert "réponse à valider" in partie
        assert "accusé de réception" in partie
        assert "Le PDF est chiffré" in partie
        assert "Boîte IMAP : Le serveur IMAP imap.exemple.example:993 ne répond pas." in partie
        assert "classement à vérifier" in partie
        assert 'Association "Loto & Cie"' in partie
    # L'ancien courrier, du digest d'hier, n'est plus une nouveauté ; son échéance reste.
    nuit_texte = texte.split("BROUILLONS EN ATTENTE")[0]
    assert n.ancien not in nuit_texte and "Devis de réfection du préau" in texte
    assert f"{URL}courrier/{n.urgent}" in texte
    assert f'href="{URL}courrier/{n.urgent}"' in html
    assert "Les autres courriers de la nuit" in html
    assert "Cette nuit" in texte and "lettres scannées" in texte

    # Rien à charger du dehors : seuls les liens vers la page du registre.
    urls = re.findall(r"https?://[^\s\"'<>)]+", html)
    assert urls and all(u.startswith(f"{URL}courrier/") for u in urls), urls
    assert not re.search(r"<img[^>]+src=\"(?!cid:)", html)
    assert "<link" not in html and "@import" not in html and "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;pour&lt;/b&gt;" in html
    assert HOSTILE in texte  # le texte brut montre l'objet tel quel

    # Le même digest, rendu dans un fichier, se lit hors ligne.
    preparation = preparer(registre, r, JOUR)
    fichier = tmp_path / "digest.html"
    fichier.write_text(rendre_html(preparation.digest), encoding="utf-8")
    assert n.urgent in fichier.read_text(encoding="utf-8")


def test_une_relance_le_meme_jour_n_envoie_rien_et_le_lendemain_sans_courrier_dit_rien_de_nouveau(
    registre_garni: tuple[Registre, Numeros], smtp: ServeurSmtp, horloge: HorlogeDeTest
) -> None:
    registre, n = registre_garni
    r = reglages_de_test(smtp)
    envoyer = envoyeur(smtp.parametres())
    assert publier_digest(registre, r, JOUR, envoyer).statut == "envoye"
    assert publier_digest(registre, r, JOUR, envoyer).statut == "deja_envoye"
    assert len(smtp.boite.messages) == 1

    lendemain = JOUR + timedelta(days=1)
    horloge.regler(au_matin(lendemain))
    resultat = publier_digest(registre, r, lendemain, envoyer)
    assert resultat.statut == "envoye" and resultat.nouveaux == 0
    assert len(smtp.boite.messages) == 2
    m = smtp.lus()[1]
    assert str(m["Subject"]) == "Courrier du mardi 24 novembre 2026 : rien de nouveau"
    texte = _partie(m, "text/plain").get_content()
    html = _partie(m, "text/html").get_content()
    for partie in (texte, visible(html)):
        assert "Rien de nouveau cette nuit" in partie
        assert "Erreurs de la nuit".lower() not in partie.lower()  # celles d'hier sont passées
        # Les brouillons attendent toujours ; les échéances avancent d'un jour.
        assert n.urgent in partie and "depuis hier" in partie
        assert "J-1 (25/11/2026)" in partie and "dépassée de 1 j" in partie


def test_un_serveur_qui_refuse_la_connexion_annule_la_reservation_et_la_relance_envoie(
    registre_garni: tuple[Registre, Numeros], smtp: ServeurSmtp
) -> None:
    registre, _ = registre_garni
    ferme = ParametresSmtp("127.0.0.1", port_libre(), securite="aucune", delai_s=2)
    with pytest.raises(ErreurSmtpPassagere) as erreur:
        publier_digest(registre, reglages_de_test(smtp), JOUR, envoyeur(ferme))
    assert "n'est pas parti" in str(erreur.value)
    assert registre.envoi_digest(JOUR) is None
    evenement = registre.evenements()[-1]
    assert evenement.type == "erreur" and '"etape":"annule"' in evenement.details

    assert publier_digest(registre, reglages_de_test(smtp), JOUR, envoyeur(smtp.parametres()))
    assert len(smtp.boite.messages) == 1
    # L'annulation d'hier est une erreur de la nuit pour le digest suivant.
    lendemain = preparer(registre, reglages_de_test(smtp), JOUR + timedelta(days=1)).digest
    assert not lendemain.erreurs  # elle a eu lieu avant le digest envoyé


def test_un_refus_definitif_n_est_pas_passager_et_n_envoie_rien(
    registre_garni: tuple[Registre, Numeros], smtp: ServeurSmtp
) -> None:
    registre, _ = registre_garni
    smtp.boite.refus_rcpt = "550 5.1.1 Destinataire inconnu"
    with pytest.raises(ErreurSmtp) as erreur:
        publier_digest(registre, reglages_de_test(smtp), JOUR, envoyeur(smtp.parametres()))
    assert not isinstance(erreur.value, ErreurSmtpPassagere)
    assert "refuse le destinataire" in str(erreur.value) and "550" in str(erreur.value)
    assert registre.envoi_digest(JOUR) is None and not smtp.boite.messages


def test_un_doute_apres_data_laisse_la_reservation_et_n_envoie_pas_deux_fois(
    registre_garni: tuple[Registre, Numeros], smtp: ServeurSmtp
) -> None:
    registre, _ = registre_garni
    r = reglages_de_test(smtp)
    smtp.boite.attente_data_s = 1.5  # le serveur reçoit tout mais répond trop tard
    with pytest.raises(ErreurSmtp) as erreur:
        publier_digest(registre, r, JOUR, envoyeur(smtp.parametres(delai_s=0.5)))
    assert not erreur.value.rien_envoye and "peut-être parti" in str(erreur.value)
    envoi = registre.envoi_digest(JOUR)
    assert envoi is not None and envoi.statut == "prepare"
    smtp.boite.attente_data_s = 0
    assert publier_digest(registre, r, JOUR, envoyeur(smtp.parametres())).statut == "en_suspens"


def test_l_envoi_a_la_main_retente_un_refus_passager_et_jamais_un_refus_definitif(
    registre_garni: tuple[Registre, Numeros], smtp: ServeurSmtp
) -> None:
    registre, _ = registre_garni
    r = reglages_de_test(smtp)
    attentes: list[float] = []

    def dormir(secondes: float) -> None:
        # Le serveur se remet pendant l'attente : la tentative suivante passe.
        attentes.append(secondes)
        smtp.boite.refus_rcpt = None

    smtp.boite.refus_rcpt = "451 4.3.0 Reessayez plus tard"
    assert publier_digest(registre, r, JOUR, envoi_smtp(r, dormir=dormir)).statut == "envoye"
    assert attentes == [PANNES_PASSAGERES.attentes_s[0]] and len(smtp.boite.messages) == 1

    smtp.boite.refus_rcpt = "550 5.1.1 Destinataire inconnu"
    lendemain = JOUR + timedelta(days=1)
    with pytest.raises(ErreurSmtp):
        publier_digest(registre, r, lendemain, envoi_smtp(r, dormir=dormir))
    assert attentes == [PANNES_PASSAGERES.attentes_s[0]] and len(smtp.boite.messages) == 1


def test_le_client_smtp_ne_dit_jamais_le_mot_de_passe(smtp: ServeurSmtp) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@b.example", MAIRE, "essai"
    message.set_content("bonjour")
    # aiosmtpd sans TLS refuse AUTH : l'erreur doit rester en français, sans le secret.
    p = ParametresSmtp("127.0.0.1", smtp.port, "mairie", "s3cr3t-Tres", "aucune", 5)
    with pytest.raises(ErreurSmtp) as erreur:
        ClientSmtp(p).envoyer(message)
    assert "s3cr3t-Tres" not in str(erreur.value) and "s3cr3t-Tres" not in repr(p)
    assert "SMTP" in str(erreur.value)


def test_les_reglages_d_envoi_se_verifient_en_francais(monkeypatch: pytest.MonkeyPatch) -> None:
    r = config.charger(_env_file=None, smtp_securite="ssl")
    assert r.port_smtp == 465
    assert config.charger(_env_file=None).port_smtp == 587
    with pytest.raises(ConfigurationErreur, match="COURRIER_DESTINATAIRES_DIGEST"):
        config.charger(
            _env_file=None, destinataires_digest="maire@commune.example, pas-une-adresse"
        )
    with pytest.raises(ConfigurationErreur, match="COURRIER_URL_PUBLIQUE"):
        config.charger(_env_file=None, url_publique="courrier.commune.example")
    r = config.charger(_env_file=None, destinataires_digest="a@commune.example; b@commune.example")
    assert r.liste_destinataires_digest == ["a@commune.example", "b@commune.example"]


# --- La commande ------------------------------------------------------------------------------


def _env(donnees: Path, **variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COURRIER_", "PREFECT_"))}
    env.update({"PYTHONPATH": str(RACINE), "COURRIER_DONNEES": str(donnees), **variables})
    return env


def _courrier(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "courrier", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_la_commande_ecrit_le_digest_html_et_refuse_d_envoyer_sans_reglages(
    registre_garni: tuple[Registre, Numeros], donnees: Path, tmp_path: Path
) -> None:
    _, n = registre_garni
    sortie = tmp_path / "digest.html"
    # Les deux commandes en même temps : chacune passe surtout son temps à importer.
    ecrire = _courrier(
        "digest",
        "--sortie",
        str(sortie),
        "--jour",
        "2026-11-23",
        env=_env(donnees, COURRIER_URL_PUBLIQUE=URL),
        cwd=tmp_path,
    )
    sans_smtp = _courrier("digest", "--envoyer", env=_env(donnees), cwd=tmp_path)
    sortie_ecrire, erreurs_ecrire = ecrire.communicate(timeout=120)
    sortie_sans, erreurs_sans = sans_smtp.communicate(timeout=120)

    assert ecrire.returncode == 0, erreurs_ecrire
    assert "Traceback" not in sortie_ecrire + erreurs_ecrire
    assert "Digest écrit dans" in sortie_ecrire
    html = sortie.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and '<html lang="fr">' in html
    assert html.index(n.urgent) < html.index(n.acte)
    assert "data:image/png;base64," in html  # le graphique voyage dans le fichier
    assert "&lt;script&gt;" in html

    assert sans_smtp.returncode == 1
    assert "COURRIER_SMTP_HOTE" in erreurs_sans
    assert "Traceback" not in sortie_sans + erreurs_sans


def test_la_commande_envoie_le_digest_sans_demarrer_de_serveur_prefect(
    registre_garni: tuple[Registre, Numeros], donnees: Path, tmp_path: Path, smtp: ServeurSmtp
) -> None:
    # Un serveur Prefect temporaire ne démarrerait pas en une seconde (il ne démarrait parfois
    # pas à temps sur une machine chargée) : l'envoi à la main n'en a pas besoin.
    env = _env(
        donnees,
        COURRIER_SMTP_HOTE="127.0.0.1",
        COURRIER_SMTP_PORT=str(smtp.port),
        COURRIER_SMTP_SECURITE="aucune",
        COURRIER_ADRESSE_MAIRIE="mairie@saint-aubin.example",
        COURRIER_DESTINATAIRES_DIGEST=MAIRE,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="1",
    )
    envoi = _courrier("digest", "--envoyer", "--jour", "2026-11-23", env=env, cwd=tmp_path)
    sortie, erreurs = envoi.communicate(timeout=120)
    assert envoi.returncode == 0, sortie + erreurs
    assert "Digest du lundi 23 novembre 2026 envoyé à " + MAIRE in sortie
    assert len(smtp.boite.messages) == 1
    assert not list(donnees.rglob("prefect.db")) and not (donnees / "prefect").exists()


# --- Le flow Prefect --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.mark.lent
def test_le_flow_digest_envoie_une_fois_par_jour(
    prefect_harness: None,
    env_courrier: pytest.MonkeyPatch,
    registre_garni: tuple[Registre, Numeros],
    donnees: Path,
    smtp: ServeurSmtp,
) -> None:
    from flows.digest import digest

    for cle, valeur in {
        "COURRIER_DONNEES": str(donnees),
        "COURRIER_SMTP_HOTE": "127.0.0.1",
        "COURRIER_SMTP_PORT": str(smtp.port),
        "COURRIER_SMTP_SECURITE": "aucune",
        "COURRIER_ADRESSE_MAIRIE": "mairie@saint-aubin.example",
        "COURRIER_DESTINATAIRES_DIGEST": MAIRE,
    }.items():
        env_courrier.setenv(cle, valeur)
    config.reglages.cache_clear()

    premier = digest(jour=JOUR)
    second = digest(jour=JOUR)
    assert (premier.statut, second.statut) == ("envoye", "deja_envoye")
    assert premier.destinataires == (MAIRE,) and len(smtp.boite.messages) == 1


def test_seul_un_echec_ou_rien_n_est_parti_est_retente() -> None:
    from prefect.states import Failed

    from flows.digest import envoyer_message
    from flows.releve import _reessayer

    assert envoyer_message.retries == 2
    assert _reessayer(None, None, Failed(data=ErreurSmtpPassagere("connexion refusée")))
    assert not _reessayer(None, None, Failed(data=ErreurSmtp("mot de passe refusé")))
    assert not _reessayer(None, None, Failed(data=ErreurSmtp("doute", rien_envoye=False)))


def test_chaque_etat_d_un_brouillon_se_dit_en_francais() -> None:
    from courrier.digest import _etat_brouillon
    from noyau.domaine import StatutBrouillon

    assert _etat_brouillon("reponse", "papier") == "réponse imprimée"
    assert _etat_brouillon("accuse_reception", "a_verifier") == (
        "accusé de réception à vérifier (envoi interrompu)"
    )
    for statut in StatutBrouillon:
        assert "_" not in _etat_brouillon("reponse", statut.value), statut
