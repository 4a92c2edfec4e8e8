"""Réponses automatiques et retours en erreur (issue #10, point 1).

RFC 3834 : jamais de brouillon ni d'accusé de réception pour un message automatique. RFC 3464 :
un avis de non-remise est rattaché à la réponse envoyée qu'il concerne, qui repasse « à
vérifier : non remis à … » dans la file et le digest ; l'avis reste au registre, hors des
comptes du courrier des administrés.

Échantillons : tests/donnees/automatiques/ (formats d'Outlook, Gmail, Thunderbird, Postfix et
Exchange, voir son README) et le corpus partagé (../shared/corpus/emails/MANIFEST.tsv).
Le chemin est le vrai : enregistrement, lecture (`extraire_un`), analyse, registre sur SQLite
et PostgreSQL.
"""

from __future__ import annotations

import email
import email.policy
import html
from collections.abc import Iterator
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from connecteurs.llm import ClientLLM, ParametresLLM
from courrier import config
from courrier.analyser import Analyseur, analyser_en_attente
from courrier.digest import construire_digest, rendre_html, rendre_texte
from courrier.extraction import lire_entetes
from courrier.extraction.automatiques import reconnaitre
from courrier.releve import cle_message, extraire_un
from interfaces.web.app import creer_app
from noyau.analyse import Commune
from noyau.domaine import (
    Canal,
    ElementRecu,
    Limites,
    NatureAutomatique,
    StatutBrouillon,
)
from preuves.serveur_llm import ServeurLLM
from registre.export import tableau
from registre.registre import Registre
from regles.chargement import charger_regles
from regles.crpa import charger_crpa
from regles.moteur import MoteurRegles
from tests import navigateur as nv
from tests.conftest import CORPUS
from tests.test_web import connecter

ECHANTILLONS = Path(__file__).with_name("donnees") / "automatiques"
COURRIELS_DU_CORPUS = CORPUS / "emails"
# Les Message-ID des réponses de la mairie que les avis de non-remise renvoient.
REPONSE_A_JEAN = "<8f3a1c2d4e5b6a7f9e01.courrier@saint-aubin.example>"
AR_A_CLAIRE = "<1b2c3d4e5f60718293a4.courrier@saint-aubin.example>"
JEAN = "jean.martin@fai-exemple.example"
CLAIRE = "c.dupont@collectivite-voisine.example"
RECU_LE = datetime(2026, 11, 16, 8, 30, tzinfo=UTC)


def echantillon(nom: str) -> bytes:
    return (ECHANTILLONS / nom).read_bytes()


def du_corpus(debut: str) -> bytes:
    (chemin,) = COURRIELS_DU_CORPUS.glob(f"{debut}*")
    return chemin.read_bytes()


def nature(contenu: bytes) -> NatureAutomatique | None:
    message = email.message_from_bytes(contenu, policy=email.policy.default)
    trouve = reconnaitre(message)
    return trouve.nature if trouve else None


def demande(expediteur: str, objet: str, texte: str, **entetes: str) -> bytes:
    message = EmailMessage()
    message["From"] = expediteur
    message["To"] = "Mairie de Saint-Aubin <mairie@saint-aubin.example>"
    message["Subject"] = objet
    message["Date"] = "Mon, 16 Nov 2026 09:30:00 +0100"
    message["Message-ID"] = f"<{abs(hash((expediteur, objet))):x}@fai-exemple.example>"
    for nom, valeur in entetes.items():
        message[nom.replace("_", "-")] = valeur
    message.set_content(texte)
    return message.as_bytes()


DEMANDE_DE_JEAN = demande(
    f"Jean Martin <{JEAN}>",
    "Demande d'acte de naissance",
    "Bonjour,\nJe vous demande une copie intégrale de mon acte de naissance (né le 2 mars 1980 "
    "à Saint-Aubin). Merci de me répondre.\nJean Martin",
)


def analyseur(llm: ClientLLM | None = None) -> Analyseur:
    return Analyseur(
        MoteurRegles(charger_regles()), charger_crpa(), Commune(nom="Saint-Aubin"), llm
    )


