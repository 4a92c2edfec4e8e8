"""L'envoi des réponses validées : une fois, et une seule.

Chaque réponse suit les mêmes étapes :

1. son Message-ID et l'intention d'envoyer sont écrits au registre (brouillon « en envoi ») ;
2. le serveur SMTP reçoit le message ;
3. une copie est déposée dans le dossier « Envoyés » de la boîte IMAP (si elle est configurée) ;
4. le registre note l'envoi : brouillon « envoyé », courrier « répondu », `repondu_le`.

Une panne entre 1 et 4 laisse le brouillon « en envoi ». L'envoi suivant ne le renvoie pas à
l'aveugle : il cherche son Message-ID dans « Envoyés » (trouvé : c'est parti, on le note) ;
sinon, il le marque « à vérifier » pour la secrétaire. Un échec où le serveur n'a certainement
rien accepté remet le brouillon « validé », avec la raison, et l'envoi suivant réessaie.

Deux envois ne tournent jamais en même temps (verrou : fichier sous le dossier de données avec
SQLite, verrou consultatif avec PostgreSQL) : un brouillon « en envoi » trouvé en tenant le
verrou est donc bien un envoi interrompu, pas celui d'un voisin.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path

from sqlalchemy import text

from connecteurs.imap import BoiteEnvoyes, ErreurImap
from connecteurs.smtp import ClientSmtp, ErreurSmtp, ErreurSmtpPassagere, ParametresSmtp
from courrier.config import Reglages
from courrier.domaines_reserves import adresse_reservee, est_une_demonstration
from noyau.calendrier import PARIS
from noyau.domaine import StatutBrouillon
from noyau.erreurs import ConfigurationErreur, CourrierErreur
from noyau.fiches import FicheBrouillon, FicheCourrier
from noyau.pannes import PointDePanne, aucune
from registre.registre import Registre

CLE_VERROU_PG = 7412061  # voisin de celui des migrations (7412060)
logger = logging.getLogger(__name__)


class EnvoiOccupe(CourrierErreur):
    """Un autre envoi tourne déjà."""


@dataclass
class BilanEnvoi:
    envoyes: list[str] = field(default_factory=list)  # « 2026-00012 → jean@exemple.example »
    retrouves: list[str] = field(default_factory=list)  # envois interrompus retrouvés partis
    a_verifier: list[str] = field(default_factory=list)
    echecs: list[str] = field(default_factory=list)  # une phrase par échec
    passagers: list[int] = field(default_factory=list)  # brouillons à retenter bientôt

    @property
    def rien(self) -> bool:
        return not (self.envoyes or self.retrouves or self.a_verifier or self.echecs)


# --- Le message ------------------------------------------------------------------------------


def _une_ligne(texte: str) -> str:
    return " ".join((texte or "").split())


def objet_de_reponse(courrier: FicheCourrier, ligne: FicheBrouillon) -> str:
    objet = _une_ligne(ligne.objet)
    if objet:
        return objet[:300]
    origine = _une_ligne(courrier.objet)
    if not origine:
        return "Réponse de la mairie"
    return origine if origine.lower().startswith(("re:", "re :")) else f"Re: {origine}"[:300]


def _identifiant(valeur: str) -> str:
    """Un Message-ID d'origine utilisable dans In-Reply-To, ou rien."""
    valeur = _une_ligne(valeur)
    return valeur if valeur.startswith("<") and valeur.endswith(">") and " " not in valeur else ""


def nouveau_message_id(r: Reglages) -> str:
    expediteur = r.expediteur_mairie or ""
    domaine = expediteur.rpartition("@")[2] or "courrier.invalid"
    # Court, pour tenir sur une ligne d'en-tête sans repli (78 caractères) : certains clients
    # recopient mal un Message-ID replié dans In-Reply-To.
    return f"<{secrets.token_hex(10)}.courrier@{domaine}>"


