"""Les brouillons au registre : la file de la secrétaire et ses décisions (modifier, valider,
rejeter), puis la lettre imprimée d'une réponse papier."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from noyau.domaine import Statut, StatutBrouillon, TypeEvenement
from noyau.erreurs import RegistreErreur
from noyau.fiches import FicheBrouillon, FicheCourrier
from registre.fiches import fiche_brouillon, fiche_courrier
from registre.scellement import CHARGER_TOUT
from registre.socle import SocleRegistre
from registre.tables import BrouillonLigne, Courrier
from registre.textes import (
    LIBELLES_STATUT_BROUILLON,
    objet_brouillon,
    texte_brouillon,
    texte_stockable,
)

# Une réponse non remise se corrige comme un brouillon : autre texte, autre mode (papier).
MODIFIABLES = {StatutBrouillon.A_VALIDER, StatutBrouillon.VALIDE, StatutBrouillon.NON_REMIS}


class RegistreBrouillons(SocleRegistre):
    def brouillons_a_valider(self) -> list[tuple[FicheCourrier, FicheBrouillon]]:
        """Ce qui attend la secrétaire : les brouillons à valider et les réponses non remises."""
        attente = [StatutBrouillon.A_VALIDER.value, StatutBrouillon.NON_REMIS.value]
        with Session(self.engine) as session:
            lignes = session.execute(
                select(Courrier, BrouillonLigne)
                .join(BrouillonLigne, BrouillonLigne.courrier_id == Courrier.id)
                .where(BrouillonLigne.statut.in_(attente))
                # Les pièces : leurs pages OCR sous le seuil signalent le courrier dans la file.
                .options(*CHARGER_TOUT)
                .order_by(Courrier.annee, Courrier.rang, BrouillonLigne.rang)
            ).all()
            # Une fiche par courrier, même s'il a plusieurs brouillons dans la file.
            fiches: dict[int, FicheCourrier] = {}
            return [
                (fiches.setdefault(c.id, fiche_courrier(c)), fiche_brouillon(b)) for c, b in lignes
            ]

    def brouillon(self, ident: int) -> tuple[FicheCourrier, FicheBrouillon] | None:
        with Session(self.engine) as session:
            ligne = session.get(BrouillonLigne, ident)
            if ligne is None:
                return None
            courrier = session.get_one(Courrier, ligne.courrier_id, options=CHARGER_TOUT)
            return fiche_courrier(courrier), fiche_brouillon(ligne)

    def modifier_brouillon(self, ident: int, acteur: str, objet: str, corps: str) -> bool:
        """Enregistre le texte corrigé d'un brouillon encore modifiable ; faux si rien ne change."""
        with self.sur_brouillon(ident) as (_courrier, ligne, noter):
            exiger(ligne, MODIFIABLES, "modifié")
            objet, corps = objet_brouillon(objet), texte_brouillon(corps)
            if not corps:
                raise RegistreErreur("Le texte du brouillon ne peut pas être vide.")
            if (objet, corps) == (ligne.objet, ligne.corps):
                return False
            garder_original(ligne, corps)
            ligne.objet, ligne.corps = objet, corps
            noter(TypeEvenement.DECISION, acteur, {"action": "modifie", "caracteres": len(corps)})
            return True

    def valider_brouillon(
        self,
        ident: int,
        acteur: str,
        mode: str,
        objet: str | None = None,
        corps: str | None = None,
    ) -> FicheBrouillon:
        """Valide un brouillon (avec son dernier texte) pour un envoi par courriel ou sur papier.

        Par courriel, il faut une adresse électronique ; l'envoi lui-même se fait ensuite
        (flow `envoi`). Sur papier, la lettre PDF est produite puis consignée (`consigner_lettre`).
        """
        if mode not in ("courriel", "papier"):
            raise RegistreErreur(f"Mode de réponse inconnu : « {mode} ».")
        with self.sur_brouillon(ident) as (courrier, ligne, noter):
            exiger(ligne, MODIFIABLES, "validé")
            if objet is not None:
                ligne.objet = objet_brouillon(objet)
            if corps is not None:
                garder_original(ligne, corps := texte_brouillon(corps))
                ligne.corps = corps
            if not ligne.corps:
                raise RegistreErreur("Le texte du brouillon ne peut pas être vide.")
            if mode == "courriel":
                adresse = adresse_de_reponse(courrier, ligne)
                if not adresse:
                    raise RegistreErreur(
                        "Ce courrier n'a pas d'adresse électronique où répondre : "
                        "choisissez la réponse papier."
                    )
                ligne.destinataire = adresse
            ligne.mode = mode
            ligne.statut = StatutBrouillon.VALIDE.value
            decide(ligne, acteur, self.horloge())
            ligne.raison = ""
            noter(TypeEvenement.DECISION, acteur, {"action": "valide", "mode": mode})
            return fiche_brouillon(ligne)

    def rejeter_brouillon(self, ident: int, acteur: str, raison: str) -> None:
        raison = " ".join(texte_stockable(raison).split())[:500]
        if not raison:
            raise RegistreErreur("Dites pourquoi le brouillon est rejeté.")
        with self.sur_brouillon(ident) as (_courrier, ligne, noter):
            exiger(
                ligne,
                {*MODIFIABLES, StatutBrouillon.A_VERIFIER},
                "rejeté",
            )
            ligne.statut = StatutBrouillon.REJETE.value
            ligne.raison = raison
            decide(ligne, acteur, self.horloge())
            noter(TypeEvenement.DECISION, acteur, {"action": "rejete", "raison": raison})

    def consigner_lettre(self, ident: int, acteur: str, pdf: bytes) -> str:
        """Garde la lettre PDF d'une réponse papier validée dans l'archive ; rend son empreinte."""
        empreinte = self.archive.deposer(pdf)
        with self.sur_brouillon(ident) as (courrier, ligne, noter):
            exiger(ligne, {StatutBrouillon.VALIDE, StatutBrouillon.PAPIER}, "imprimé")
            if ligne.mode != "papier":
                raise RegistreErreur("Ce brouillon a été validé pour un envoi par courriel.")
            moment = self.horloge()
            ligne.statut = StatutBrouillon.PAPIER.value
            ligne.lettre_empreinte = empreinte
            ligne.envoye_le = ligne.envoye_le or moment
            repondu(courrier, moment)
            noter(
                TypeEvenement.ENVOI,
                acteur,
                {"etape": "lettre", "empreinte": empreinte, "taille": len(pdf)},
            )
        return empreinte