def relever(
    registre: Registre, contenu: bytes, recu_le: datetime = RECU_LE, llm: ClientLLM | None = None
) -> str:
    """Enregistre, lit et analyse un courriel comme la relève de la nuit."""
    entetes = lire_entetes(contenu)
    element = ElementRecu(
        source="depot_eml",
        canal=Canal.DEPOT,
        reference=f"{len(contenu)}.eml",
        recu_le=recu_le,
        contenu=contenu,
        cles=cle_message(entetes, contenu),
    )
    numero = registre.enregistrer(element, entetes).numero
    for a in registre.a_extraire():
        registre.consigner_extraction(a.id, extraire_un(str(registre.archive.racine), a, Limites()))
    analyser_en_attente(registre, analyseur(llm), parallele=1)
    return numero


def envoyer(registre: Registre, numero: str, type_: str, message_id: str) -> int:
    """La secrétaire valide le brouillon, l'envoi le réserve puis le serveur l'accepte."""
    courrier = registre.courrier(numero)
    assert courrier is not None
    ligne = next(b for b in courrier.brouillons if b.type == type_)
    registre.valider_brouillon(ligne.id, "claire", "courriel")
    assert registre.reserver_envoi(ligne.id, message_id)
    registre.confirmer_envoi(ligne.id, "accepté par le serveur d'envoi")
    return ligne.id


# -- reconnaître -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nom", "attendue"),
    [
        ("outlook_absence.eml", NatureAutomatique.REPONSE_AUTOMATIQUE),
        ("gmail_absence.eml", NatureAutomatique.REPONSE_AUTOMATIQUE),
        ("thunderbird_absence.eml", NatureAutomatique.REPONSE_AUTOMATIQUE),
        ("postfix_non_remis.eml", NatureAutomatique.NON_REMISE),
        ("exchange_non_remis.eml", NatureAutomatique.NON_REMISE),
    ],
)
def test_les_echantillons_sont_reconnus(nom: str, attendue: NatureAutomatique) -> None:
    assert nature(echantillon(nom)) is attendue


@pytest.mark.parametrize(
    ("debut", "attendue"),
    [
        ("08_", NatureAutomatique.NON_REMISE),  # rapport abîmé (MailSite, Brésil)
        ("37_", NatureAutomatique.NON_REMISE),  # rapport tronqué, gb2312
        ("62_", NatureAutomatique.NON_REMISE),  # plusieurs blocs de statut
        ("32_", NatureAutomatique.REPONSE_AUTOMATIQUE),  # « Automatyczna odpowiedź »
        ("13_", NatureAutomatique.AUTO_GENERE),  # lettre d'information, Precedence: bulk
        ("19_", None),
        ("27_", None),
        ("57_", None),
    ],
)
def test_les_messages_du_corpus_partage_sont_reconnus(
    debut: str, attendue: NatureAutomatique | None
) -> None:
    assert nature(du_corpus(debut)) is attendue


@pytest.mark.parametrize(
    ("entetes", "objet", "attendue"),
    [
        ({"X_Autoreply": "yes"}, "Re: votre demande", NatureAutomatique.REPONSE_AUTOMATIQUE),
        ({"Precedence": "auto_reply"}, "Re: votre demande", NatureAutomatique.REPONSE_AUTOMATIQUE),
        ({}, "Out of Office: votre demande", NatureAutomatique.REPONSE_AUTOMATIQUE),
        ({}, "Absence du bureau", NatureAutomatique.REPONSE_AUTOMATIQUE),
        ({"Auto_Submitted": "auto-generated"}, "Votre dépôt", NatureAutomatique.AUTO_GENERE),
        ({"Auto_Submitted": "no"}, "Ma demande", None),
        ({}, "Absence de ramassage des poubelles rue Haute", None),
        ({}, "Absence de mon fils à la cantine", None),
    ],
)
def test_les_en_tetes_de_la_rfc_3834_et_les_objets_d_absence(
    entetes: dict[str, str], objet: str, attendue: NatureAutomatique | None
) -> None:
    contenu = demande("Paul <paul@exemple.example>", objet, "Bonjour.", **entetes)
    assert nature(contenu) is attendue


