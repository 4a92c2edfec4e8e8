"""L'élu référent des courriers, les commentaires des élus et la réservation de leurs digests.

Corriger l'élu est une correction scellée, comme celle du classement ; un commentaire est une
ligne de la table `commentaires` et un événement du journal qui cite l'empreinte de son texte
(le texte lui-même reste hors du journal : il pourra être effacé à l'échéance de conservation
sans rompre la chaîne). Chaque digest d'élu est réservé avant l'appel SMTP, comme celui du maire :
une relance le même jour ne le renvoie pas.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, false, or_, select, update
from sqlalchemy.orm import Session

from noyau.analyse import Urgence
from noyau.domaine import TypeEvenement
from noyau.erreurs import RegistreErreur
from noyau.fiches import FicheCourrier
from registre.registre import CHARGER_TOUT, Registre, texte_stockable
from registre.tables import Commentaire, Courrier, EnvoiDigestElu
from regles.repartition import Repartition

COMMENTAIRE_MAX = 4000
ACTEUR_DIGEST = "digest"


@dataclass(frozen=True)
class CommentaireLu:
    auteur: str
    texte: str
    cree_le: datetime


def _propre(texte: str) -> str:
    # Un commentaire n'a ni caractères de contrôle ni blancs autour, en plus de ce que le
    # registre refuse toujours (NUL, substituts orphelins).
    texte = texte_stockable(texte)
    return "".join(c for c in texte if c.isprintable() or c in "\n\t").strip()


def corriger_elu(
    registre: Registre, repartition: Repartition, numero: str, acteur: str, elu: str
) -> bool:
    """La secrétaire change l'élu référent ("" : aucun) ; faux si rien ne change."""
    elu = elu.strip()
    if elu and elu not in repartition.elus:
        raise RegistreErreur(
            f"L'élu « {elu[:40]} » n'est pas dans les règles (regles/elus.yaml) : choisissez "
            "un élu de la liste."
        )
    courrier = registre.courrier(numero[:16])
    if courrier is None:
        raise RegistreErreur(f"Le courrier {numero[:16]} n'est pas au registre.")
    if courrier.elu == elu:
        return False

    def modifier(c: Courrier) -> None:
        c.elu = elu

    registre.modifier_et_sceller(
        courrier.numero,
        TypeEvenement.CORRECTION,
        acteur,
        lambda c: {"elu": {"avant": c.elu, "apres": elu}},
        modifier,
    )
    return True


def commenter(registre: Registre, numero: str, auteur: str, texte: str) -> None:
    """Ajoute le commentaire d'un élu ; vide ou trop long : refusé par une phrase."""
    texte = _propre(texte)
    if not texte:
        raise RegistreErreur("Le commentaire est vide : écrivez quelques mots avant d'envoyer.")
    if len(texte) > COMMENTAIRE_MAX:
        raise RegistreErreur(
            f"Le commentaire est trop long ({len(texte):,} caractères) : "
            f"{COMMENTAIRE_MAX:,} au plus.".replace(",", "\u202f")
        )
    empreinte = hashlib.sha256(texte.encode("utf-8")).hexdigest()
    # L'unité de travail du registre : la ligne et l'événement qui la cite, ensemble ou rien.
    with registre.transaction() as unite:
        session = unite.session
        courrier = unite.courrier(numero[:16], tout=False)
        ligne = Commentaire(
            courrier_id=courrier.id,
            auteur=auteur[:64],
            texte=texte,
            empreinte=empreinte,
            cree_le=registre.horloge(),
        )
        session.add(ligne)
        session.flush()
        unite.evenement(
            TypeEvenement.COMMENTAIRE,
            auteur[:64],
            {"commentaire": ligne.id, "empreinte": empreinte, "longueur": len(texte)},
            courrier=courrier,
        )


def effacer_commentaires(courrier: Courrier) -> None:
    """À l'échéance de conservation, dans la transaction de la purge du courrier : les
    commentaires parlent de lui et de son expéditeur. Leur empreinte reste au journal."""
    session = Session.object_session(courrier)
    if session is not None:
        session.execute(
            update(Commentaire).where(Commentaire.courrier_id == courrier.id).values(texte="")
        )


