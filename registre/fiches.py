"""Des lignes de la base aux fiches du noyau : ce qui sort du registre ne traîne pas de session."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from noyau.analyse import CourrierALire
from noyau.fiches import FicheBrouillon, FicheCourrier, FicheEnvoiDigest, FicheEvenement, FichePiece
from registre.tables import BrouillonLigne, Courrier, EnvoiDigest, Evenement, Piece


def _valeurs(ligne: Any, classe: type) -> dict[str, Any]:
    # Les colonnes de la ligne qui sont des champs de la fiche (les relations à part).
    colonnes = {c.key for c in type(ligne).__table__.columns}
    return {f.name: getattr(ligne, f.name) for f in fields(classe) if f.name in colonnes}


def fiche_piece(piece: Piece) -> FichePiece:
    return FichePiece(**_valeurs(piece, FichePiece))


def fiche_brouillon(ligne: BrouillonLigne) -> FicheBrouillon:
    return FicheBrouillon(**_valeurs(ligne, FicheBrouillon))


def fiche_courrier(courrier: Courrier) -> FicheCourrier:
    """Le courrier, pièces et brouillons compris : à charger avec `CHARGER_TOUT`."""
    return FicheCourrier(
        **_valeurs(courrier, FicheCourrier),
        pieces=[fiche_piece(p) for p in courrier.pieces],
        brouillons=[fiche_brouillon(b) for b in courrier.brouillons],
    )


def fiche_evenement(evenement: Evenement) -> FicheEvenement:
    return FicheEvenement(**_valeurs(evenement, FicheEvenement))


def fiche_envoi_digest(envoi: EnvoiDigest) -> FicheEnvoiDigest:
    return FicheEnvoiDigest(**_valeurs(envoi, FicheEnvoiDigest))


def courrier_a_lire(c: Courrier | FicheCourrier) -> CourrierALire:
    """Ce que l'analyse lit d'un courrier du registre (ligne de la base ou fiche)."""
    return CourrierALire(
        numero=c.numero,
        canal=c.canal,
        recu_le=c.recu_le,
        objet=c.objet,
        expediteur=c.expediteur,
        expediteur_adresse=c.expediteur_adresse,
        texte=c.texte,
        pieces=tuple((p.nom, p.texte) for p in c.pieces if p.texte),
        automatique=c.automatique,
    )