def test_un_avis_de_non_remise_nomme_le_destinataire_et_le_message_revenu() -> None:
    message = email.message_from_bytes(
        echantillon("postfix_non_remis.eml"), policy=email.policy.default
    )
    avis = reconnaitre(message)
    assert avis is not None and avis.remise_echouee
    assert avis.messages_revenus == (REPONSE_A_JEAN,)
    (echec,) = avis.echecs
    assert (echec.adresse, echec.statut) == (JEAN, "5.1.1")
    assert "User unknown" in echec.diagnostic


# -- jamais de réponse ni d'accusé de réception --------------------------------------------------


@pytest.mark.parametrize(
    "nom", ["outlook_absence.eml", "gmail_absence.eml", "thunderbird_absence.eml"]
)
def test_une_absence_ne_recoit_ni_brouillon_ni_accuse_de_reception(
    registre: Registre, nom: str
) -> None:
    numero = relever(registre, echantillon(nom))
    courrier = registre.courrier(numero)
    assert courrier is not None
    assert courrier.automatique == "reponse_automatique"
    assert courrier.brouillons == []
    # La date de retour de l'absent n'est pas une échéance de la mairie.
    assert courrier.echeance is None
    assert courrier.reponse_attendue is False and courrier.est_demande_usager is False
    assert courrier.resume.startswith("Réponse automatique")
    assert registre.verifier() == []


def test_une_absence_n_est_pas_envoyee_au_llm(registre: Registre) -> None:
    with ServeurLLM() as serveur:
        llm = ClientLLM(
            ParametresLLM(url=serveur.url, cle="c", modele="m", delai_s=2, pseudonymiser=False)
        )
        with llm:
            numero = relever(registre, echantillon("gmail_absence.eml"), llm=llm)
        assert serveur.nombre == 0
    courrier = registre.courrier(numero)
    assert courrier is not None and courrier.brouillons == []


def test_un_message_auto_genere_est_analyse_par_le_llm_mais_sans_brouillon(
    registre: Registre,
) -> None:
    # Le LLM de test y voit une demande d'usager qui attend une réponse (« nid de poule »).
    contenu = demande(
        "Portail citoyen <ne-pas-repondre@portail.example>",
        "Nouveau signalement",
        "Un nid de poule a été signalé rue Haute.",
        Auto_Submitted="auto-generated",
    )
    with ServeurLLM() as serveur:
        llm = ClientLLM(
            ParametresLLM(url=serveur.url, cle="c", modele="m", delai_s=2, pseudonymiser=False)
        )
        with llm:
            numero = relever(registre, contenu, llm=llm)
        assert serveur.nombre == 1
    courrier = registre.courrier(numero)
    assert courrier is not None
    assert courrier.automatique == "auto_genere" and courrier.categorie == "voirie"
    assert courrier.moteur == "llm:m"
    assert courrier.brouillons == []
    assert courrier.reponse_attendue is False and courrier.est_demande_usager is False


def test_une_lettre_d_information_envoyee_en_nombre_est_analysee_sans_brouillon(
    registre: Registre,
) -> None:
    numero = relever(registre, du_corpus("13_"))
    courrier = registre.courrier(numero)
    assert courrier is not None
    assert courrier.automatique == "auto_genere"
    assert courrier.analyse_le is not None and courrier.categorie
    assert courrier.brouillons == []


def test_la_meme_demande_sans_marque_automatique_recoit_ses_brouillons(
    registre: Registre,
) -> None:
    numero = relever(registre, DEMANDE_DE_JEAN)
    courrier = registre.courrier(numero)
    assert courrier is not None and courrier.automatique == ""
    assert {b.type for b in courrier.brouillons} >= {"accuse_reception"}


# -- les avis de non-remise --------------------------------------------------------------------


@pytest.fixture
def reponse_envoyee(registre: Registre) -> Iterator[tuple[str, int]]:
    numero = relever(registre, DEMANDE_DE_JEAN)
    yield numero, envoyer(registre, numero, "accuse_reception", REPONSE_A_JEAN)


