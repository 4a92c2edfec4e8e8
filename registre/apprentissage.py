"""Ce que le registre apprend des décisions de la secrétaire, et ce qu'une correction refait.

Exemples d'apprentissage : les courriers analysés dont une personne a corrigé le classement
(événement CORRECTION) ou validé une réponse (elle a lu le courrier et n'a rien corrigé :
le classement est confirmé). Jamais un courrier signalé comme tentative de manipulation
(alerte « injection_suspectee ») : corrigé ou non, il n'entre ni dans les exemples ni dans le
modèle, pour qu'un texte piégé ne puisse pas apprendre au système à mal classer.

Une correction refait les brouillons encore à valider : l'ancien est gardé, au statut
« remplacé », avec son texte ; le nouveau suit, scellé. Un brouillon validé, envoyé, imprimé
ou rejeté n'est jamais touché.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from noyau.analyse import CATEGORIE_DE_REPLI, Alerte, Analyse, Brouillon, CourrierALire
from noyau.domaine import StatutBrouillon, TypeEvenement
from noyau.erreurs import RegistreErreur
from noyau.exemples import NON, OUI, Exemple, texte_lu
from noyau.fiches import FicheCourrier
from registre.fiches import courrier_a_lire
from registre.registre import Registre, ligne_de_brouillon
from registre.tables import BrouillonLigne, Courrier, Evenement

EXEMPLES_MAX = 5000  # les plus récents : le vocabulaire d'une mairie change avec les années
# Une réponse partie ou prête à partir : la secrétaire a lu le courrier et gardé son classement.
CONFIRMANTS = (
    StatutBrouillon.VALIDE.value,
    StatutBrouillon.EN_ENVOI.value,
    StatutBrouillon.ENVOYE.value,
    StatutBrouillon.A_VERIFIER.value,
    StatutBrouillon.NON_REMIS.value,
    StatutBrouillon.PAPIER.value,
)
RAISON_REMPLACE = "Remplacé après la correction du classement."
RAISON_PLUS_ATTENDU = "Plus attendu après la correction du classement."

Rediger = Callable[[CourrierALire, Analyse], list[Brouillon]]


def signale(courrier: Courrier) -> bool:
    """Un courrier suspect de manipulation (injection d'instructions)."""
    return Alerte.INJECTION_SUSPECTEE.value in courrier.alertes.split(",")


def exemples(registre: Registre, maximum: int = EXEMPLES_MAX) -> list[Exemple]:
    """Les exemples d'apprentissage, lus du registre (les plus récents d'abord)."""
    with Session(registre.engine) as session:
        corriges = set(
            session.scalars(
                select(Evenement.courrier_id).where(
                    Evenement.type == TypeEvenement.CORRECTION.value,
                    Evenement.courrier_id.is_not(None),
                )
            )
        )
        confirmes = set(
            session.scalars(
                select(BrouillonLigne.courrier_id).where(BrouillonLigne.statut.in_(CONFIRMANTS))
            )
        )
        idents = sorted((i for i in corriges | confirmes if i is not None), reverse=True)
        resultat: list[Exemple] = []
        for debut in range(0, len(idents), 500):
            courriers = session.scalars(
                select(Courrier)
                .options(selectinload(Courrier.pieces))
                .where(
                    Courrier.id.in_(idents[debut : debut + 500]),
                    Courrier.analyse_le.is_not(None),
                    Courrier.purge_le.is_(None),
                    Courrier.automatique == "",
                )
                .order_by(Courrier.id.desc())
            ).all()
            for c in courriers:
                if signale(c) or not c.categorie:
                    continue
                lu = courrier_a_lire(c)
                etiquettes = {"categorie": c.categorie, "urgence": c.urgence, "service": c.service}
                if c.reponse_attendue is not None:
                    etiquettes["reponse_attendue"] = OUI if c.reponse_attendue else NON
                resultat.append(
                    Exemple(
                        numero=c.numero,
                        objet=c.objet,
                        expediteur=c.expediteur_adresse,
                        texte=texte_lu(lu),
                        etiquettes=etiquettes,
                        corrige=c.id in corriges,
                    )
                )
            if len(resultat) >= maximum:
                break
        return resultat[:maximum]


def corriger_reponse_attendue(registre: Registre, numero: str, acteur: str, attendue: bool) -> bool:
    """« Pas de réponse » (ou l'inverse) : un événement CORRECTION scellé ; faux si rien ne
    change."""
    courrier = registre.courrier(numero)
    if courrier is None:
        raise RegistreErreur(f"Le courrier {numero} n'est pas au registre.")
    if courrier.reponse_attendue is attendue:
        return False
    avant = "" if courrier.reponse_attendue is None else (OUI if courrier.reponse_attendue else NON)

    def modifier(c: Courrier) -> None:
        c.reponse_attendue = attendue

    registre.modifier_et_sceller(
        numero,
        TypeEvenement.CORRECTION,
        acteur,
        lambda _c: {"reponse_attendue": {"avant": avant, "apres": OUI if attendue else NON}},
        modifier,
    )
    return True


@dataclass
class Refaits:
    remplaces: list[int] = field(default_factory=list)  # rangs des anciens brouillons
    nouveaux: list[str] = field(default_factory=list)  # types des brouillons rédigés


def refaire_brouillons(registre: Registre, numero: str, acteur: str, rediger: Rediger) -> Refaits:
    """Rédige à nouveau, selon le classement actuel, les brouillons encore à valider ; ajoute
    ceux que le nouveau classement demande et qui manquent. Un type dont un brouillon a déjà
    été décidé (validé, envoyé, imprimé, rejeté) n'est jamais refait."""
    courrier = registre.courrier(numero)
    if courrier is None:
        raise RegistreErreur(f"Le courrier {numero} n'est pas au registre.")
    if courrier.analyse_le is None:
        return Refaits()
    analyse = _analyse_actuelle(courrier)
    decides = {b.type for b in courrier.brouillons if b.statut != StatutBrouillon.A_VALIDER.value}
    en_attente = [b for b in courrier.brouillons if b.statut == StatutBrouillon.A_VALIDER.value]
    nouveaux = [
        b for b in rediger(courrier_a_lire(courrier), analyse) if b.type.value not in decides
    ]
    if not en_attente and not nouveaux:
        return Refaits()
    refaits = Refaits(
        remplaces=[b.rang for b in en_attente], nouveaux=[b.type.value for b in nouveaux]
    )

    def modifier(c: Courrier) -> None:
        moment = registre.horloge()
        types_nouveaux = set(refaits.nouveaux)
        for ligne in c.brouillons:
            if ligne.rang in refaits.remplaces:
                ligne.statut = StatutBrouillon.REMPLACE.value
                ligne.decide_par, ligne.decide_le = acteur[:128], moment
                ligne.raison = (
                    RAISON_REMPLACE if ligne.type in types_nouveaux else RAISON_PLUS_ATTENDU
                )
        rang = max((b.rang for b in c.brouillons), default=0)
        for b in nouveaux:
            rang += 1
            c.brouillons.append(ligne_de_brouillon(b, rang, moment))

    registre.modifier_et_sceller(
        numero,
        TypeEvenement.BROUILLON,
        acteur,
        lambda _c: {
            "action": "refait",
            "remplaces": refaits.remplaces,
            "types": refaits.nouveaux,
        },
        modifier,
    )
    return refaits


def _analyse_actuelle(courrier: Courrier | FicheCourrier) -> Analyse:
    """L'analyse gardée au registre, avec le classement tel que la secrétaire l'a corrigé."""
    try:
        analyse = Analyse.model_validate(json.loads(courrier.analyse))
    except ValueError:
        analyse = Analyse(categorie=courrier.categorie or CATEGORIE_DE_REPLI)
    return analyse.model_copy(
        update={
            "categorie": courrier.categorie or analyse.categorie,
            "service": courrier.service,
            "urgence": courrier.urgence or analyse.urgence,
            "reponse_attendue": bool(courrier.reponse_attendue),
            "est_demande_usager": bool(courrier.est_demande_usager),
        }
    )


def corriger(
    registre: Registre,
    numero: str,
    acteur: str,
    rediger: Rediger,
    *,
    categorie: str | None = None,
    service: str | None = None,
    urgence: str | None = None,
    reponse_attendue: bool | None = None,
    categories: Collection[str] = (),
) -> tuple[dict[str, tuple[str, str]], Refaits]:
    """La correction du classement par la secrétaire, puis les brouillons refaits ;
    `categories` : celles des règles chargées, les seules permises."""
    changes = registre.corriger_analyse(
        numero, acteur, categorie=categorie, service=service, urgence=urgence, categories=categories
    )
    if reponse_attendue is not None and corriger_reponse_attendue(
        registre, numero, acteur, reponse_attendue
    ):
        changes["reponse_attendue"] = (
            NON if reponse_attendue else OUI,
            OUI if reponse_attendue else NON,
        )
    if not changes:
        return changes, Refaits()
    return changes, refaire_brouillons(registre, numero, acteur, rediger)
