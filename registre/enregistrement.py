"""Enregistrer ce qui arrive, puis consigner ce que la lecture en a tiré.

Le numéro chrono, la ligne, ses clés d'identité et ses événements sont validés dans la même
unité de travail : aucun trou, aucun doublon, même à plusieurs relèves en même temps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from noyau.calendrier import PARIS, heure_de_paris
from noyau.domaine import (
    ElementRecu,
    EntetesCourrier,
    MessageAutomatique,
    NatureAutomatique,
    ResultatExtraction,
    Statut,
    StatutBrouillon,
    TypeEvenement,
)
from noyau.pages_ocr import pages_en_json
from registre.lots import deposer_lot, details_lot, inscrire_lot
from registre.retours import STATUTS_PARTIS, brouillon_concerne, raison_non_remis
from registre.scellement import CHARGER_TOUT
from registre.socle import ACTEUR_RELEVE, SocleRegistre
from registre.tables import Compteur, Courrier, Identite, Piece
from registre.textes import arrondi, formater_numero, texte_stockable
from registre.unite import UniteDeTravail


@dataclass(frozen=True)
class Enregistrement:
    numero: str
    nouveau: bool  # False : déjà au registre (doublon reconnu), rien n'a été ajouté


@dataclass(frozen=True)
class AExtraire:
    id: int
    numero: str
    canal: str
    empreinte: str
    nom_fichier: str


def _recu_le(element: ElementRecu, enregistre_le: datetime) -> tuple[datetime, str]:
    """La date de réception : celle de la source, jamais postérieure à l'enregistrement (une
    horloge de serveur de courriel ou de copieur en avance fausserait les délais légaux)."""
    remarques = [element.remarque] if element.remarque else []
    if element.recu_le <= enregistre_le:
        return element.recu_le, " ".join(remarques)
    remarques.append(
        f"La source le dit reçu le {heure_de_paris(element.recu_le)}, après son enregistrement "
        "(horloge de la source en avance ?) : l'heure d'enregistrement est retenue."
    )
    return enregistre_le, " ".join(remarques)


class RegistreEnregistrement(SocleRegistre):
    def enregistrer(
        self, element: ElementRecu, entetes: EntetesCourrier | None, acteur: str = ACTEUR_RELEVE
    ) -> Enregistrement:
        """Archive les octets puis enregistre l'élément, ou reconnaît un doublon.

        Les octets sont dans l'archive avant que la ligne ne soit validée ; la source ne doit
        être touchée (déplacement IMAP, fichier rangé) qu'après le retour de cette méthode.
        """
        empreinte = self.archive.deposer(element.contenu)
        deposer_lot(self.archive, element)
        self.panne("apres_archive")
        entetes = entetes or EntetesCourrier()
        cles = list(dict.fromkeys([*element.cles, f"sha256:{empreinte}"]))
        with self.transaction() as unite:
            session = unite.session
            connues = (
                session.execute(select(Identite).where(Identite.cle.in_(cles))).scalars().all()
            )
            if connues:
                existant = session.get_one(Courrier, connues[0].courrier_id)
                nouvelles = set(cles) - {i.cle for i in connues}
                for cle in sorted(nouvelles):
                    session.add(Identite(cle=cle, courrier_id=existant.id))
                unite.evenement(
                    TypeEvenement.DOUBLON,
                    acteur,
                    {
                        "source": element.source,
                        "reference": element.reference,
                        "empreinte": empreinte,
                        "cles": sorted(nouvelles),
                    },
                    courrier=existant,
                )
                return Enregistrement(existant.numero, nouveau=False)

            enregistre_le = self.horloge()
            recu_le, remarque = _recu_le(element, enregistre_le)
            annee = enregistre_le.astimezone(PARIS).year
            compteur = session.execute(
                select(Compteur).where(Compteur.annee == annee).with_for_update()
            ).scalar_one_or_none()
            if compteur is None:
                compteur = Compteur(annee=annee, dernier=0)
                session.add(compteur)
            compteur.dernier += 1
            courrier = Courrier(
                numero=formater_numero(annee, compteur.dernier),
                annee=annee,
                rang=compteur.dernier,
                canal=element.canal.value,
                source=element.source,
                reference=texte_stockable(element.reference),
                recu_le=recu_le,
                enregistre_le=enregistre_le,
                expediteur=texte_stockable(entetes.expediteur),
                expediteur_adresse=texte_stockable(entetes.expediteur_adresse),
                destinataires=texte_stockable(entetes.destinataires),
                objet=texte_stockable(entetes.objet),
                message_id=texte_stockable(entetes.message_id),
                in_reply_to=texte_stockable(entetes.in_reply_to),
                references=texte_stockable(entetes.references),
                date_entete=entetes.date,
                nom_fichier=texte_stockable(element.nom_fichier),
                empreinte=empreinte,
                taille=len(element.contenu),
                statut=Statut.ENREGISTRE.value,
                erreur="",
                texte="",
                methode_extraction="",
                confiance_ocr=None,
                pages=None,
                extrait_le=None,
                # Un courrier neuf n'a ni pièce ni brouillon : dit ici, son sceau ne les
                # redemande pas à la base (deux requêtes de moins par courrier enregistré).
                pieces=[],
                brouillons=[],
            )
            session.add(courrier)
            session.flush()
            for cle in cles:
                session.add(Identite(cle=cle, courrier_id=courrier.id))
            inscrire_lot(session, courrier.id, element)
            unite.evenement(
                TypeEvenement.RECU,
                acteur,
                {
                    "source": element.source,
                    "reference": courrier.reference,
                    "recu_le": recu_le,
                    "empreinte": empreinte,
                    "taille": courrier.taille,
                    **details_lot(element),
                    **(
                        {"date_de_la_source": element.recu_le} if recu_le != element.recu_le else {}
                    ),
                    **({"remarque": remarque} if remarque else {}),
                },
                courrier=courrier,
            )
            unite.sceller(
                TypeEvenement.ENREGISTRE,
                acteur,
                {"numero": courrier.numero},
                courrier,
            )
            session.flush()
            self.panne("avant_validation")
            return Enregistrement(courrier.numero, nouveau=True)

    def evenement_general(
        self,
        type_: TypeEvenement,
        acteur: str,
        details: dict[str, Any],
        avec: Callable[[Session], None] | None = None,
    ) -> None:
        """Un événement qui ne concerne aucun courrier (une source en panne, un compte créé).

        `avec` écrit dans la même transaction ce que l'événement raconte (le compte lui-même) :
        les deux sont validés ensemble, ou rien.
        """
        with self.transaction() as unite:
            session = unite.session
            if avec is not None:
                avec(session)
                session.flush()
            unite.evenement(type_, acteur, details)

    def a_extraire(self) -> list[AExtraire]:
        with Session(self.engine) as session:
            lignes = session.execute(
                select(
                    Courrier.id,
                    Courrier.numero,
                    Courrier.canal,
                    Courrier.empreinte,
                    Courrier.nom_fichier,
                )
                .where(Courrier.statut == Statut.ENREGISTRE.value)
                .order_by(Courrier.id)
            ).all()
        return [AExtraire(*ligne) for ligne in lignes]

    def consigner_extraction(
        self, ident: int, resultat: ResultatExtraction, acteur: str = ACTEUR_RELEVE
    ) -> str:
        """Écrit le texte lu et les pièces ; rend le statut final."""
        with self.transaction() as unite:
            session = unite.session
            courrier = session.get_one(Courrier, ident, options=CHARGER_TOUT)
            if courrier.statut != Statut.ENREGISTRE.value:
                return courrier.statut  # une autre relève l'a déjà fait
            statut = Statut.ERREUR if resultat.echec else Statut.EXTRAIT
            courrier.texte = texte_stockable(resultat.texte)
            courrier.methode_extraction = resultat.methode
            courrier.confiance_ocr = arrondi(resultat.confiance_ocr)
            courrier.pages = resultat.pages
            courrier.pages_ocr = pages_en_json(resultat.pages_ocr)
            courrier.erreur = texte_stockable(" ".join(resultat.erreurs))
            courrier.statut = statut.value
            courrier.extrait_le = self.horloge()
            if resultat.automatique is not None:
                courrier.automatique = resultat.automatique.nature.value
                if resultat.automatique.nature == NatureAutomatique.NON_REMISE:
                    self._rattacher_avis(unite, courrier, resultat.automatique, acteur)
            for piece in resultat.pieces:
                courrier.pieces.append(
                    Piece(
                        rang=piece.rang,
                        nom=texte_stockable(piece.nom),
                        type_mime=texte_stockable(piece.type_mime),
                        taille=piece.taille,
                        empreinte=piece.empreinte,
                        texte=texte_stockable(piece.texte),
                        methode=piece.methode,
                        confiance_ocr=arrondi(piece.confiance_ocr),
                        pages=piece.pages,
                        pages_ocr=pages_en_json(piece.pages_ocr),
                        erreur=texte_stockable(piece.erreur or ""),
                        en_ligne=piece.en_ligne,
                    )
                )
            type_ = TypeEvenement.ERREUR if resultat.echec else TypeEvenement.EXTRAIT
            unite.sceller(
                type_,
                acteur,
                {
                    "methode": resultat.methode,
                    "pieces": len(resultat.pieces),
                    "caracteres": len(courrier.texte),
                    "raisons": len(resultat.erreurs),
                },
                courrier,
            )
            return statut.value

    def consigner_erreur(self, ident: int, raison: str, acteur: str = ACTEUR_RELEVE) -> None:
        """Une étape a échoué pour ce courrier : il garde ses octets et dit pourquoi."""
        with self.transaction() as unite:
            session = unite.session
            courrier = session.get_one(Courrier, ident, options=CHARGER_TOUT)
            courrier.statut = Statut.ERREUR.value
            courrier.erreur = texte_stockable(raison)
            courrier.extrait_le = self.horloge()
            unite.sceller(
                TypeEvenement.ERREUR,
                acteur,
                {"etape": "extraction"},
                courrier,
            )

    def _rattacher_avis(
        self,
        unite: UniteDeTravail,
        avis_courrier: Courrier,
        avis: MessageAutomatique,
        acteur: str,
    ) -> None:
        """Un avis de non-remise : la réponse qu'il concerne repasse « à vérifier », dans la
        même transaction que l'avis lui-même (rien n'est perdu si la relève tombe)."""
        session = unite.session
        ligne = brouillon_concerne(session, avis)
        if ligne is None or not avis.remise_echouee:
            return
        cible = session.get_one(Courrier, ligne.courrier_id, options=CHARGER_TOUT)
        avis_courrier.retour_de = cible.numero
        if ligne.statut not in STATUTS_PARTIS:
            return  # déjà rejetée, renvoyée, ou signalée par un premier avis
        ligne.statut = StatutBrouillon.NON_REMIS.value
        ligne.raison = texte_stockable(
            raison_non_remis(avis, ligne.destinataire, avis_courrier.numero)
        )
        if cible.statut == Statut.REPONDU.value and not any(
            b.statut in (StatutBrouillon.ENVOYE.value, StatutBrouillon.PAPIER.value)
            for b in cible.brouillons
        ):
            # Plus aucune réponse n'est arrivée : le courrier n'est plus « répondu ».
            cible.statut = Statut.ANALYSE.value
            cible.repondu_le = None
        unite.sceller(
            TypeEvenement.ENVOI,
            acteur,
            {
                "brouillon": ligne.rang,
                "etape": "non_remis",
                "avis": avis_courrier.numero,
                "message_id": ligne.message_id_envoi,
            },
            cible,
        )