def test_un_avis_de_postfix_fait_repasser_la_reponse_a_verifier(
    registre: Registre, reponse_envoyee: tuple[str, int]
) -> None:
    numero, ident = reponse_envoyee
    avant = registre.courrier(numero)
    assert avant is not None and avant.statut == "repondu"

    avis = relever(
        registre, echantillon("postfix_non_remis.eml"), datetime(2026, 11, 17, tzinfo=UTC)
    )

    trouve = registre.brouillon(ident)
    assert trouve is not None
    courrier, ligne = trouve
    assert ligne.statut == StatutBrouillon.NON_REMIS.value
    assert ligne.raison.startswith(f"Non remis à {JEAN} (5.1.1 : smtp; 550 5.1.1")
    assert avis in ligne.raison
    # Plus aucune réponse n'est arrivée : le courrier n'est plus « répondu ».
    assert courrier.statut == "analyse" and courrier.repondu_le is None
    ligne_avis = registre.courrier(avis)
    assert ligne_avis is not None
    assert ligne_avis.automatique == "non_remise" and ligne_avis.retour_de == numero
    assert ligne_avis.brouillons == []
    # Dans la file de la secrétaire, et le journal dit pourquoi.
    assert ident in [b.id for _, b in registre.brouillons_a_valider()]
    etapes = [e.details for e in registre.evenements(numero) if e.type == "envoi"]
    assert '"etape":"non_remis"' in etapes[-1] and avis in etapes[-1]
    assert registre.verifier() == []


def test_un_avis_d_exchange_rattache_l_accuse_de_reception_par_son_message_id(
    registre: Registre,
) -> None:
    numero = relever(
        registre,
        demande(f"Claire Dupont <{CLAIRE}>", "Demande de salle", "Je voudrais la salle des fêtes."),
    )
    ident = envoyer(registre, numero, "accuse_reception", AR_A_CLAIRE)
    # Une autre réponse, à la même adresse, ne doit pas être prise pour elle.
    autre = relever(
        registre, demande(f"Claire Dupont <{CLAIRE}>", "Autre demande", "Et un barnum ?")
    )
    envoyer(registre, autre, "accuse_reception", "<99aa.courrier@saint-aubin.example>")

    relever(registre, echantillon("exchange_non_remis.eml"), datetime(2026, 11, 18, tzinfo=UTC))

    trouve = registre.brouillon(ident)
    assert trouve is not None
    assert trouve[1].statut == StatutBrouillon.NON_REMIS.value
    assert "RESOLVER.ADR.RecipientNotFound" in trouve[1].raison
    deuxieme = registre.courrier(autre)
    assert deuxieme is not None and deuxieme.brouillons[0].statut == "envoye"


def test_sans_message_id_l_avis_est_rattache_par_l_adresse_en_echec(registre: Registre) -> None:
    numero = relever(registre, DEMANDE_DE_JEAN)
    ident = envoyer(registre, numero, "accuse_reception", "<autre.courrier@saint-aubin.example>")
    relever(registre, echantillon("postfix_non_remis.eml"))

    trouve = registre.brouillon(ident)
    assert trouve is not None and trouve[1].statut == StatutBrouillon.NON_REMIS.value


def test_un_avis_de_retard_ne_change_rien(
    registre: Registre, reponse_envoyee: tuple[str, int]
) -> None:
    _, ident = reponse_envoyee
    retard = (
        echantillon("postfix_non_remis.eml")
        .replace(b"Action: failed", b"Action: delayed")
        .replace(b"Status: 5.1.1", b"Status: 4.4.1")
    )
    avis = relever(registre, retard)

    trouve = registre.brouillon(ident)
    assert trouve is not None and trouve[1].statut == StatutBrouillon.ENVOYE.value
    ligne_avis = registre.courrier(avis)
    assert ligne_avis is not None and ligne_avis.automatique == "non_remise"


def test_la_reponse_non_remise_se_corrige_puis_se_rejette_ou_repart(
    registre: Registre, reponse_envoyee: tuple[str, int]
) -> None:
    _, ident = reponse_envoyee
    relever(registre, echantillon("postfix_non_remis.eml"))
    registre.modifier_brouillon(ident, "claire", "Votre demande", "Madame, Monsieur,\nCorrigé.")
    ligne = registre.valider_brouillon(ident, "claire", "papier")
    assert ligne.statut == StatutBrouillon.VALIDE.value and ligne.mode == "papier"


# -- hors des comptes, mais visibles -----------------------------------------------------------


