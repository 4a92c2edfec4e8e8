"""Un avis de non-remise (RFC 3464) rattaché à la réponse de la mairie qu'il concerne.

D'abord par le Message-ID du message revenu (le registre garde celui de chaque réponse
envoyée) ; à défaut, par l'adresse en échec : la dernière réponse partie vers cette adresse.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from noyau.domaine import EchecRemise, MessageAutomatique, StatutBrouillon
from registre.tables import BrouillonLigne

# Ce qu'un avis peut encore changer : une réponse partie, ou peut-être partie.
STATUTS_PARTIS = (
    StatutBrouillon.ENVOYE.value,
    StatutBrouillon.EN_ENVOI.value,
    StatutBrouillon.A_VERIFIER.value,
)


def brouillon_concerne(session: Session, avis: MessageAutomatique) -> BrouillonLigne | None:
    revenus = [m for m in avis.messages_revenus if m]
    if revenus:
        ligne = (
            session.execute(
                select(BrouillonLigne)
                .where(BrouillonLigne.message_id_envoi.in_(revenus))
                .order_by(BrouillonLigne.id.desc())
            )
            .scalars()
            .first()
        )
        if ligne is not None:
            return ligne
    adresses = sorted({e.adresse.lower() for e in avis.echecs})
    if not adresses:
        return None
    return (
        session.execute(
            select(BrouillonLigne)
            .where(
                func.lower(BrouillonLigne.destinataire).in_(adresses),
                BrouillonLigne.statut.in_(STATUTS_PARTIS),
            )
            # La plus récente : un avis arrive après l'envoi qu'il concerne.
            .order_by(BrouillonLigne.id.desc())
        )
        .scalars()
        .first()
    )


def echec_pour(avis: MessageAutomatique, destinataire: str) -> EchecRemise | None:
    """L'échec qui vise l'adresse de la réponse, sinon le premier de l'avis."""
    for echec in avis.echecs:
        if echec.adresse.lower() == destinataire.strip().lower():
            return echec
    return avis.echecs[0] if avis.echecs else None


def raison_non_remis(avis: MessageAutomatique, destinataire: str, numero_avis: str) -> str:
    """« Non remis à jean@exemple.example (5.1.1 : smtp; 550 User unknown) : avis 2026-00057. »"""
    echec = echec_pour(avis, destinataire)
    adresse = echec.adresse if echec else destinataire
    details = " : ".join(x for x in (echec.statut, echec.diagnostic) if x) if echec else ""
    texte = f"Non remis à {adresse or 'son destinataire'}"
    if details:
        texte += f" ({details})"
    return f"{texte} : avis de non-remise {numero_avis}."
