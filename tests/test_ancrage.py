"""L'ancrage du journal hors de la base (RFC 3161), contre une vraie autorité d'horodatage locale
(`openssl ts -reply` derrière HTTP, tests/autorite_horodatage.py) et le vrai client.

Le cas qui justifie l'ancre : quelqu'un qui a la main sur la base modifie un événement puis
recalcule toute la chaîne ; la vérification interne ne voit rien, l'ancre le voit.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from connecteurs.horodatage import ClientHorodatage, ErreurHorodatage, charger_racines
from courrier.publication import publier_digest
from noyau.domaine import Canal, ElementRecu, TypeEvenement
from noyau.sceaux import ORIGINE, empreinte_evenement
from preuves.serveurs import ServeurSmtp
from registre.ancrage import ancrer, verifier_ancres
from registre.registre import Registre
from registre.tables import Evenement, TeteJournal
from tests.autorite_horodatage import Autorite, autorite_horodatage
from tests.conftest import lancer
from tests.test_digest import (  # noqa: F401 - fixtures partagées
    JOUR,
    _partie,
    donnees,
    envoyeur,
    horloge,
    registre_garni,
    reglages_de_test,
    smtp,
)


@pytest.fixture(scope="module")
def autorite() -> Iterator[Autorite]:
    with autorite_horodatage() as a:
        yield a


def _garnir(registre: Registre, n: int = 3) -> None:
    for i in range(n):
        registre.enregistrer(
            ElementRecu(
                source="depot_eml",
                canal=Canal.DEPOT,
                reference=f"{i}.eml",
                recu_le=datetime(2026, 11, 20, 9, 30, tzinfo=UTC),
                contenu=f"lettre {i}".encode(),
            ),
            None,
        )


def _reecrire_la_chaine(registre: Registre) -> None:
    """Le faussaire : change les détails du premier événement et recalcule toute la chaîne."""
    with Session(registre.engine) as session, session.begin():
        precedent = ORIGINE
        for ev in session.execute(select(Evenement).order_by(Evenement.id)).scalars():
            if ev.id == 1:
                assert ev.details.endswith("}")
                ev.details = ev.details[:-1] + ',"retouche":"après coup"}'
            ev.precedent = precedent
            ev.empreinte = empreinte_evenement(
                precedent=precedent,
                ident=ev.id,
                numero=ev.numero,
                type_=ev.type,
                horodatage=ev.horodatage,
                acteur=ev.acteur,
                details=ev.details,
                etat=ev.etat,
            )
            precedent = ev.empreinte
        session.get_one(TeteJournal, 1).empreinte = precedent


def test_l_ancre_horodatee_prouve_la_chaine_jusqu_a_son_evenement(
    registre: Registre, autorite: Autorite
) -> None:
    _garnir(registre)
    dernier, empreinte = registre.tete()
    fait = ancrer(registre, ClientHorodatage(autorite.url).horodater, autorite.url)
    assert (fait.evenement, fait.empreinte) == (dernier, empreinte)
    assert fait.empreinte in fait.phrase() and "horodatée le" in fait.phrase()
    # L'ancrage est lui-même un événement du journal, qui reste intact.
    assert registre.evenements()[-1].type == TypeEvenement.ANCRAGE.value
    assert registre.verifier() == []

    bilan = verifier_ancres(registre, charger_racines(autorite.racine))
    assert bilan.anomalies == [] and bilan.ancres == 1
    assert bilan.prouvee is not None and bilan.prouvee.evenement == dernier
    assert not bilan.signatures_non_verifiees


def test_une_chaine_recalculee_passe_la_verification_interne_mais_pas_l_ancre(
    registre: Registre, autorite: Autorite
) -> None:
    _garnir(registre)
    ancrer(registre, ClientHorodatage(autorite.url).horodater, autorite.url)
    _reecrire_la_chaine(registre)
    assert registre.verifier() == []  # cohérente : c'est tout le problème
    bilan = verifier_ancres(registre, charger_racines(autorite.racine))
    assert bilan.prouvee is None
    (anomalie,) = bilan.anomalies
    assert "ne correspond plus au journal" in anomalie and "chaîne réécrite" in anomalie


def test_un_jeton_signe_par_une_autre_autorite_est_refuse(
    registre: Registre, autorite: Autorite
) -> None:
    _garnir(registre)
    with autorite_horodatage("Autre autorite") as autre:
        ancrer(registre, ClientHorodatage(autre.url).horodater, autre.url)
    bilan = verifier_ancres(registre, charger_racines(autorite.racine))
    assert bilan.prouvee is None
    assert "signature du jeton d'horodatage ne tient pas" in bilan.anomalies[0]
    # Sans certificat fourni, le jeton se lit mais sa signature n'est pas jugée : c'est dit.
    sans = verifier_ancres(registre, None)
    assert sans.prouvee is not None and sans.signatures_non_verifiees


def test_un_service_en_panne_est_une_erreur_francaise_et_rien_n_est_ecrit(
    registre: Registre, autorite: Autorite
) -> None:
    _garnir(registre)
    avant = len(registre.evenements())
    autorite.refuser = True
    try:
        with pytest.raises(ErreurHorodatage, match="a répondu 503"):
            ancrer(registre, ClientHorodatage(autorite.url).horodater, autorite.url)
    finally:
        autorite.refuser = False
    with pytest.raises(ErreurHorodatage, match="ne répond pas"):
        ClientHorodatage("http://127.0.0.1:9/tsa", delai_s=2).horodater(b"x")
    assert len(registre.evenements()) == avant
    assert verifier_ancres(registre).ancres == 0


def test_le_digest_imprime_l_empreinte_horodatee_ou_dit_pourquoi_elle_ne_l_est_pas(
    registre_garni: tuple[Registre, object],  # noqa: F811
    smtp: ServeurSmtp,  # noqa: F811
    autorite: Autorite,
) -> None:
    registre, _ = registre_garni
    r = reglages_de_test(smtp).model_copy(update={"horodatage_url": autorite.url})
    jetons = len(autorite.jetons)
    assert publier_digest(registre, r, JOUR, envoyeur(smtp.parametres())).statut == "envoye"
    assert len(autorite.jetons) == jetons + 1
    (message,) = smtp.lus()
    texte = _partie(message, "text/plain").get_content()
    bilan = verifier_ancres(registre, charger_racines(autorite.racine))
    assert bilan.prouvee is not None
    assert "PREUVE DU REGISTRE" in texte and bilan.prouvee.empreinte in texte
    assert bilan.prouvee.empreinte in _partie(message, "text/html").get_content()
    # Relancé le même jour : pas de second digest, donc pas de seconde ancre.
    assert publier_digest(registre, r, JOUR, envoyeur(smtp.parametres())).statut != "envoye"
    assert len(autorite.jetons) == jetons + 1


def test_un_service_d_horodatage_en_panne_n_empeche_pas_le_digest(
    registre_garni: tuple[Registre, object],  # noqa: F811
    smtp: ServeurSmtp,  # noqa: F811
    autorite: Autorite,
) -> None:
    registre, _ = registre_garni
    r = reglages_de_test(smtp).model_copy(update={"horodatage_url": autorite.url})
    autorite.refuser = True
    try:
        assert publier_digest(registre, r, JOUR, envoyeur(smtp.parametres())).statut == "envoye"
    finally:
        autorite.refuser = False
    texte = _partie(smtp.lus()[0], "text/plain").get_content()
    assert "Horodatage du registre impossible ce matin" in texte and "503" in texte
    dernier = [e for e in registre.evenements() if e.type == TypeEvenement.ERREUR.value][-1]
    assert '"etape":"ancrage"' in dernier.details


def test_la_commande_ancre_puis_verifier_dit_jusqu_a_quand_la_chaine_est_prouvee(
    demo_copie: tuple[Path, dict[str, str], Path],
    tmp_path: Path,
    autorite: Autorite,
) -> None:
    tmp, env, copie = demo_copie
    sans = lancer("registre", "verifier", env=env, cwd=tmp)
    assert sans.returncode == 0 and "Aucune ancre horodatée" in sans.stdout
    env |= {"COURRIER_HORODATAGE_URL": autorite.url}
    fait = lancer("registre", "ancrer", env=env, cwd=tmp)
    assert fait.returncode == 0, fait.stderr
    assert "horodatée le" in " ".join(fait.stdout.split())
    env |= {"COURRIER_HORODATAGE_CERTIFICATS": str(autorite.racine)}
    ok = lancer("registre", "verifier", env=env, cwd=tmp)
    assert ok.returncode == 0, ok.stderr
    sortie = " ".join(ok.stdout.split())
    assert "Registre intact" in sortie and "Chaîne prouvée jusqu'au" in sortie
    assert "Signatures non vérifiées" not in sortie

    registre = Registre.ouvrir(f"sqlite:///{copie / 'registre.sqlite3'}", copie)
    try:
        _reecrire_la_chaine(registre)
    finally:
        registre.fermer()
    ko = lancer("registre", "verifier", env=env, cwd=tmp)
    assert ko.returncode == 1
    assert "ne correspond plus au journal" in " ".join(ko.stderr.split())