def test_le_digest_compte_le_courrier_des_administres_et_montre_la_reponse_non_remise(
    registre: Registre, reponse_envoyee: tuple[str, int]
) -> None:
    from courrier.publication import lire_registre

    relever(registre, echantillon("postfix_non_remis.eml"))
    relever(registre, echantillon("gmail_absence.eml"))
    courriers, attente, erreurs = lire_registre(registre, registre.evenements())
    digest = construire_digest(
        courriers,
        attente,
        erreurs,
        date(2026, 11, 20),
        None,
        "Saint-Aubin",
        depuis=datetime(2000, 1, 1, tzinfo=UTC),
    )

    assert digest.nouveaux == 1  # la demande de Jean ; ni l'avis ni l'absence
    assert sum(c.nombre for c in digest.par_categorie) == 1
    assert digest.automatiques == 2
    (non_remis,) = [b for b in digest.brouillons if b.etat]
    assert non_remis.etat.startswith(f"à vérifier : Non remis à {JEAN}")
    texte = rendre_texte(digest)
    assert f"à vérifier : Non remis à {JEAN}" in texte
    assert "hors de ces comptes : 2 messages automatiques" in texte
    assert f"Non remis à {JEAN}" in rendre_html(digest)


def test_l_export_du_registre_garde_les_messages_automatiques_et_les_nomme(
    registre: Registre, reponse_envoyee: tuple[str, int]
) -> None:
    numero, _ = reponse_envoyee
    avis = relever(registre, echantillon("postfix_non_remis.eml"))
    donnees = tableau(registre.courriers()).set_index("numero")
    assert donnees.loc[avis, "automatique"] == "non_remise"
    assert donnees.loc[avis, "retour_de"] == numero
    assert donnees.loc[numero, "automatique"] == ""


def test_la_file_de_la_commande_montre_la_reponse_non_remise(
    env_courrier: pytest.MonkeyPatch,
) -> None:
    from interfaces.cli import app
    from interfaces.cli_commun import console

    reglages = config.reglages()
    registre = Registre.ouvrir(reglages.url_base, reglages.donnees)
    try:
        numero = relever(registre, DEMANDE_DE_JEAN)
        envoyer(registre, numero, "accuse_reception", REPONSE_A_JEAN)
        relever(registre, echantillon("postfix_non_remis.eml"))
    finally:
        registre.fermer()
    # La console de la CLI est créée une fois par processus, et rich y fige la largeur si
    # COLUMNS existait à ce moment-là (c'est le cas sous pytest-xdist, ou dans un terminal qui
    # l'exporte) : poser COLUMNS ici ne suffit pas, la largeur se pose sur la console même.
    env_courrier.setattr(console, "_width", 200)
    resultat = CliRunner().invoke(app, ["file"])
    assert resultat.exit_code == 0, resultat.output
    assert "à vérifier : non remis" in resultat.output
    assert f"Non remis à {JEAN}" in resultat.output


def test_la_page_web_montre_la_reponse_non_remise_et_l_avis(tmp_path: Path) -> None:
    donnees = tmp_path / "donnees"
    url = f"sqlite:///{donnees / 'registre.sqlite3'}"
    registre = Registre.ouvrir(url, donnees)
    try:
        numero = relever(registre, DEMANDE_DE_JEAN)
        ident = envoyer(registre, numero, "accuse_reception", REPONSE_A_JEAN)
        avis = relever(registre, echantillon("postfix_non_remis.eml"))
        nv.creer_comptes(registre)
        app = creer_app(nv.reglages_web(donnees, url), registre)
        with TestClient(app, follow_redirects=False) as client:
            connecter(client, "secretaire")
            file = html.unescape(client.get("/").text)
            brouillon = html.unescape(client.get(f"/brouillon/{ident}").text)
            page_avis = html.unescape(client.get(f"/courrier/{avis}").text)
    finally:
        registre.fermer()
    assert f"À vérifier : Non remis à {JEAN}" in file
    assert "À vérifier : non remis" in brouillon and "Rejeter" in brouillon
    assert "avis de non-remise, hors des comptes" in page_avis
    assert f'href="/courrier/{numero}"' in page_avis