def commentaires(registre: Registre, numero: str) -> list[CommentaireLu]:
    with Session(registre.engine) as session:
        lignes = session.execute(
            select(Commentaire)
            .join(Courrier, Courrier.id == Commentaire.courrier_id)
            .where(Courrier.numero == numero[:16])
            .order_by(Commentaire.id)
        ).scalars()
        return [CommentaireLu(c.auteur, c.texte, c.cree_le) for c in lignes]


def concerne(courrier: Courrier | FicheCourrier, elu: str | None) -> bool:
    """Ce qu'un élu peut lire : ses courriers, plus l'urgent (`None` : pas un élu, tout)."""
    if elu is None:
        return True
    return (bool(elu) and courrier.elu == elu) or courrier.urgence == Urgence.HAUTE.value


def courriers_de_l_elu(
    registre: Registre, elu: str | None, depuis: datetime | None = None
) -> list[Courrier]:
    """Les courriers d'un élu et les urgents, les plus récents d'abord ; `None` : ceux de
    tous les élus (la vue d'ensemble du secrétariat et du maire)."""
    # Un compte d'élu relié à aucun élu des règles ne voit que l'urgent, pas tout ce qui n'a
    # pas d'élu.
    if elu is None:
        siens: ColumnElement[bool] = Courrier.elu != ""
    else:
        siens = Courrier.elu == elu if elu else false()
    with Session(registre.engine, expire_on_commit=False) as session:
        requete = (
            select(Courrier)
            .options(*CHARGER_TOUT)
            .where(or_(siens, Courrier.urgence == Urgence.HAUTE.value))
            .where(Courrier.purge_le.is_(None))
            .order_by(Courrier.annee.desc(), Courrier.rang.desc())
        )
        if depuis is not None:
            requete = requete.where(Courrier.enregistre_le >= depuis)
        return list(session.execute(requete).scalars())


# --- Digest des élus -----------------------------------------------------------------------


def reserver_digest_elu(
    registre: Registre, jour: date, elu: str, destinataire: str, message_id: str
) -> bool:
    """L'intention d'envoyer, écrite avant l'appel SMTP ; faux si déjà réservé ce jour-là."""
    with registre.transaction() as unite:
        session = unite.session
        if session.get(EnvoiDigestElu, (jour, elu)) is not None:
            return False
        session.add(
            EnvoiDigestElu(
                jour=jour,
                elu=elu,
                destinataire=destinataire,
                message_id=message_id,
                statut="prepare",
                prepare_le=registre.horloge(),
            )
        )
        unite.evenement(
            TypeEvenement.DIGEST,
            ACTEUR_DIGEST,
            {"jour": jour, "elu": elu, "etape": "prepare_elu", "message_id": message_id},
        )
        return True


def confirmer_digest_elu(registre: Registre, jour: date, elu: str) -> None:
    with registre.transaction() as unite:
        session = unite.session
        envoi = session.get_one(EnvoiDigestElu, (jour, elu))
        envoi.statut = "envoye"
        envoi.envoye_le = registre.horloge()
        unite.evenement(
            TypeEvenement.DIGEST,
            ACTEUR_DIGEST,
            {"jour": jour, "elu": elu, "etape": "envoye_elu", "message_id": envoi.message_id},
        )


def annuler_digest_elu(registre: Registre, jour: date, elu: str, raison: str) -> None:
    """Rien n'est parti : la réservation est levée, une relance pourra envoyer."""
    with registre.transaction() as unite:
        session = unite.session
        envoi = session.get(EnvoiDigestElu, (jour, elu))
        if envoi is None or envoi.statut == "envoye":
            return
        session.delete(envoi)
        unite.evenement(
            TypeEvenement.ERREUR,
            ACTEUR_DIGEST,
            {"jour": jour, "elu": elu, "etape": "annule_elu", "raison": _propre(raison)[:300]},
        )
