"""L'analyse au registre : ce qui attend d'être analysé, l'analyse et ses brouillons, puis les
corrections du classement par la secrétaire."""

from __future__ import annotations

from collections.abc import Callable, Collection
from collections.abc import Set as AbstractSet
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from noyau.analyse import Analyse, Brouillon, CourrierALire, Urgence
from noyau.domaine import Statut, StatutBrouillon, TypeEvenement
from noyau.erreurs import RegistreErreur
from noyau.sceaux import json_canonique
from registre.fiches import courrier_a_lire
from registre.scellement import CHARGER_TOUT
from registre.socle import ACTEUR_RELEVE, SocleRegistre
from registre.tables import BrouillonLigne, Courrier
from registre.textes import arrondi, texte_stockable

LOT_LECTURE = 500  # courriers chargés par requête (IN borné, mémoire bornée)


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


class RegistreAnalyse(SocleRegistre):
    def a_analyser(self, deja: AbstractSet[int] = frozenset()) -> list[tuple[int, CourrierALire]]:
        """Les courriers lus (même en erreur de lecture) et pas encore analysés, hors `deja`.

        La liste des identifiants d'abord (légère), puis les textes des seuls nouveaux, par
        lots : l'analyse qui suit la lecture au fil de l'eau interroge chaque seconde sans
        relire les textes qu'elle a déjà pris.
        """
        with Session(self.engine) as session:
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
                resultat += [(c.id, courrier_a_lire(c)) for c in courriers]
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
        with self.transaction() as unite:
            session = unite.session
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
            courrier.confiance = arrondi(analyse.confiance)
            courrier.moteur = analyse.moteur
            courrier.consigne_ia = analyse.consigne
            courrier.alertes = ",".join(a.value for a in analyse.alertes)
            courrier.analyse = texte_stockable(analyse.model_dump_json())
            courrier.analyse_le = self.horloge()
            if courrier.statut == Statut.EXTRAIT.value:
                courrier.statut = Statut.ANALYSE.value
            unite.sceller(
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
                unite.sceller(
                    TypeEvenement.BROUILLON,
                    acteur,
                    {"rang": rang, "type": brouillon.type.value, "auteur": brouillon.auteur},
                    courrier,
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
        with self.transaction() as unite:
            session = unite.session
            courrier = session.execute(
                select(Courrier).options(*CHARGER_TOUT).where(Courrier.numero == numero)
            ).scalar_one_or_none()
            if courrier is None:
                raise RegistreErreur(f"Aucun courrier n'a le numéro {numero}.")
            avant = details(courrier)
            modifier(courrier)
            unite.sceller(type_, acteur, avant, courrier)

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
        with self.transaction() as unite:
            courrier = unite.courrier(numero)
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
            unite.sceller(
                TypeEvenement.CORRECTION,
                acteur,
                {champ: {"avant": a, "apres": b} for champ, (a, b) in changes.items()},
                courrier,
            )
            return changes
