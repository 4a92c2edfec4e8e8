"""Les envois au registre : chaque réponse et chaque digest du maire est réservé avant l'appel
SMTP, puis confirmé ou annulé ; une relance ne renvoie jamais ce qui est parti."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from noyau.domaine import StatutBrouillon, TypeEvenement
from noyau.fiches import FicheEnvoiDigest
from registre.brouillons import exiger, repondu
from registre.fiches import fiche_envoi_digest
from registre.socle import ACTEUR_ENVOI, SocleRegistre
from registre.tables import BrouillonLigne, EnvoiDigest
from registre.textes import texte_stockable


class RegistreEnvois(SocleRegistre):
    # --- Envoi des réponses ----------------------------------------------------------------

    def brouillons_par_statut(self, *statuts: StatutBrouillon) -> list[int]:
        with Session(self.engine) as session:
            return list(
                session.execute(
                    select(BrouillonLigne.id)
                    .where(BrouillonLigne.statut.in_([s.value for s in statuts]))
                    .order_by(BrouillonLigne.id)
                ).scalars()
            )

    def reserver_envoi(self, ident: int, message_id: str) -> bool:
        """Écrit le Message-ID et l'intention d'envoyer, AVANT l'appel SMTP.

        Faux si le brouillon n'est plus à envoyer (déjà pris par un autre envoi, rejeté…).
        """
        with self.sur_brouillon(ident) as (_courrier, ligne, noter):
            if ligne.statut != StatutBrouillon.VALIDE.value or ligne.mode != "courriel":
                return False
            ligne.statut = StatutBrouillon.EN_ENVOI.value
            ligne.message_id_envoi = message_id
            ligne.tentatives = (ligne.tentatives or 0) + 1
            noter(
                TypeEvenement.ENVOI,
                ACTEUR_ENVOI,
                {"etape": "prepare", "message_id": message_id, "tentative": ligne.tentatives},
            )
            return True

    def confirmer_envoi(self, ident: int, comment: str, acteur: str = ACTEUR_ENVOI) -> None:
        """Le serveur a accepté la réponse (ou elle est retrouvée dans « Envoyés »)."""
        with self.sur_brouillon(ident) as (courrier, ligne, noter):
            if ligne.statut == StatutBrouillon.ENVOYE.value:
                return
            exiger(ligne, {StatutBrouillon.EN_ENVOI, StatutBrouillon.A_VERIFIER}, "confirmé")
            moment = self.horloge()
            ligne.statut = StatutBrouillon.ENVOYE.value
            ligne.envoye_le = moment
            ligne.raison = ""
            repondu(courrier, moment)
            noter(
                TypeEvenement.ENVOI,
                acteur,
                {"etape": "envoye", "message_id": ligne.message_id_envoi, "comment": comment},
            )

    def echec_envoi(self, ident: int, raison: str, rien_envoye: bool) -> None:
        """L'envoi a échoué. Rien n'est parti : le brouillon redevient « validé » et le prochain
        envoi réessaiera. Un doute (coupure pendant l'envoi) : la secrétaire doit vérifier."""
        raison = " ".join(texte_stockable(raison).split())[:500]
        with self.sur_brouillon(ident) as (_courrier, ligne, noter):
            if ligne.statut != StatutBrouillon.EN_ENVOI.value:
                return
            ligne.raison = raison
            if rien_envoye:
                ligne.statut = StatutBrouillon.VALIDE.value
                etape = "echec"
            else:
                ligne.statut = StatutBrouillon.A_VERIFIER.value
                etape = "a_verifier"
            noter(
                TypeEvenement.ENVOI,
                ACTEUR_ENVOI,
                {"etape": etape, "raison": raison, "message_id": ligne.message_id_envoi},
            )

    def verification_faite(self, ident: int, acteur: str, parti: bool) -> None:
        """La secrétaire a vérifié un envoi douteux : parti (rien à faire) ou à renvoyer."""
        if parti:
            self.confirmer_envoi(ident, "vérifié par la secrétaire", acteur=acteur)
            return
        with self.sur_brouillon(ident) as (_courrier, ligne, noter):
            exiger(ligne, {StatutBrouillon.A_VERIFIER}, "renvoyé")
            ligne.statut = StatutBrouillon.VALIDE.value
            ligne.raison = ""
            noter(TypeEvenement.DECISION, acteur, {"action": "a_renvoyer"})

    # --- Digest du maire -------------------------------------------------------------------

    def reserver_digest(self, jour: date, destinataires: str, message_id: str) -> bool:
        """Écrit l'intention d'envoyer le digest du jour ; faux s'il est déjà réservé ou envoyé.

        Appelée avant l'appel SMTP : une relance du flow, même après une panne entre l'envoi
        et sa confirmation, ne renvoie jamais le même jour.
        """
        with self.transaction() as unite:
            session = unite.session
            if session.get(EnvoiDigest, jour) is not None:
                return False
            session.add(
                EnvoiDigest(
                    jour=jour,
                    destinataires=texte_stockable(destinataires),
                    message_id=message_id,
                    statut="prepare",
                    prepare_le=self.horloge(),
                )
            )
            unite.evenement(
                TypeEvenement.DIGEST,
                "digest",
                {"jour": jour, "etape": "prepare", "message_id": message_id},
            )
            return True

    def confirmer_digest(self, jour: date) -> None:
        with self.transaction() as unite:
            session = unite.session
            envoi = session.get_one(EnvoiDigest, jour)
            envoi.statut = "envoye"
            envoi.envoye_le = self.horloge()
            unite.evenement(
                TypeEvenement.DIGEST,
                "digest",
                {"jour": jour, "etape": "envoye", "message_id": envoi.message_id},
            )

    def annuler_digest(self, jour: date, raison: str) -> None:
        """L'envoi a échoué avant toute acceptation par le serveur : la relance pourra renvoyer."""
        with self.transaction() as unite:
            session = unite.session
            envoi = session.get(EnvoiDigest, jour)
            if envoi is None or envoi.statut == "envoye":
                return
            session.delete(envoi)
            unite.evenement(
                TypeEvenement.ERREUR,
                "digest",
                {"jour": jour, "etape": "annule", "raison": texte_stockable(raison)[:300]},
            )

    def envoi_digest(self, jour: date) -> FicheEnvoiDigest | None:
        with Session(self.engine) as session:
            envoi = session.get(EnvoiDigest, jour)
            return None if envoi is None else fiche_envoi_digest(envoi)
