"""Les décisions de la secrétaire et l'envoi des réponses : un vrai serveur SMTP (aiosmtpd) et
un vrai Dovecot (dossier « Envoyés ») sur 127.0.0.1 ; des pannes SIGKILL entre l'acceptation
par le serveur et la validation au registre, puis une relance : jamais deux envois."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from imapclient import IMAPClient

from courrier import config
from courrier.config import Reglages
from courrier.domaines_reserves import MARQUE_DEMO
from courrier.envoi import EnvoiOccupe, construire_reponse, envoyer_valides, verrou_envoi
from noyau.analyse import Analyse, Brouillon, TypeBrouillon, Urgence
from noyau.domaine import (
    Canal,
    ElementRecu,
    EntetesCourrier,
    ResultatExtraction,
    Statut,
    StatutBrouillon,
    TypeEvenement,
)
from noyau.erreurs import ConfigurationErreur, RegistreErreur
from preuves.serveurs import Dovecot, ServeurSmtp, dovecot, port_libre, serveur_smtp
from registre.registre import Registre, details
from regles.chargement import charger_regles
from tests.conftest import RACINE

MAIRIE = "mairie@saint-aubin.example"
USAGER = "jeanne.martin@exemple.example"
ORIGINE = "<demande-42@exemple.example>"


@pytest.fixture
def smtp() -> Iterator[ServeurSmtp]:
    with serveur_smtp() as serveur:
        yield serveur


def deposer(
    registre: Registre,
    ref: str = "UID 7",
    objet: str = "Demande d'acte de naissance",
    adresse: str = USAGER,
    message_id: str = ORIGINE,
    corps: str = "Madame,\n\nVeuillez trouver ci-joint l'acte demandé.\n\nLe Maire",
) -> tuple[str, int]:
    """Un courriel au registre, lu et analysé, avec un brouillon de réponse à valider."""
    element = ElementRecu(
        source="imap",
        canal=Canal.EMAIL,
        reference=ref,
        recu_le=datetime(2026, 11, 22, 21, 0, tzinfo=UTC),
        contenu=f"{ref} {objet}".encode(),
    )
    entetes = EntetesCourrier(
        expediteur=f"Jeanne Martin <{adresse}>",
        expediteur_adresse=adresse,
        objet=objet,
        message_id=message_id,
        references="<premier@exemple.example>",
    )
    numero = registre.enregistrer(element, entetes).numero
    ident = next(a.id for a in registre.a_extraire() if a.numero == numero)
    registre.consigner_extraction(ident, ResultatExtraction(texte="Bonjour…", methode="texte"))
    registre.consigner_analyse(
        ident,
        Analyse(categorie="etat_civil", service="État civil", urgence=Urgence.NORMALE),
        [Brouillon(TypeBrouillon.REPONSE, f"Re: {objet}", corps, "modele:etat_civil")],
    )
    courrier = registre.courrier(numero)
    assert courrier is not None
    return numero, courrier.brouillons[0].id


def reglages(donnees: Path, smtp_port: int, imap: Dovecot | None = None) -> Reglages:
    valeurs: dict[str, object] = {
        "donnees": donnees,
        "commune": "Saint-Aubin-sur-Loire",
        "smtp_hote": "127.0.0.1",
        "smtp_port": smtp_port,
        "smtp_securite": "aucune",
        "smtp_delai_s": 5,
        "adresse_mairie": MAIRIE,
    }
    if imap is not None:
        valeurs.update(
            imap_hote="127.0.0.1",
            imap_port=imap.port,
            imap_utilisateur="mairie",
            imap_mot_de_passe=imap.mot_de_passe,
            imap_securite="aucune",
        )
    return config.charger(_env_file=None, **valeurs)


def dans_envoyes(d: Dovecot, message_id: str) -> int:
    client = IMAPClient("127.0.0.1", port=d.port, ssl=False, timeout=10)
    try:
        client.login("mairie", d.mot_de_passe)
        dossier = "Sent"
        if not client.folder_exists(dossier):
            return 0
        client.select_folder(dossier, readonly=True)
        return len(client.search(["HEADER", "Message-ID", message_id]))
    finally:
        client.logout()


# --- Les décisions au registre ----------------------------------------------------------------


def test_chaque_decision_est_un_evenement_au_nom_de_la_secretaire(registre: Registre) -> None:
    numero, ident = deposer(registre)
    connues = charger_regles().categories
    assert (
        registre.corriger_analyse(numero, "claire", categorie="etat_civil", categories=connues)
        == {}
    )
    changes = registre.corriger_analyse(
        numero, "claire", categorie="social", service="CCAS", urgence="haute", categories=connues
    )
    assert changes == {
        "categorie": ("etat_civil", "social"),
        "service": ("État civil", "CCAS"),
        "urgence": ("normale", "haute"),
    }
    assert registre.modifier_brouillon(ident, "claire", "Re: votre demande", "Madame,\r\nVoici.")
    assert not registre.modifier_brouillon(ident, "claire", "Re: votre demande", "Madame,\nVoici.")
    ligne = registre.valider_brouillon(ident, "claire", "courriel")
    assert (ligne.statut, ligne.mode, ligne.decide_par) == ("valide", "courriel", "claire")
    assert ligne.destinataire == USAGER

    evenements = registre.evenements(numero)
    par_claire = [(e.type, details(e)) for e in evenements if e.acteur == "claire"]
    assert [t for t, _ in par_claire] == ["correction", "decision", "decision"]
    assert par_claire[0][1]["urgence"] == {"avant": "normale", "apres": "haute"}
    assert par_claire[2][1]["action"] == "valide"
    courrier = registre.courrier(numero)
    assert courrier is not None
    assert (courrier.categorie, courrier.urgence) == ("social", "haute")
    assert courrier.brouillons[0].corps == "Madame,\nVoici."
    assert registre.verifier() == []


def test_les_decisions_impossibles_sont_refusees_en_francais(registre: Registre) -> None:
    numero, ident = deposer(registre, adresse="")
    with pytest.raises(RegistreErreur, match="Catégorie inconnue"):
        registre.corriger_analyse(
            numero, "claire", categorie="n'importe quoi", categories=charger_regles().categories
        )
    with pytest.raises(RegistreErreur, match="Urgence inconnue"):
        registre.corriger_analyse(numero, "claire", urgence="extrême")
    with pytest.raises(RegistreErreur, match="pas d'adresse électronique"):
        registre.valider_brouillon(ident, "claire", "courriel")
    with pytest.raises(RegistreErreur, match="ne peut pas être vide"):
        registre.modifier_brouillon(ident, "claire", "Objet", " \x00 \n ")
    with pytest.raises(RegistreErreur, match="pourquoi"):
        registre.rejeter_brouillon(ident, "claire", "   ")
    registre.rejeter_brouillon(ident, "claire", "Réponse faite\npar téléphone")
    with pytest.raises(RegistreErreur, match=r"rejeté.*ne peut plus être validé"):
        registre.valider_brouillon(ident, "claire", "papier")
    with pytest.raises(RegistreErreur, match="n'existe pas"):
        registre.valider_brouillon(99999, "claire", "papier")
    trouve = registre.brouillon(ident)
    assert trouve is not None and trouve[1].raison == "Réponse faite par téléphone"
    assert registre.verifier() == []


def test_une_adresse_piegee_ne_devient_pas_un_destinataire(registre: Registre) -> None:
    _, ident = deposer(registre, adresse="jean@exemple.example\nBcc: tous@exemple.example")
    with pytest.raises(RegistreErreur, match="pas d'adresse électronique"):
        registre.valider_brouillon(ident, "claire", "courriel")


def test_le_message_est_une_reponse_dans_le_fil(registre: Registre, tmp_path: Path) -> None:
    numero, ident = deposer(registre, objet="Acte\r\nBcc: espion@exemple.example")
    registre.valider_brouillon(ident, "claire", "courriel", objet="", corps="Bonjour é œ €")
    trouve = registre.brouillon(ident)
    assert trouve is not None
    courrier, ligne = trouve
    moment = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    message = construire_reponse(
        courrier, ligne, reglages(tmp_path, 25), "<r1@saint-aubin.example>", moment
    )
    assert message["Subject"] == "Re: Acte Bcc: espion@exemple.example"
    assert message["Bcc"] is None
    assert message["In-Reply-To"] == ORIGINE
    assert message["References"] == f"<premier@exemple.example> {ORIGINE}"
    assert message["Date"] == "Mon, 23 Nov 2026 10:30:00 +0100"
    assert message["X-Courrier-Numero"] == numero
    assert message.get_content().strip() == "Bonjour é œ €"


# --- L'envoi ----------------------------------------------------------------------------------


def test_une_reponse_validee_part_une_fois_dans_le_fil_avec_copie_dans_envoyes(
    tmp_path: Path, smtp: ServeurSmtp, serveur_imap: Dovecot
) -> None:
    donnees = tmp_path / "donnees"
    registre = Registre.ouvrir(f"sqlite:///{donnees / 'registre.sqlite3'}", donnees)
    try:
        numero, ident = deposer(registre)
        registre.valider_brouillon(ident, "claire", "courriel")
        r = reglages(donnees, smtp.port, serveur_imap)

        bilan = envoyer_valides(registre, r)
        assert bilan.envoyes == [f"{numero} → {USAGER}"] and not bilan.echecs
        assert envoyer_valides(registre, r).rien  # relancé : rien ne repart

        assert len(smtp.boite.messages) == 1
        expediteur, destinataires, _ = smtp.boite.messages[0]
        assert (expediteur, destinataires) == (MAIRIE, [USAGER])
        recu = smtp.lus()[0]
        assert recu["In-Reply-To"] == ORIGINE
        assert recu["References"].split()[-1] == ORIGINE
        assert recu["Message-ID"].endswith("@saint-aubin.example>")
        assert recu["Date"] and recu["From"] == f"Mairie de Saint-Aubin-sur-Loire <{MAIRIE}>"
        assert dans_envoyes(serveur_imap, recu["Message-ID"]) == 1

        courrier = registre.courrier(numero)
        assert courrier is not None
        assert courrier.statut == Statut.REPONDU and courrier.repondu_le is not None
        ligne = courrier.brouillons[0]
        assert ligne.statut == StatutBrouillon.ENVOYE
        assert ligne.message_id_envoi == recu["Message-ID"]
        etapes = [
            details(e)["etape"]
            for e in registre.evenements(numero)
            if e.type == TypeEvenement.ENVOI.value
        ]
        assert etapes == ["prepare", "envoye"]
        assert registre.verifier() == []
    finally:
        registre.fermer()


def test_un_serveur_injoignable_laisse_le_brouillon_valide_avec_la_raison(
    tmp_path: Path, smtp: ServeurSmtp
) -> None:
    donnees = tmp_path / "donnees"
    registre = Registre.ouvrir(f"sqlite:///{donnees / 'registre.sqlite3'}", donnees)
    try:
        numero, ident = deposer(registre)
        registre.valider_brouillon(ident, "claire", "courriel")
        bilan = envoyer_valides(registre, reglages(donnees, port_libre()))
        assert len(bilan.echecs) == 1 and "ne répond pas" in bilan.echecs[0]
        trouve = registre.brouillon(ident)
        assert trouve is not None
        assert trouve[1].statut == StatutBrouillon.VALIDE
        assert "Le serveur SMTP 127.0.0.1" in trouve[1].raison

        smtp.boite.refus_rcpt = "550 5.1.1 boîte inconnue"  # refus définitif : rien n'est parti
        bilan = envoyer_valides(registre, reglages(donnees, smtp.port))
        assert "refuse le destinataire" in bilan.echecs[0] and not smtp.boite.messages

        smtp.boite.refus_rcpt = None  # le serveur revient : l'envoi suivant part
        bilan = envoyer_valides(registre, reglages(donnees, smtp.port))
        assert len(bilan.envoyes) == 1 and len(smtp.boite.messages) == 1
        courrier = registre.courrier(numero)
        assert courrier is not None and courrier.brouillons[0].raison == ""
        assert courrier.brouillons[0].tentatives == 3
        assert registre.verifier() == []
    finally:
        registre.fermer()


def test_un_seul_envoi_a_la_fois(tmp_path: Path) -> None:
    donnees = tmp_path / "donnees"
    registre = Registre.ouvrir(f"sqlite:///{donnees / 'registre.sqlite3'}", donnees)
    try:
        with verrou_envoi(registre, donnees), pytest.raises(EnvoiOccupe, match="en cours"):
            envoyer_valides(registre, reglages(donnees, 25), attente_s=0.5)
    finally:
        registre.fermer()


# --- Pannes entre l'acceptation SMTP et le registre --------------------------------------------


def _envoyer_dans_un_processus(r: Reglages, panne: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COURRIER_", "PREFECT_"))}
    env.update(
        PYTHONPATH=str(RACINE),
        COURRIER_DONNEES=str(r.donnees),
        COURRIER_COMMUNE=r.commune,
        COURRIER_SMTP_HOTE="127.0.0.1",
        COURRIER_SMTP_PORT=str(r.smtp_port),
        COURRIER_SMTP_SECURITE="aucune",
        COURRIER_ADRESSE_MAIRIE=MAIRIE,
    )
    if r.imap_hote:
        env.update(
            COURRIER_IMAP_HOTE="127.0.0.1",
            COURRIER_IMAP_PORT=str(r.imap_port),
            COURRIER_IMAP_UTILISATEUR="mairie",
            COURRIER_IMAP_MOT_DE_PASSE=r.imap_mot_de_passe.get_secret_value()
            if r.imap_mot_de_passe
            else "",
            COURRIER_IMAP_SECURITE="aucune",
        )
    if panne:
        env["COURRIER_PANNE"] = panne
    return subprocess.run(
        [sys.executable, "-m", "courrier", "envoyer"],
        env=env,
        cwd=r.donnees.parent,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,
    )


@pytest.mark.parametrize(
    ("panne", "avec_imap", "statut_final"),
    [
        # Tué juste après l'acceptation SMTP, avant la copie : rien dans « Envoyés » → à vérifier.
        ("apres_smtp", True, StatutBrouillon.A_VERIFIER),
        # Tué après la copie dans « Envoyés », avant le registre : retrouvé → envoyé.
        ("apres_copie_envoyes", True, StatutBrouillon.ENVOYE),
        # Sans boîte IMAP, aucun moyen de vérifier : la secrétaire tranche.
        ("apres_copie_envoyes", False, StatutBrouillon.A_VERIFIER),
        # Tué avant l'appel SMTP : rien n'est parti, mais rien ne le prouve → à vérifier.
        ("avant_smtp", True, StatutBrouillon.A_VERIFIER),
    ],
)
def test_une_panne_puis_une_relance_n_envoient_jamais_deux_fois(
    tmp_path: Path,
    smtp: ServeurSmtp,
    panne: str,
    avec_imap: bool,
    statut_final: StatutBrouillon,
) -> None:
    donnees = tmp_path / "donnees"
    registre = Registre.ouvrir(f"sqlite:///{donnees / 'registre.sqlite3'}", donnees)
    with dovecot(["mairie"]) as boite:
        try:
            numero, ident = deposer(registre)
            registre.valider_brouillon(ident, "claire", "courriel")
            r = reglages(donnees, smtp.port, boite if avec_imap else None)

            tue = _envoyer_dans_un_processus(r, f"{panne}:1")
            assert tue.returncode == -signal.SIGKILL, tue.stderr
            envoyes_avant = len(smtp.boite.messages)
            assert envoyes_avant == (0 if panne == "avant_smtp" else 1)

            relance = _envoyer_dans_un_processus(r, None)
            a_verifier = statut_final == StatutBrouillon.A_VERIFIER
            assert relance.returncode == (1 if a_verifier else 0), relance.stderr
            if a_verifier:
                assert "À vérifier" in relance.stderr and "Traceback" not in relance.stderr
            else:
                assert "retrouvé dans « Envoyés »" in relance.stdout
            assert len(smtp.boite.messages) == envoyes_avant  # rien n'est reparti

            # Une troisième passe ne change plus rien.
            troisieme = _envoyer_dans_un_processus(r, None)
            assert "Aucune réponse validée" in troisieme.stdout
            assert len(smtp.boite.messages) == envoyes_avant

            courrier = registre.courrier(numero)
            assert courrier is not None
            ligne = courrier.brouillons[0]
            assert ligne.statut == statut_final
            if a_verifier:
                assert "vérifiez" in ligne.raison
                assert courrier.statut == Statut.ANALYSE and courrier.repondu_le is None
                # La secrétaire vérifie : parti, ou à renvoyer (et alors il repart, une fois).
                if envoyes_avant:
                    registre.verification_faite(ident, "claire", parti=True)
                    assert len(smtp.boite.messages) == 1
                else:
                    registre.verification_faite(ident, "claire", parti=False)
                    assert _envoyer_dans_un_processus(r, None).returncode == 0
                    assert len(smtp.boite.messages) == 1
                courrier = registre.courrier(numero)
                assert courrier is not None and courrier.statut == Statut.REPONDU
            else:
                assert courrier.statut == Statut.REPONDU and courrier.repondu_le is not None
            assert registre.verifier() == []
        finally:
            registre.fermer()


# --- Le flow Prefect --------------------------------------------------------------------------


def test_seul_un_echec_ou_rien_n_est_parti_est_retente_par_le_flow() -> None:
    from prefect.states import Failed

    from connecteurs.smtp import ErreurSmtpPassagere
    from flows.envoi import EnvoiARetenter, envoyer_reponse

    condition = envoyer_reponse.retry_condition_fn
    assert envoyer_reponse.retries == 3 and condition is not None
    assert condition(None, None, Failed(data=EnvoiARetenter("421 plus tard")))  # type: ignore[arg-type]
    assert not condition(None, None, Failed(data=ErreurSmtpPassagere("autre")))  # type: ignore[arg-type]
    assert not condition(None, None, Failed(data=ValueError("bogue")))  # type: ignore[arg-type]


@pytest.mark.lent
def test_le_flow_envoi_envoie_les_reponses_validees(
    env_courrier: pytest.MonkeyPatch, tmp_path: Path, smtp: ServeurSmtp
) -> None:
    from prefect.testing.utilities import prefect_test_harness

    from flows.envoi import envoi

    donnees = tmp_path / "donnees"
    registre = Registre.ouvrir(f"sqlite:///{donnees / 'registre.sqlite3'}", donnees)
    try:
        numero, ident = deposer(registre)
        registre.valider_brouillon(ident, "claire", "courriel")
        for cle, valeur in {
            "COURRIER_DONNEES": str(donnees),
            "COURRIER_SMTP_HOTE": "127.0.0.1",
            "COURRIER_SMTP_PORT": str(smtp.port),
            "COURRIER_SMTP_SECURITE": "aucune",
            "COURRIER_ADRESSE_MAIRIE": MAIRIE,
        }.items():
            env_courrier.setenv(cle, valeur)
        config.reglages.cache_clear()
        with prefect_test_harness(server_startup_timeout=120):
            bilan = envoi()
            assert bilan.envoyes == [f"{numero} → {USAGER}"]
            assert envoi().rien
        assert len(smtp.boite.messages) == 1
    finally:
        registre.fermer()


def test_une_demonstration_n_ecrit_pas_a_une_adresse_reelle(
    registre: Registre, tmp_path: Path
) -> None:
    # Le dossier que crée `courrier demo` porte sa marque : là, une adresse réelle collée dans
    # un brouillon est refusée avant le serveur d'envoi ; hors démonstration, rien ne change.
    (tmp_path / MARQUE_DEMO).write_text("Dossier créé par « courrier demo ».\n", encoding="utf-8")
    demo = reglages(tmp_path / "donnees", 25)
    moment = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    reelle = "jeanne.martin@gmail.com"  # exemple de ce qu'il faut refuser : jamais envoyé
    _, ident = deposer(registre, ref="UID 8", adresse=reelle, message_id="<d-8@exemple.example>")
    registre.valider_brouillon(ident, "claire", "courriel")
    trouve = registre.brouillon(ident)
    assert trouve is not None

    with pytest.raises(ConfigurationErreur, match=r"Démonstration : .* adresse réelle"):
        construire_reponse(*trouve, demo, "<r2@saint-aubin.example>", moment)
    hors_demo = reglages(tmp_path / "ailleurs" / "donnees", 25)
    assert (
        construire_reponse(*trouve, hors_demo, "<r3@saint-aubin.example>", moment)["To"] == reelle
    )

    _, ident = deposer(registre, ref="UID 9", message_id="<d-9@exemple.example>")
    registre.valider_brouillon(ident, "claire", "courriel")
    trouve = registre.brouillon(ident)
    assert trouve is not None
    assert construire_reponse(*trouve, demo, "<r4@saint-aubin.example>", moment)["To"] == USAGER
