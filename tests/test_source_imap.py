"""La boîte IMAP, contre un vrai Dovecot lancé sur 127.0.0.1 par le test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from connecteurs.imap import ErreurImap, ErreurImapPassagere, SourceImap
from courrier.extraction import lire_entetes
from courrier.releve import relever_source
from preuves import serveurs
from registre.registre import Registre
from tests.conftest import RACINE, client_imap
from tests.outils import parametres_imap, releve_imap

ARRIVEE = datetime(2025, 11, 19, 22, 15, tzinfo=UTC)


def courriel(i: int) -> bytes:
    m = EmailMessage()
    m["From"] = f"Habitant {i} <habitant{i}@exemple.example>"
    m["To"] = "mairie@saint-aubin-sur-loire.example"
    m["Subject"] = f"Demande d'acte de naissance n°{i} — état civil"
    m["Message-ID"] = f"<acte-{i}@exemple.example>"
    m["Date"] = "Thu, 19 Nov 2026 23:15:00 +0100"
    m.set_content(f"Madame, Monsieur,\nje sollicite une copie intégrale ({i}).\n")
    return m.as_bytes()


def deposer(d: serveurs.Dovecot, n: int, dossier: str = "INBOX") -> None:
    client = client_imap(d)
    if not client.folder_exists(dossier):
        client.create_folder(dossier)
    for i in range(n):
        client.append(dossier, courriel(i), msg_time=ARRIVEE + timedelta(minutes=i))
    client.logout()


def compter(d: serveurs.Dovecot, dossier: str) -> int:
    client = client_imap(d)
    try:
        if not client.folder_exists(dossier):
            return 0
        return len(client.select_folder(dossier) and client.search(["ALL"]))
    finally:
        client.logout()


def releve_tuee(d: serveurs.Dovecot, url: str, donnees: Path, panne: str, dossier: str) -> int:
    env = {**os.environ, "COURRIER_PANNE": panne, "PYTHONPATH": str(RACINE)}
    resultat = subprocess.run(
        [sys.executable, "-m", "tests.outils", str(d.port), url, str(donnees), dossier],
        env=env,
        cwd=RACINE,
        capture_output=True,
        timeout=120,
    )
    return resultat.returncode


def test_chaque_message_est_enregistre_une_fois_puis_range_dans_traite(
    serveur_imap: serveurs.Dovecot, registre: Registre, url_base: str, tmp_path: Path
) -> None:
    deposer(serveur_imap, 5)
    releve_imap(serveur_imap.port, url_base, tmp_path / "donnees")
    courriers = registre.courriers()
    assert len(courriers) == 5
    assert {c.canal for c in courriers} == {"email"}
    assert sorted(c.recu_le for c in courriers) == [
        ARRIVEE + timedelta(minutes=i) for i in range(5)
    ]
    assert courriers[0].objet.startswith("Demande d'acte de naissance n°")
    assert compter(serveur_imap, "INBOX") == 0
    assert compter(serveur_imap, "Traité") == 5
    # les messages rangés n'ont pas été marqués lus (BODY.PEEK)
    client = client_imap(serveur_imap)
    client.select_folder("Traité")
    drapeaux = client.get_flags(client.search(["ALL"]))
    assert all(b"\\Seen" not in f for f in drapeaux.values())
    client.logout()

    # une seconde relève n'enregistre rien
    deposer(serveur_imap, 0)
    releve_imap(serveur_imap.port, url_base, tmp_path / "donnees")
    assert registre.nombre() == 5
    assert registre.verifier() == []


def test_une_releve_tuee_entre_validation_et_rangement_ne_double_rien(
    serveur_imap: serveurs.Dovecot, registre: Registre, url_base: str, tmp_path: Path
) -> None:
    deposer(serveur_imap, 5)
    code = releve_tuee(
        serveur_imap, url_base, tmp_path / "donnees", "apres_enregistrement:3", "INBOX"
    )
    assert code == -9  # SIGKILL, comme une coupure de courant
    assert registre.nombre() == 3
    assert compter(serveur_imap, "INBOX") == 3  # le 3e est enregistré mais pas rangé

    releve_imap(serveur_imap.port, url_base, tmp_path / "donnees")
    courriers = registre.courriers()
    assert len(courriers) == 5
    assert len({c.message_id for c in courriers}) == 5
    assert compter(serveur_imap, "INBOX") == 0
    assert compter(serveur_imap, "Traité") == 5
    doublons = [e for e in registre.evenements() if e.type == "doublon"]
    assert len(doublons) == 1
    assert registre.verifier() == []


def test_un_changement_d_uidvalidity_ne_double_rien(
    serveur_imap: serveurs.Dovecot, registre: Registre, url_base: str, tmp_path: Path
) -> None:
    deposer(serveur_imap, 4, "Arrivee")
    client = client_imap(serveur_imap)
    avant = client.select_folder("Arrivee")[b"UIDVALIDITY"]
    client.logout()
    code = releve_tuee(
        serveur_imap, url_base, tmp_path / "donnees", "apres_enregistrement:2", "Arrivee"
    )
    assert code == -9
    assert registre.nombre() == 2
    # La boîte est restaurée : dossier recréé, mêmes messages, nouveaux UID et UIDVALIDITY.
    client = client_imap(serveur_imap)
    client.delete_folder("Arrivee")
    client.logout()
    deposer(serveur_imap, 4, "Arrivee")
    client = client_imap(serveur_imap)
    apres = client.select_folder("Arrivee")[b"UIDVALIDITY"]
    client.logout()
    assert apres != avant

    releve_imap(serveur_imap.port, url_base, tmp_path / "donnees", "Arrivee")
    assert registre.nombre() == 4
    assert compter(serveur_imap, "Arrivee") == 0
    assert registre.verifier() == []


def test_un_mot_de_passe_refuse_est_dit_en_francais(serveur_imap: serveurs.Dovecot) -> None:
    p = parametres_imap(serveur_imap.port)
    source = SourceImap(type(p)(**{**p.__dict__, "mot_de_passe": "mauvais"}))
    with pytest.raises(ErreurImap, match="refuse l'identifiant ou le mot de passe"):
        list(source.elements())


def test_un_serveur_injoignable_est_une_panne_passagere() -> None:
    source = SourceImap(parametres_imap(serveurs.port_libre()))
    with pytest.raises(ErreurImapPassagere, match="ne répond pas"):
        list(source.elements())


def test_un_rangement_refuse_par_le_serveur_n_arrete_pas_les_autres_messages(
    serveur_imap: serveurs.Dovecot, registre: Registre
) -> None:
    """Le dossier « Traité » refuse l'écriture (droits sur le serveur, quota) : chaque message
    est enregistré une fois, reste dans la boîte, et la relève le dit en français. Avant, le
    premier refus arrêtait la source : les messages suivants n'étaient jamais enregistrés,
    nuit après nuit."""
    deposer(serveur_imap, 3)
    client = client_imap(serveur_imap)
    client.create_folder("Traité")
    client.logout()
    # Le dossier du serveur (maildir, écrit par Dovecot sous l'utilisateur nobody) en lecture
    # seule : Dovecot répond NO à chaque MOVE, la connexion tient.
    (traite,) = (serveur_imap.dossier / "home" / "mairie" / "Maildir").glob(".Trait*")
    verrouilles = [traite, *(traite / s for s in ("cur", "new", "tmp"))]
    for chemin in verrouilles:
        chemin.chmod(0o555)
    try:
        bilans = [
            relever_source(SourceImap(parametres_imap(serveur_imap.port)), registre, lire_entetes)
            for _ in range(2)
        ]
    finally:
        for chemin in verrouilles:
            chemin.chmod(0o755)
    assert [(b.nouveaux, b.doublons) for b in bilans] == [(3, 0), (0, 3)]
    for bilan in bilans:
        (erreur,) = bilan.erreurs
        assert erreur.startswith(
            "3 message(s) de « INBOX » enregistré(s) mais que le serveur a refusé de ranger "
            "dans « Traité » (UID 1, 2, 3 ; réponse du serveur : "
        ), erreur
        assert "Ils restent dans « INBOX », rien n'est perdu" in erreur
    assert registre.nombre() == 3
    assert compter(serveur_imap, "INBOX") == 3
    journal = [json.loads(e.details) for e in registre.evenements() if e.type == "erreur"]
    assert [j["raison"] for j in journal] == [b.erreurs[0] for b in bilans]
    # Le dossier accepte de nouveau : la relève suivante range tout, sans rien doubler.
    bilan = relever_source(SourceImap(parametres_imap(serveur_imap.port)), registre, lire_entetes)
    assert (bilan.nouveaux, bilan.doublons, bilan.erreurs) == (0, 3, [])
    assert (compter(serveur_imap, "INBOX"), compter(serveur_imap, "Traité")) == (0, 3)
    assert registre.verifier() == []


def test_une_autre_releve_qui_range_la_meme_boite_arrete_celle_ci_sans_fausse_alerte(
    serveur_imap: serveurs.Dovecot, registre: Registre
) -> None:
    """Deux relèves de la même boîte en même temps (déploiement sans limite) : celle qui
    trouve un message déjà rangé par l'autre (réponse EXPUNGEISSUED de Dovecot) s'arrête en
    panne passagère, reprise plus tard, au lieu de continuer à ranger les mêmes messages en
    même temps que l'autre (vu sous charge : des messages en double dans « Traité ») ; ce
    n'est pas un refus du serveur à signaler."""
    deposer(serveur_imap, 3)
    seconde = SourceImap(parametres_imap(serveur_imap.port))
    elements = seconde.elements()
    premier = next(elements)  # la seconde a lu le lot des trois messages
    bilan = relever_source(SourceImap(parametres_imap(serveur_imap.port)), registre, lire_entetes)
    assert (bilan.nouveaux, bilan.erreurs) == (3, [])
    assert not registre.enregistrer(premier, lire_entetes(premier.contenu)).nouveau
    with pytest.raises(ErreurImapPassagere, match="rangé par une autre relève de la même boîte"):
        seconde.acquitter(premier)
    seconde.fermer()
    assert seconde.incidents == []
    assert (compter(serveur_imap, "INBOX"), compter(serveur_imap, "Traité")) == (0, 3)