def adresse_de_reponse(
    courrier: Courrier | FicheCourrier, ligne: BrouillonLigne | FicheBrouillon
) -> str:
    """L'adresse électronique où répondre : celle du brouillon, sinon celle de l'expéditeur."""
    for candidat in (ligne.destinataire, courrier.expediteur_adresse):
        candidat = (candidat or "").strip()
        if "@" in candidat and "\n" not in candidat and " " not in candidat:
            return candidat
    return ""


def decide(ligne: BrouillonLigne, acteur: str, moment: datetime) -> None:
    ligne.decide_par = texte_stockable(acteur)[:128]
    ligne.decide_le = moment


def repondu(courrier: Courrier, moment: datetime) -> None:
    """Une réponse est partie (ou imprimée) : la première date compte."""
    courrier.repondu_le = courrier.repondu_le or moment
    courrier.statut = Statut.REPONDU.value


def garder_original(ligne: BrouillonLigne, corps: str) -> None:
    """Le texte préparé est gardé à la première modification, jamais remplacé ensuite."""
    if corps != ligne.corps and not ligne.corps_original:
        ligne.corps_original = ligne.corps


def exiger(ligne: BrouillonLigne, permis: set[StatutBrouillon], action: str) -> None:
    if ligne.statut not in {s.value for s in permis}:
        etat = LIBELLES_STATUT_BROUILLON.get(StatutBrouillon(ligne.statut), ligne.statut)
        raise RegistreErreur(
            f"Le brouillon n°{ligne.id} est « {etat} » : il ne peut plus être {action}."
        )