def construire_reponse(
    courrier: FicheCourrier,
    ligne: FicheBrouillon,
    r: Reglages,
    message_id: str,
    moment: datetime,
) -> EmailMessage:
    """La réponse au courriel d'origine : même fil (In-Reply-To, References), texte brut."""
    expediteur = r.expediteur_mairie
    if not expediteur:
        raise ConfigurationErreur(
            "COURRIER_ADRESSE_MAIRIE manque : l'adresse d'où partent les réponses "
            "(par exemple mairie@commune.example)."
        )
    if not ligne.destinataire:
        raise ConfigurationErreur(f"Le brouillon du courrier {courrier.numero} n'a pas d'adresse.")
    if est_une_demonstration(r.donnees) and not adresse_reservee(ligne.destinataire):
        raise ConfigurationErreur(
            f"Démonstration : la réponse au courrier {courrier.numero} irait à "
            f"« {ligne.destinataire} », une adresse réelle ; la démonstration n'écrit qu'à des "
            "domaines réservés (.example)."
        )
    message = EmailMessage()
    message["From"] = formataddr((f"Mairie de {_une_ligne(r.commune)}", expediteur))
    message["To"] = ligne.destinataire
    message["Subject"] = objet_de_reponse(courrier, ligne)
    message["Date"] = format_datetime(moment.astimezone(PARIS))
    message["Message-ID"] = message_id
    origine = _identifiant(courrier.message_id)
    if origine:
        precedents = [m for m in _une_ligne(courrier.references).split() if _identifiant(m)]
        message["In-Reply-To"] = origine
        message["References"] = " ".join([*precedents[-10:], origine])
    message["X-Courrier-Numero"] = courrier.numero
    message.set_content(ligne.corps.rstrip() + "\n", charset="utf-8")
    return message


# --- Les serveurs ----------------------------------------------------------------------------


def parametres_smtp(r: Reglages) -> ParametresSmtp:
    if not r.smtp_hote:
        raise ConfigurationErreur(
            "COURRIER_SMTP_HOTE manque : c'est le serveur d'envoi de la mairie "
            "(par exemple smtp.commune.example)."
        )
    return ParametresSmtp(
        hote=r.smtp_hote,
        port=r.port_smtp,
        utilisateur=r.smtp_utilisateur or "",
        mot_de_passe=r.smtp_mot_de_passe.get_secret_value() if r.smtp_mot_de_passe else "",
        securite=r.smtp_securite,
        delai_s=r.smtp_delai_s,
        jeton=r.jetons_oauth() if r.smtp_auth == "oauth2" else None,
        mecanisme=r.mecanisme_oauth,
    )


def boite_envoyes(r: Reglages) -> BoiteEnvoyes | None:
    if not r.imap_configure or (r.imap_auth == "motdepasse" and r.imap_mot_de_passe is None):
        return None
    return BoiteEnvoyes(r.parametres_imap(), r.imap_dossier_envoyes)


# --- Le verrou -------------------------------------------------------------------------------