def _rendre_lisibles(maildir: Path, fichiers: list[Path]) -> None:
    """Dovecot déplace les messages de new/ dans cur/ en changeant la fin de leur nom."""
    bases = {f.name.split(":")[0] for f in fichiers}
    for f in [*(maildir / "new").iterdir(), *(maildir / "cur").iterdir()]:
        if f.name.split(":")[0] in bases:
            f.chmod(0o600)


def test_un_message_que_le_serveur_ne_sait_pas_lire_n_arrete_pas_la_boite(
    serveur_imap: serveurs.Dovecot, registre: Registre
) -> None:
    """Un message abîmé sur le serveur (ici : son fichier maildir illisible pour Dovecot, qui
    répond « Internal error » et coupe la connexion) faisait échouer la lecture de tout son lot,
    et la boîte s'arrêtait là, nuit après nuit. Relu message par message, le lot ne perd que
    lui : il reste dans la boîte, sans ligne au registre, et c'est dit à chaque relève."""
    deposer(serveur_imap, 5)
    maildir = serveur_imap.dossier / "home" / "mairie" / "Maildir"
    # Le deuxième déposé (UID 2), reconnu à son Message-ID.
    (abime,) = [
        f
        for f in [*(maildir / "new").iterdir(), *(maildir / "cur").iterdir()]
        if b"<acte-1@exemple.example>" in f.read_bytes()
    ]
    abime.chmod(0)
    try:
        bilans = [
            relever_source(SourceImap(parametres_imap(serveur_imap.port)), registre, lire_entetes)
            for _ in range(2)
        ]
    finally:
        _rendre_lisibles(maildir, [abime])
    assert [(b.nouveaux, b.doublons) for b in bilans] == [(4, 0), (0, 0)]
    for bilan in bilans:
        (erreur,) = bilan.erreurs
        assert erreur.startswith(
            "Le message UID 2 de « INBOX » ne se laisse pas lire par le serveur (réponse du "
            "serveur : "
        ), erreur
        assert "il reste dans la boîte, sans ligne au registre" in erreur
    assert sorted(c.message_id for c in registre.courriers()) == [
        f"<acte-{i}@exemple.example>" for i in (0, 2, 3, 4)
    ]
    assert (compter(serveur_imap, "INBOX"), compter(serveur_imap, "Traité")) == (1, 4)
    # Le message redevenu lisible est enregistré et rangé à la relève suivante.
    bilan = relever_source(SourceImap(parametres_imap(serveur_imap.port)), registre, lire_entetes)
    assert (bilan.nouveaux, bilan.erreurs) == (1, [])
    assert (compter(serveur_imap, "INBOX"), compter(serveur_imap, "Traité")) == (0, 5)
    assert registre.verifier() == []


def test_un_serveur_qui_ne_lit_plus_rien_reste_une_panne_passagere(
    serveur_imap: serveurs.Dovecot, registre: Registre
) -> None:
    """Si aucun message du lot ne se lit, même un par un, c'est le serveur : panne passagère
    (reprise), pas une liste d'incidents."""
    deposer(serveur_imap, 3)
    maildir = serveur_imap.dossier / "home" / "mairie" / "Maildir"
    fichiers = [*(maildir / "new").iterdir(), *(maildir / "cur").iterdir()]
    for f in fichiers:
        f.chmod(0)
    try:
        with pytest.raises(ErreurImapPassagere, match="Lecture impossible des messages 1 à 3"):
            relever_source(SourceImap(parametres_imap(serveur_imap.port)), registre, lire_entetes)
    finally:
        _rendre_lisibles(maildir, fichiers)
    assert registre.nombre() == 0
    assert compter(serveur_imap, "INBOX") == 3
