"""Le registre du courrier arrivé : enregistrer, consigner, vérifier.

Toute écriture passe par ici, dans une transaction qui verrouille d'abord la tête du journal :
le numéro chrono, la ligne, ses clés d'identité et ses événements sont validés ensemble ou
pas du tout. Aucun trou, aucun doublon, même à plusieurs relèves en même temps.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from noyau.analyse import Analyse, Brouillon, CourrierALire, Urgence
from noyau.calendrier import PARIS, Horloge, aujourd_hui, horloge_systeme
from noyau.domaine import (
    LONGUEUR_MAX_BROUILLON,
    LONGUEUR_MAX_OBJET,
    ElementRecu,
    EntetesCourrier,
    MessageAutomatique,
    NatureAutomatique,
    ResultatExtraction,
    Statut,
    StatutBrouillon,
    TypeEvenement,
)
from noyau.erreurs import RegistreErreur, TexteTropLong
from noyau.pages_ocr import pages_en_json
from noyau.pannes import PointDePanne, aucune
from noyau.sceaux import ORIGINE, empreinte_evenement, json_canonique, sceau_courrier
from registre.archive import Archive
from registre.base import creer_moteur, mettre_a_niveau
from registre.controle_archive import BilanArchive, Progression, verifier_archive
from registre.lots import deposer_lot, details_lot, inscrire_lot, lots_cites
from registre.modeles import (
    BrouillonLigne,
    Compteur,
    Courrier,
    EnvoiDigest,
    Evenement,
    Identite,
    Piece,
    TeteJournal,
)
from registre.retours import STATUTS_PARTIS, brouillon_concerne, raison_non_remis

# Tout ce qu'il faut pour sceller un courrier ou le montrer hors de sa session.
CHARGER_TOUT = [selectinload(Courrier.pieces), selectinload(Courrier.brouillons)]
ACTEUR_RELEVE = "releve"
ACTEUR_ENVOI = "envoi"
# Écrit l'événement qui suit une décision sur un brouillon : (type, acteur, détails).
Noter = Callable[[TypeEvenement, str, dict[str, Any]], None]
# Une réponse non remise se corrige comme un brouillon : autre texte, autre mode (papier).
MODIFIABLES = {StatutBrouillon.A_VALIDER, StatutBrouillon.VALIDE, StatutBrouillon.NON_REMIS}
LOT_LECTURE = 500  # courriers chargés par requête (IN borné, mémoire bornée)
LIBELLES_STATUT_BROUILLON = {
    StatutBrouillon.A_VALIDER: "à valider",
    StatutBrouillon.VALIDE: "validé",
    StatutBrouillon.EN_ENVOI: "en cours d'envoi",
    StatutBrouillon.ENVOYE: "envoyé",
    StatutBrouillon.A_VERIFIER: "envoi à vérifier",
    StatutBrouillon.NON_REMIS: "à vérifier : non remis",
    StatutBrouillon.PAPIER: "lettre imprimée",
    StatutBrouillon.REJETE: "rejeté",
    StatutBrouillon.REMPLACE: "remplacé après correction du classement",
}


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


def formater_numero(annee: int, rang: int) -> str:
    return f"{annee}-{rang:05d}"


def _colonnes(ligne: Any, exclues: set[str]) -> dict[str, Any]:
    # Un champ vide n'entre pas dans le sceau : une colonne ajoutée par une migration (vide sur
    # les lignes anciennes) ne change pas le sceau de ce qui était déjà scellé.
    return {
        colonne.key: valeur
        for colonne in type(ligne).__table__.columns
        if colonne.key not in exclues
        and (valeur := getattr(ligne, colonne.key)) is not None
        and valeur != ""
    }


def champs_scelles(courrier: Courrier) -> dict[str, Any]:
    return _colonnes(courrier, {"id"})


def sceau(courrier: Courrier) -> str:
    return sceau_courrier(
        champs_scelles(courrier),
        [_colonnes(p, {"id", "courrier_id"}) for p in courrier.pieces],
        [_colonnes(b, {"id", "courrier_id"}) for b in courrier.brouillons],
    )


@dataclass(frozen=True)
class Verification:
    anomalies: list[str]
    archive: BilanArchive


def ligne_de_brouillon(brouillon: Brouillon, rang: int, moment: datetime) -> BrouillonLigne:
    """La ligne d'un brouillon préparé (gabarits ou IA), à valider par la secrétaire."""
    return BrouillonLigne(
        rang=rang,
        type=brouillon.type.value,
        objet=texte_stockable(brouillon.objet),
        corps=texte_stockable(brouillon.corps),
        auteur=brouillon.auteur,
        prepare_par_ia=brouillon.prepare_par_ia,
        consigne_ia=brouillon.consigne,
        destinataire=texte_stockable(brouillon.destinataire),
        statut=StatutBrouillon.A_VALIDER.value,
        dates=json_canonique({k: v.isoformat() for k, v in brouillon.dates.items()}),
        cree_le=moment,
    )