@contextlib.contextmanager
def verrou_envoi(registre: Registre, donnees: Path, attente_s: float = 0.0) -> Iterator[None]:
    """Un seul envoi à la fois (même sur plusieurs machines avec PostgreSQL).

    Le verrou tombe avec le processus qui le tient, même tué : une panne ne bloque rien.
    """
    limite = time.monotonic() + attente_s
    if registre.engine.dialect.name == "postgresql":
        with registre.engine.connect() as connexion:
            while not connexion.execute(
                text("SELECT pg_try_advisory_lock(:cle)"), {"cle": CLE_VERROU_PG}
            ).scalar_one():
                if time.monotonic() >= limite:
                    raise EnvoiOccupe("Un autre envoi des réponses est en cours.")
                time.sleep(0.5)
            connexion.commit()
            try:
                yield
            finally:
                connexion.execute(text("SELECT pg_advisory_unlock(:cle)"), {"cle": CLE_VERROU_PG})
                connexion.commit()
        return
    donnees.mkdir(parents=True, exist_ok=True)
    with (donnees / "envoi.verrou").open("a+b") as fichier:
        while True:
            try:
                fcntl.flock(fichier.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= limite:
                    raise EnvoiOccupe("Un autre envoi des réponses est en cours.") from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(fichier.fileno(), fcntl.LOCK_UN)


# --- L'envoyeur ------------------------------------------------------------------------------


class Envoyeur:
    """Envoie les brouillons validés ; à n'utiliser que sous `verrou_envoi`."""

    def __init__(
        self,
        registre: Registre,
        r: Reglages,
        smtp: ClientSmtp | None = None,
        envoyes: BoiteEnvoyes | None = None,
        panne: PointDePanne = aucune,
    ) -> None:
        self.registre = registre
        self.r = r
        self.panne = panne
        self._smtp = smtp
        self.envoyes = envoyes

    def fermer(self) -> None:
        if self.envoyes is not None:
            self.envoyes.fermer()

    @property
    def smtp(self) -> ClientSmtp:
        if self._smtp is None:
            self._smtp = ClientSmtp(parametres_smtp(self.r))
        return self._smtp

    def a_envoyer(self, idents: list[int] | None = None) -> list[int]:
        valides = self.registre.brouillons_par_statut(StatutBrouillon.VALIDE)
        return [i for i in valides if idents is None or i in idents]

    def reprendre(self, bilan: BilanEnvoi) -> None:
        """Les envois interrompus (brouillons restés « en envoi ») : retrouvés ou à vérifier."""
        for ident in self.registre.brouillons_par_statut(StatutBrouillon.EN_ENVOI):
            trouve = self.registre.brouillon(ident)
            if trouve is None:
                continue
            courrier, ligne = trouve
            if self.envoyes is not None:
                try:
                    parti = self.envoyes.contient(ligne.message_id_envoi)
                except ErreurImap as e:
                    bilan.echecs.append(
                        f"{courrier.numero} : envoi interrompu, impossible de vérifier dans "
                        f"« Envoyés » ({e}) ; nouvelle vérification au prochain envoi."
                    )
                    continue
                if parti:
                    self.registre.confirmer_envoi(ident, "retrouvé dans « Envoyés »")
                    bilan.retrouves.append(f"{courrier.numero} → {ligne.destinataire}")
                    continue
            self.registre.echec_envoi(
                ident,
                "L'envoi a été interrompu (panne) et la réponse n'est pas dans « Envoyés » : "
                "vérifiez auprès du destinataire ou dans le serveur d'envoi si elle est partie, "
                "puis dites-le ici.",
                rien_envoye=False,
            )
            bilan.a_verifier.append(f"{courrier.numero} → {ligne.destinataire}")

    def envoyer(self, ident: int, bilan: BilanEnvoi) -> None:
        message_id = nouveau_message_id(self.r)
        if not self.registre.reserver_envoi(ident, message_id):
            return  # plus à envoyer (rejeté, déjà pris)
        # Relu après la réservation : le texte ne peut plus changer (« en envoi »).
        trouve = self.registre.brouillon(ident)
        assert trouve is not None
        courrier, ligne = trouve
        moment = self.registre.horloge()
        try:
            message = construire_reponse(courrier, ligne, self.r, message_id, moment)
            self.panne("avant_smtp")
            self.smtp.envoyer(message)
        except ErreurSmtp as e:
            self.registre.echec_envoi(ident, str(e), rien_envoye=e.rien_envoye)
            if not e.rien_envoye:
                bilan.a_verifier.append(f"{courrier.numero} → {ligne.destinataire}")
            else:
                bilan.echecs.append(f"{courrier.numero} : {e}")
                if isinstance(e, ErreurSmtpPassagere):
                    bilan.passagers.append(ident)
            return
        except ConfigurationErreur as e:
            self.registre.echec_envoi(ident, str(e), rien_envoye=True)
            bilan.echecs.append(f"{courrier.numero} : {e}")
            return
        except Exception as e:
            # Une panne imprévue ne prouve pas que rien n'est parti : la secrétaire vérifie.
            logger.exception("envoi du brouillon %s", ident)
            self.registre.echec_envoi(
                ident,
                f"Erreur inattendue pendant l'envoi ({e.__class__.__name__}) : la réponse est "
                "peut-être partie ; vérifiez avant de la renvoyer.",
                rien_envoye=False,
            )
            bilan.a_verifier.append(f"{courrier.numero} → {ligne.destinataire}")
            return
        self.panne("apres_smtp")
        comment = "accepté par le serveur d'envoi"
        if self.envoyes is not None:
            try:
                self.envoyes.deposer(message.as_bytes(), moment)
                comment += ", copie dans « Envoyés »"
            except ErreurImap as e:
                comment += f" ; copie non déposée dans « Envoyés » ({e})"
        self.panne("apres_copie_envoyes")
        self.registre.confirmer_envoi(ident, comment)
        bilan.envoyes.append(f"{courrier.numero} → {ligne.destinataire}")


def envoyer_valides(
    registre: Registre,
    r: Reglages,
    idents: list[int] | None = None,
    attente_s: float = 60.0,
    panne: PointDePanne = aucune,
) -> BilanEnvoi:
    """Reprend les envois interrompus puis envoie les brouillons validés (une tentative chacun).

    Pour la page web (« Valider et envoyer ») et la commande `courrier envoyer` ; le flow
    Prefect `envoi` fait de même avec de nouvelles tentatives espacées.
    """
    bilan = BilanEnvoi()
    with verrou_envoi(registre, r.donnees, attente_s):
        envoyeur = Envoyeur(registre, r, envoyes=boite_envoyes(r), panne=panne)
        try:
            envoyeur.reprendre(bilan)
            for ident in envoyeur.a_envoyer(idents):
                envoyeur.envoyer(ident, bilan)
        finally:
            envoyeur.fermer()
    return bilan
