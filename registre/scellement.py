"""Le sceau d'un courrier : ses colonnes, ses pièces et ses brouillons, tels que le journal les
a scellés ; et les fichiers de l'archive qu'il cite."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import selectinload

from noyau.fiches import FicheCourrier
from noyau.sceaux import sceau_courrier
from registre.tables import Courrier

# Tout ce qu'il faut pour sceller un courrier ou le montrer hors de sa session.
CHARGER_TOUT = [selectinload(Courrier.pieces), selectinload(Courrier.brouillons)]


def colonnes(ligne: Any, exclues: set[str]) -> dict[str, Any]:
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
    return colonnes(courrier, {"id"})


def sceau(courrier: Courrier) -> str:
    return sceau_courrier(
        champs_scelles(courrier),
        [colonnes(p, {"id", "courrier_id"}) for p in courrier.pieces],
        [colonnes(b, {"id", "courrier_id"}) for b in courrier.brouillons],
    )


def fichiers_cites(courrier: Courrier | FicheCourrier) -> dict[str, str]:
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