class Registre:
    def __init__(
        self,
        moteur: Engine,
        archive: Archive,
        horloge: Horloge = horloge_systeme,
        panne: PointDePanne = aucune,
    ) -> None:
        self.moteur = moteur
        self.archive = archive
        # Toute date écrite au registre (enregistrement, journal, décisions, chrono de l'année)
        # vient de cette horloge.
        self.horloge = horloge
        self.panne = panne

    @classmethod
    def ouvrir(
        cls,
        url: str,
        donnees: Path,
        horloge: Horloge = horloge_systeme,
        panne: PointDePanne = aucune,
    ) -> Registre:
        moteur = creer_moteur(url)
        mettre_a_niveau(moteur)
        return cls(moteur, Archive(donnees / "archive"), horloge, panne)

    def aujourd_hui(self) -> date:
        """Le jour à Paris selon l'horloge du registre."""
        return aujourd_hui(self.horloge)

    def fermer(self) -> None:
        self.moteur.dispose()

    @contextmanager
    def _transaction(self) -> Iterator[tuple[Session, TeteJournal]]:
        """Une transaction d'écriture, tête du journal verrouillée dès le début."""
        try:
            with Session(self.moteur, expire_on_commit=False) as session, session.begin():
                tete = session.execute(
                    select(TeteJournal).where(TeteJournal.id == 1).with_for_update()
                ).scalar_one()
                yield session, tete
        except OperationalError as e:
            raise RegistreErreur(
                f"{_cause_base(e)} Rien n'a été validé ; relancez quand ce sera réglé."
            ) from e
        except SQLAlchemyError as e:
            raise RegistreErreur(f"Le registre a refusé l'écriture : {_premiere_ligne(e)}.") from e

    def _evenement(
        self,
        session: Session,
        tete: TeteJournal,
        type_: TypeEvenement,
        acteur: str,
        details: dict[str, Any],
        courrier: Courrier | None = None,
        etat: str = "",
    ) -> Evenement:
        ident = tete.dernier_id + 1
        horodatage = self.horloge()
        numero = courrier.numero if courrier is not None else ""
        details_json = json_canonique(details)
        empreinte = empreinte_evenement(
            precedent=tete.empreinte,
            ident=ident,
            numero=numero,
            type_=type_.value,
            horodatage=horodatage,
            acteur=acteur,
            details=details_json,
            etat=etat,
        )
        evenement = Evenement(
            id=ident,
            courrier_id=courrier.id if courrier is not None else None,
            numero=numero,
            type=type_.value,
            horodatage=horodatage,
            acteur=acteur,
            details=details_json,
            etat=etat,
            precedent=tete.empreinte,
            empreinte=empreinte,
        )
        session.add(evenement)
        tete.dernier_id = ident
        tete.empreinte = empreinte
        return evenement

    # --- Enregistrement -------------------------------------------------------------------

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
        with self._transaction() as (session, tete):
            connues = (
                session.execute(select(Identite).where(Identite.cle.in_(cles))).scalars().all()
            )
            if connues:
                existant = session.get_one(Courrier, connues[0].courrier_id)
                nouvelles = set(cles) - {i.cle for i in connues}
                for cle in sorted(nouvelles):
                    session.add(Identite(cle=cle, courrier_id=existant.id))
                self._evenement(
                    session,
                    tete,
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
                recu_le=element.recu_le,
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
            )
            session.add(courrier)
            session.flush()
            for cle in cles:
                session.add(Identite(cle=cle, courrier_id=courrier.id))
            inscrire_lot(session, courrier.id, element)
            self._evenement(
                session,
                tete,
                TypeEvenement.RECU,
                acteur,
                {
                    "source": element.source,
                    "reference": courrier.reference,
                    "recu_le": element.recu_le,
                    "empreinte": empreinte,
                    "taille": courrier.taille,
                    **details_lot(element),
                },
                courrier=courrier,
            )
            self._sceller(
                session,
                tete,
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
        with self._transaction() as (session, tete):
            if avec is not None:
                avec(session)
                session.flush()
            self._evenement(session, tete, type_, acteur, details)

    # --- Extraction -----------------------------------------------------------------------

    def a_extraire(self) -> list[AExtraire]:
        with Session(self.moteur) as session:
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
        with self._transaction() as (session, tete):
            courrier = session.get_one(Courrier, ident, options=CHARGER_TOUT)
            if courrier.statut != Statut.ENREGISTRE.value:
                return courrier.statut  # une autre relève l'a déjà fait
            statut = Statut.ERREUR if resultat.echec else Statut.EXTRAIT
            courrier.texte = texte_stockable(resultat.texte)
            courrier.methode_extraction = resultat.methode
            courrier.confiance_ocr = _arrondi(resultat.confiance_ocr)
            courrier.pages = resultat.pages
            courrier.pages_ocr = pages_en_json(resultat.pages_ocr)
            courrier.erreur = texte_stockable(" ".join(resultat.erreurs))
            courrier.statut = statut.value
            courrier.extrait_le = self.horloge()
            if resultat.automatique is not None:
                courrier.automatique = resultat.automatique.nature.value
                if resultat.automatique.nature == NatureAutomatique.NON_REMISE:
                    self._rattacher_avis(session, tete, courrier, resultat.automatique, acteur)
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
                        confiance_ocr=_arrondi(piece.confiance_ocr),
                        pages=piece.pages,
                        pages_ocr=pages_en_json(piece.pages_ocr),
                        erreur=texte_stockable(piece.erreur or ""),
                        en_ligne=piece.en_ligne,
                    )
                )
            type_ = TypeEvenement.ERREUR if resultat.echec else TypeEvenement.EXTRAIT
            self._sceller(
                session,
                tete,
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
        with self._transaction() as (session, tete):
            courrier = session.get_one(Courrier, ident, options=CHARGER_TOUT)
            courrier.statut = Statut.ERREUR.value
            courrier.erreur = texte_stockable(raison)
            courrier.extrait_le = self.horloge()
            self._sceller(
                session,
                tete,
                TypeEvenement.ERREUR,
                acteur,
                {"etape": "extraction"},
                courrier,
            )

    def _rattacher_avis(
        self,
        session: Session,
        tete: TeteJournal,
        avis_courrier: Courrier,
        avis: MessageAutomatique,
        acteur: str,
    ) -> None:
        """Un avis de non-remise : la réponse qu'il concerne repasse « à vérifier », dans la
        même transaction que l'avis lui-même (rien n'est perdu si la relève tombe)."""
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
        self._sceller(
            session,
            tete,
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

    # --- Analyse et brouillons ------------------------------------------------------------

    def a_analyser(self, deja: AbstractSet[int] = frozenset()) -> list[tuple[int, CourrierALire]]:
        """Les courriers lus (même en erreur de lecture) et pas encore analysés, hors `deja`.

        La liste des identifiants d'abord (légère), puis les textes des seuls nouveaux, par
        lots : l'analyse qui suit la lecture au fil de l'eau interroge chaque seconde sans
        relire les textes qu'elle a déjà pris.
        """
        with Session(self.moteur) as session:
            idents = [
                i
                for i in session.execute(
                    select(Courrier.id)
                    .where(Courrier.extrait_le.is_not(None), Courrier.analyse_le.is_(None))
                    .order_by(Courrier.id)
                ).scalars()
                if i not in deja
            ]
            resultat: list[tuple[int, CourrierALire]] = []
            for debut in range(0, len(idents), LOT_LECTURE):
                courriers = session.execute(
                    select(Courrier)
                    .options(selectinload(Courrier.pieces))
                    .where(Courrier.id.in_(idents[debut : debut + LOT_LECTURE]))
                    .order_by(Courrier.id)
                ).scalars()
                resultat += [
                    (
                        c.id,
                        CourrierALire(
                            numero=c.numero,
                            canal=c.canal,
                            recu_le=c.recu_le,
                            objet=c.objet,
                            expediteur=c.expediteur,
                            expediteur_adresse=c.expediteur_adresse,
                            texte=c.texte,
                            pieces=tuple((p.nom, p.texte) for p in c.pieces if p.texte),
                            automatique=c.automatique,
                        ),
                    )
                    for c in courriers
                ]
            return resultat

    def consigner_analyse(
        self,
        ident: int,
        analyse: Analyse,
        brouillons: list[Brouillon],
        acteur: str = ACTEUR_RELEVE,
        objet: str = "",
        echeances_legales: str = "",
        elu: str = "",
    ) -> None:
        """Écrit l'analyse et les brouillons d'un courrier, chacun avec son événement.

        Une lettre papier n'a ni en-tête From ni Subject : l'expéditeur et l'objet lus dans
        son texte complètent alors la ligne du registre.
        """
        with self._transaction() as (session, tete):
            courrier = session.get_one(Courrier, ident, options=CHARGER_TOUT)
            if courrier.analyse_le is not None:
                return  # une autre relève l'a déjà fait
            if not courrier.expediteur and analyse.expediteur.nom:
                courrier.expediteur = texte_stockable(analyse.expediteur.nom)[:200]
            if not courrier.objet and objet:
                courrier.objet = texte_stockable(objet)[:300]
            courrier.categorie = analyse.categorie
            courrier.service = texte_stockable(analyse.service)
            courrier.urgence = analyse.urgence.value
            courrier.resume = texte_stockable(analyse.resume)
            courrier.demande = texte_stockable(analyse.demande)
            courrier.reponse_attendue = analyse.reponse_attendue
            courrier.est_demande_usager = analyse.est_demande_usager
            courrier.echeance = analyse.echeance
            courrier.echeances_legales = echeances_legales
            courrier.elu = elu  # l'élu référent (registre/repartition.py)
            courrier.confiance = _arrondi(analyse.confiance)
            courrier.moteur = analyse.moteur
            courrier.consigne_ia = analyse.consigne
            courrier.alertes = ",".join(a.value for a in analyse.alertes)
            courrier.analyse = texte_stockable(analyse.model_dump_json())
            courrier.analyse_le = self.horloge()
            if courrier.statut == Statut.EXTRAIT.value:
                courrier.statut = Statut.ANALYSE.value
            self._sceller(
                session,
                tete,
                TypeEvenement.ANALYSE,
                acteur,
                {
                    "moteur": analyse.moteur,
                    "categorie": analyse.categorie,
                    "urgence": analyse.urgence.value,
                    "alertes": [a.value for a in analyse.alertes],
                    **({"elu": elu} if elu else {}),
                },
                courrier,
            )
            for rang, brouillon in enumerate(brouillons, start=len(courrier.brouillons) + 1):
                courrier.brouillons.append(ligne_de_brouillon(brouillon, rang, self.horloge()))
                self._sceller(
                    session,
                    tete,
                    TypeEvenement.BROUILLON,
                    acteur,
                    {"rang": rang, "type": brouillon.type.value, "auteur": brouillon.auteur},
                    courrier,
                )

    def brouillons_a_valider(self) -> list[tuple[Courrier, BrouillonLigne]]:
        """Ce qui attend la secrétaire : les brouillons à valider et les réponses non remises."""
        attente = [StatutBrouillon.A_VALIDER.value, StatutBrouillon.NON_REMIS.value]
        with Session(self.moteur, expire_on_commit=False) as session:
            lignes = session.execute(
                select(Courrier, BrouillonLigne)
                .join(BrouillonLigne, BrouillonLigne.courrier_id == Courrier.id)
                .where(BrouillonLigne.statut.in_(attente))
                # Les pièces : leurs pages OCR sous le seuil signalent le courrier dans la file.
                .options(selectinload(Courrier.pieces))
                .order_by(Courrier.annee, Courrier.rang, BrouillonLigne.rang)
            ).all()
            return [(c, b) for c, b in lignes]

    # --- Décisions de la secrétaire --------------------------------------------------------

    def brouillon(self, ident: int) -> tuple[Courrier, BrouillonLigne] | None:
        with Session(self.moteur, expire_on_commit=False) as session:
            ligne = session.get(BrouillonLigne, ident)
            if ligne is None:
                return None
            courrier = session.get_one(Courrier, ligne.courrier_id, options=CHARGER_TOUT)
            return courrier, ligne

    @contextmanager
    def _sur_brouillon(self, ident: int) -> Iterator[tuple[Courrier, BrouillonLigne, Noter]]:
        """Une transaction sur un brouillon et son courrier ; `noter(type, acteur, détails)`
        écrit l'événement qui scelle le courrier après la modification."""
        with self._transaction() as (session, tete):
            ligne = session.get(BrouillonLigne, ident)
            if ligne is None:
                raise RegistreErreur(f"Le brouillon n°{ident} n'existe pas.")
            courrier = session.get_one(Courrier, ligne.courrier_id, options=CHARGER_TOUT)
            # La ligne chargée avec le courrier est la même instance (carte d'identité).

            def noter(type_: TypeEvenement, acteur: str, details: dict[str, Any]) -> None:
                self._sceller(
                    session, tete, type_, acteur, {"brouillon": ligne.rang, **details}, courrier
                )

            yield courrier, ligne, noter

    def _sceller(
        self,
        session: Session,
        tete: TeteJournal,
        type_: TypeEvenement,
        acteur: str,
        details: dict[str, Any],
        courrier: Courrier,
    ) -> None:
        """L'événement qui suit une modification du courrier (ou de ses brouillons) et en scelle
        le nouvel état."""
        session.flush()
        self._evenement(
            session, tete, type_, acteur, details, courrier=courrier, etat=sceau(courrier)
        )

    def modifier_et_sceller(
        self,
        numero: str,
        type_: TypeEvenement,
        acteur: str,
        details: Callable[[Courrier], dict[str, Any]],
        modifier: Callable[[Courrier], None],
    ) -> None:
        """L'unité de travail d'un changement qui n'est pas prévu ailleurs (l'effacement des
        données personnelles) : `modifier` change le courrier chargé avec ses pièces et
        brouillons, puis l'événement qui scelle le nouvel état est écrit, dans la même
        transaction ; `details` est lu avant la modification."""
        with self._transaction() as (session, tete):
            courrier = session.execute(
                select(Courrier).options(*CHARGER_TOUT).where(Courrier.numero == numero)
            ).scalar_one_or_none()
            if courrier is None:
                raise RegistreErreur(f"Aucun courrier n'a le numéro {numero}.")
            avant = details(courrier)
            modifier(courrier)
            self._sceller(session, tete, type_, acteur, avant, courrier)

    def corriger_analyse(
        self,
        numero: str,
        acteur: str,
        *,
        categorie: str | None = None,
        service: str | None = None,
        urgence: str | None = None,
        categories: Collection[str] = (),
    ) -> dict[str, tuple[str, str]]:
        """Corrige le classement ; rend les champs changés (avant, après). `categories` : celles
        des règles chargées par l'appelant ; sans elles, aucune catégorie n'est acceptée."""
        if categorie is not None and categorie not in categories:
            raise RegistreErreur(
                f"Catégorie inconnue : « {categorie[:60]} » n'est pas une catégorie des "
                "règles (categories.yaml)."
            )
        if urgence is not None and urgence not in {u.value for u in Urgence}:
            raise RegistreErreur(f"Urgence inconnue : « {urgence} ».")
        with self._transaction() as (session, tete):
            courrier = session.execute(
                select(Courrier).options(*CHARGER_TOUT).where(Courrier.numero == numero)
            ).scalar_one_or_none()
            if courrier is None:
                raise RegistreErreur(f"Le courrier {numero} n'est pas au registre.")
            changes: dict[str, tuple[str, str]] = {}
            for champ, valeur in (
                ("categorie", categorie),
                ("service", service),
                ("urgence", urgence),
            ):
                if valeur is None:
                    continue
                valeur = texte_stockable(valeur).strip()[:120]
                avant = getattr(courrier, champ) or ""
                if valeur != avant:
                    changes[champ] = (avant, valeur)
                    setattr(courrier, champ, valeur)
            if not changes:
                return {}
            self._sceller(
                session,
                tete,
                TypeEvenement.CORRECTION,
                acteur,
                {champ: {"avant": a, "apres": b} for champ, (a, b) in changes.items()},
                courrier,
            )
            return changes

    def modifier_brouillon(self, ident: int, acteur: str, objet: str, corps: str) -> bool:
        """Enregistre le texte corrigé d'un brouillon encore modifiable ; faux si rien ne change."""
        with self._sur_brouillon(ident) as (_courrier, ligne, noter):
            _exiger(ligne, MODIFIABLES, "modifié")
            objet, corps = _objet_brouillon(objet), _texte_brouillon(corps)
            if not corps:
                raise RegistreErreur("Le texte du brouillon ne peut pas être vide.")
            if (objet, corps) == (ligne.objet, ligne.corps):
                return False
            _garder_original(ligne, corps)
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
    ) -> BrouillonLigne:
        """Valide un brouillon (avec son dernier texte) pour un envoi par courriel ou sur papier.

        Par courriel, il faut une adresse électronique ; l'envoi lui-même se fait ensuite
        (flow `envoi`). Sur papier, la lettre PDF est produite puis consignée (`consigner_lettre`).
        """
        if mode not in ("courriel", "papier"):
            raise RegistreErreur(f"Mode de réponse inconnu : « {mode} ».")
        with self._sur_brouillon(ident) as (courrier, ligne, noter):
            _exiger(ligne, MODIFIABLES, "validé")
            if objet is not None:
                ligne.objet = _objet_brouillon(objet)
            if corps is not None:
                _garder_original(ligne, corps := _texte_brouillon(corps))
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
            _decide(ligne, acteur, self.horloge())
            ligne.raison = ""
            noter(TypeEvenement.DECISION, acteur, {"action": "valide", "mode": mode})
            return ligne

    def rejeter_brouillon(self, ident: int, acteur: str, raison: str) -> None:
        raison = " ".join(texte_stockable(raison).split())[:500]
        if not raison:
            raise RegistreErreur("Dites pourquoi le brouillon est rejeté.")
        with self._sur_brouillon(ident) as (_courrier, ligne, noter):
            _exiger(
                ligne,
                {*MODIFIABLES, StatutBrouillon.A_VERIFIER},
                "rejeté",
            )
            ligne.statut = StatutBrouillon.REJETE.value
            ligne.raison = raison
            _decide(ligne, acteur, self.horloge())
            noter(TypeEvenement.DECISION, acteur, {"action": "rejete", "raison": raison})

    def consigner_lettre(self, ident: int, acteur: str, pdf: bytes) -> str:
        """Garde la lettre PDF d'une réponse papier validée dans l'archive ; rend son empreinte."""
        empreinte = self.archive.deposer(pdf)
        with self._sur_brouillon(ident) as (courrier, ligne, noter):
            _exiger(ligne, {StatutBrouillon.VALIDE, StatutBrouillon.PAPIER}, "imprimé")
            if ligne.mode != "papier":
                raise RegistreErreur("Ce brouillon a été validé pour un envoi par courriel.")
            moment = self.horloge()
            ligne.statut = StatutBrouillon.PAPIER.value
            ligne.lettre_empreinte = empreinte
            ligne.envoye_le = ligne.envoye_le or moment
            _repondu(courrier, moment)
            noter(
                TypeEvenement.ENVOI,
                acteur,
                {"etape": "lettre", "empreinte": empreinte, "taille": len(pdf)},
            )
        return empreinte

    # --- Envoi des réponses ----------------------------------------------------------------

    def brouillons_par_statut(self, *statuts: StatutBrouillon) -> list[int]:
        with Session(self.moteur) as session:
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
        with self._sur_brouillon(ident) as (_courrier, ligne, noter):
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
        with self._sur_brouillon(ident) as (courrier, ligne, noter):
            if ligne.statut == StatutBrouillon.ENVOYE.value:
                return
            _exiger(ligne, {StatutBrouillon.EN_ENVOI, StatutBrouillon.A_VERIFIER}, "confirmé")
            moment = self.horloge()
            ligne.statut = StatutBrouillon.ENVOYE.value
            ligne.envoye_le = moment
            ligne.raison = ""
            _repondu(courrier, moment)
            noter(
                TypeEvenement.ENVOI,
                acteur,
                {"etape": "envoye", "message_id": ligne.message_id_envoi, "comment": comment},
            )

    def echec_envoi(self, ident: int, raison: str, rien_envoye: bool) -> None:
        """L'envoi a échoué. Rien n'est parti : le brouillon redevient « validé » et le prochain
        envoi réessaiera. Un doute (coupure pendant l'envoi) : la secrétaire doit vérifier."""
        raison = " ".join(texte_stockable(raison).split())[:500]
        with self._sur_brouillon(ident) as (_courrier, ligne, noter):
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
        with self._sur_brouillon(ident) as (_courrier, ligne, noter):
            _exiger(ligne, {StatutBrouillon.A_VERIFIER}, "renvoyé")
            ligne.statut = StatutBrouillon.VALIDE.value
            ligne.raison = ""
            noter(TypeEvenement.DECISION, acteur, {"action": "a_renvoyer"})

    # --- Digest du maire -------------------------------------------------------------------

    def reserver_digest(self, jour: date, destinataires: str, message_id: str) -> bool:
        """Écrit l'intention d'envoyer le digest du jour ; faux s'il est déjà réservé ou envoyé.

        Appelée avant l'appel SMTP : une relance du flow, même après une panne entre l'envoi
        et sa confirmation, ne renvoie jamais le même jour.
        """
        with self._transaction() as (session, tete):
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
            self._evenement(
                session,
                tete,
                TypeEvenement.DIGEST,
                "digest",
                {"jour": jour, "etape": "prepare", "message_id": message_id},
            )
            return True

    def confirmer_digest(self, jour: date) -> None:
        with self._transaction() as (session, tete):
            envoi = session.get_one(EnvoiDigest, jour)
            envoi.statut = "envoye"
            envoi.envoye_le = self.horloge()
            self._evenement(
                session,
                tete,
                TypeEvenement.DIGEST,
                "digest",
                {"jour": jour, "etape": "envoye", "message_id": envoi.message_id},
            )

    def annuler_digest(self, jour: date, raison: str) -> None:
        """L'envoi a échoué avant toute acceptation par le serveur : la relance pourra renvoyer."""
        with self._transaction() as (session, tete):
            envoi = session.get(EnvoiDigest, jour)
            if envoi is None or envoi.statut == "envoye":
                return
            session.delete(envoi)
            self._evenement(
                session,
                tete,
                TypeEvenement.ERREUR,
                "digest",
                {"jour": jour, "etape": "annule", "raison": texte_stockable(raison)[:300]},
            )

    def envoi_digest(self, jour: date) -> EnvoiDigest | None:
        with Session(self.moteur, expire_on_commit=False) as session:
            return session.get(EnvoiDigest, jour)

    # --- Lecture --------------------------------------------------------------------------

    def tete(self) -> tuple[int, str]:
        """Le dernier événement du journal et son empreinte (celle qui scelle tout le reste)."""
        with Session(self.moteur) as session:
            tete = session.get_one(TeteJournal, 1)
            return tete.dernier_id, tete.empreinte

    def courriers(self) -> list[Courrier]:
        with Session(self.moteur, expire_on_commit=False) as session:
            return list(
                session.execute(
                    select(Courrier).options(*CHARGER_TOUT).order_by(Courrier.annee, Courrier.rang)
                ).scalars()
            )

    def courrier(self, numero: str) -> Courrier | None:
        with Session(self.moteur, expire_on_commit=False) as session:
            return session.execute(
                select(Courrier).options(*CHARGER_TOUT).where(Courrier.numero == numero)
            ).scalar_one_or_none()

    def evenements(self, numero: str | None = None) -> list[Evenement]:
        with Session(self.moteur, expire_on_commit=False) as session:
            requete = select(Evenement).order_by(Evenement.id)
            if numero is not None:
                requete = requete.where(Evenement.numero == numero)
            return list(session.execute(requete).scalars())

    def nombre(self) -> int:
        with Session(self.moteur) as session:
            return session.execute(select(func.count(Courrier.id))).scalar_one()

    # --- Vérification ---------------------------------------------------------------------

    def verifier(self, progression: Progression | None = None) -> list[str]:
        """Refait la chaîne et les sceaux, relit l'archive ; les anomalies, la première d'abord."""
        return self.verifier_tout(progression).anomalies

    def verifier_tout(self, progression: Progression | None = None) -> Verification:
        """La chaîne du journal, les sceaux, les numéros, puis chaque fichier de l'archive."""
        anomalies, attendus = self.verifier_journal()
        bilan = verifier_archive(self.archive, attendus, progression)
        return Verification([*anomalies, *bilan.anomalies], bilan)

    def verifier_journal(self) -> tuple[list[str], dict[str, str]]:
        """La chaîne, les sceaux et les numéros ; rend aussi les fichiers que l'archive doit
        contenir (empreinte → ce qui la cite)."""
        anomalies: list[str] = []
        attendus: dict[str, str] = {}
        with Session(self.moteur) as session:
            tete = session.get_one(TeteJournal, 1)
            precedent = ORIGINE
            attendu = 1
            dernier_sceau: dict[str, Evenement] = {}
            for ev in session.execute(select(Evenement).order_by(Evenement.id)).scalars():
                nom = f"l'événement n°{ev.id} ({ev.type}{', ' + ev.numero if ev.numero else ''})"
                if ev.id != attendu:
                    anomalies.append(
                        f"Le journal a été amputé : l'événement n°{attendu} manque avant {nom}."
                    )
                    attendu = ev.id
                if ev.precedent != precedent:
                    anomalies.append(
                        f"La chaîne est rompue à {nom} : le maillon précédent a changé."
                    )
                recalcul = empreinte_evenement(
                    precedent=ev.precedent,
                    ident=ev.id,
                    numero=ev.numero,
                    type_=ev.type,
                    horodatage=ev.horodatage,
                    acteur=ev.acteur,
                    details=ev.details,
                    etat=ev.etat,
                )
                if recalcul != ev.empreinte:
                    anomalies.append(f"{_majuscule(nom)} a été modifié après coup.")
                if ev.etat and ev.numero:
                    dernier_sceau[ev.numero] = ev
                precedent = ev.empreinte
                attendu += 1
            if tete.empreinte != precedent or tete.dernier_id != attendu - 1:
                anomalies.append(
                    f"La fin du journal a été supprimée ou modifiée : la tête attend "
                    f"l'événement n°{tete.dernier_id}, le journal s'arrête au n°{attendu - 1}."
                )

            courriers = (
                session.execute(
                    select(Courrier).options(*CHARGER_TOUT).order_by(Courrier.annee, Courrier.rang)
                )
                .scalars()
                .all()
            )
            vus: set[str] = set()
            par_annee: dict[int, list[int]] = {}
            for courrier in courriers:
                vus.add(courrier.numero)
                # Les fichiers d'un courrier purgé ont été effacés exprès (l'événement le dit).
                if courrier.purge_le is None:
                    for empreinte, porteur in fichiers_cites(courrier).items():
                        attendus.setdefault(empreinte, porteur)
                par_annee.setdefault(courrier.annee, []).append(courrier.rang)
                scelle = dernier_sceau.get(courrier.numero)
                if scelle is None:
                    anomalies.append(
                        f"Le courrier {courrier.numero} n'a aucun événement qui le scelle."
                    )
                elif scelle.etat != sceau(courrier):
                    anomalies.append(
                        f"Le courrier {courrier.numero} a été modifié après l'événement "
                        f"n°{scelle.id} ({scelle.type}) qui l'a scellé."
                    )
            for numero, ev in dernier_sceau.items():
                if numero not in vus:
                    anomalies.append(
                        f"Le courrier {numero} a disparu du registre "
                        f"(scellé par l'événement n°{ev.id})."
                    )
            for empreinte, porteur in lots_cites(session).items():
                attendus.setdefault(empreinte, porteur)
            compteurs = {c.annee: c.dernier for c in session.execute(select(Compteur)).scalars()}
            for annee, rangs in sorted(par_annee.items()):
                manquants = sorted(set(range(1, compteurs.get(annee, 0) + 1)) - set(rangs))
                if manquants:
                    anomalies.append(
                        f"Numéros manquants en {annee} : "
                        + ", ".join(formater_numero(annee, r) for r in manquants[:10])
                        + ("…" if len(manquants) > 10 else "")
                    )
        return anomalies, attendus


def adresse_de_reponse(courrier: Courrier, ligne: BrouillonLigne) -> str:
    """L'adresse électronique où répondre : celle du brouillon, sinon celle de l'expéditeur."""
    for candidat in (ligne.destinataire, courrier.expediteur_adresse):
        candidat = (candidat or "").strip()
        if "@" in candidat and "\n" not in candidat and " " not in candidat:
            return candidat
    return ""


def fichiers_cites(courrier: Courrier) -> dict[str, str]:
    """Les fichiers de l'archive qu'un courrier cite (original, pièces jointes, lettres) :
    empreinte → ce qui la porte, dans les mots de `verifier`."""
    cites = {courrier.empreinte: f"l'original du courrier {courrier.numero}"}
    for piece in courrier.pieces:
        cites.setdefault(
            piece.empreinte, f"la pièce jointe {piece.rang} du courrier {courrier.numero}"
        )
    for b in courrier.brouillons:
        if b.lettre_empreinte:
            cites.setdefault(
                b.lettre_empreinte, f"la lettre du brouillon n°{b.id} (courrier {courrier.numero})"
            )
    return cites


def _decide(ligne: BrouillonLigne, acteur: str, moment: datetime) -> None:
    ligne.decide_par = texte_stockable(acteur)[:128]
    ligne.decide_le = moment


def _repondu(courrier: Courrier, moment: datetime) -> None:
    """Une réponse est partie (ou imprimée) : la première date compte."""
    courrier.repondu_le = courrier.repondu_le or moment
    courrier.statut = Statut.REPONDU.value


def _garder_original(ligne: BrouillonLigne, corps: str) -> None:
    """Le texte préparé est gardé à la première modification, jamais remplacé ensuite."""
    if corps != ligne.corps and not ligne.corps_original:
        ligne.corps_original = ligne.corps


def _exiger(ligne: BrouillonLigne, permis: set[StatutBrouillon], action: str) -> None:
    if ligne.statut not in {s.value for s in permis}:
        etat = LIBELLES_STATUT_BROUILLON.get(StatutBrouillon(ligne.statut), ligne.statut)
        raise RegistreErreur(
            f"Le brouillon n°{ligne.id} est « {etat} » : il ne peut plus être {action}."
        )


def _texte_brouillon(texte: str) -> str:
    # Fins de ligne unifiées, caractères de contrôle retirés (sauf tabulation et saut de ligne).
    texte = texte_stockable(texte).replace("\r\n", "\n").replace("\r", "\n")
    texte = "".join(c for c in texte if c in "\n\t" or c.isprintable()).strip()
    if len(texte) > LONGUEUR_MAX_BROUILLON:
        raise TexteTropLong(
            f"Le texte du brouillon est trop long : {_milliers(len(texte))} caractères pour "
            f"{_milliers(LONGUEUR_MAX_BROUILLON)} au plus. Raccourcissez-le ; rien n'a été "
            "enregistré."
        )
    return texte


def _milliers(n: int) -> str:
    return f"{n:_}".replace("_", "\u202f")  # « 20 000 », l'espace fine des nombres français


def _objet_brouillon(objet: str) -> str:
    objet = texte_stockable(objet).strip()
    if len(objet) > LONGUEUR_MAX_OBJET:
        raise TexteTropLong(
            f"L'objet du brouillon est trop long : {len(objet)} caractères pour "
            f"{LONGUEUR_MAX_OBJET} au plus. Raccourcissez-le ; rien n'a été enregistré."
        )
    return objet


def details(evenement: Evenement) -> dict[str, Any]:
    try:
        valeur = json.loads(evenement.details)
    except ValueError:
        return {}
    return valeur if isinstance(valeur, dict) else {}


def heure_de_paris(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")


def texte_stockable(texte: str) -> str:
    # PostgreSQL refuse le caractère NUL ; les substituts orphelins ne s'encodent pas en UTF-8.
    return texte.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _arrondi(valeur: float | None) -> float | None:
    return None if valeur is None else round(float(valeur), 2)


def _majuscule(texte: str) -> str:
    return texte[:1].upper() + texte[1:]


def _cause_base(e: BaseException) -> str:
    """La cause d'une panne de la base, en français (SQLite et PostgreSQL parlent anglais)."""
    texte = _premiere_ligne(e)
    bas = texte.lower()
    if "disk is full" in bas or "no space left" in bas or "disk full" in bas:
        return "Le disque du registre est plein."
    if "database is locked" in bas or "database table is locked" in bas:
        return "La base du registre est verrouillée par un autre programme depuis trop longtemps."
    if "readonly" in bas or "read-only" in bas or "permission denied" in bas:
        return "La base du registre ne peut pas être écrite (droits, disque en lecture seule)."
    if "unable to open" in bas:
        return "Le fichier de la base du registre ne peut pas être ouvert."
    if any(
        mot in bas
        for mot in (
            "connection refused",
            "could not connect",
            "server closed",
            "terminating",
            "connection",
            "timeout",
            "timed out",
            "shutdown",
        )
    ):
        return f"Le serveur de la base du registre ne répond pas ({texte[:160]})."
    return f"La base du registre est injoignable ou verrouillée ({texte[:160]})."


def _premiere_ligne(e: BaseException) -> str:
    texte = str(getattr(e, "orig", None) or e).strip()
    return texte.splitlines()[0] if texte else type(e).__name__
