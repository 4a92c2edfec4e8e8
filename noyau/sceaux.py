"""Le scellement du journal : calculs purs, sans base de données.

Chaque événement porte l'empreinte du précédent ; celui qui modifie un courrier porte aussi
le « sceau » (`etat`) de la ligne et de ses pièces après la modification. Vérifier, c'est
refaire ces calculs : un événement changé ou supprimé casse la chaîne, une ligne changée
par SQL ne correspond plus à son dernier sceau.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

ORIGINE = "0" * 64  # « précédent » du tout premier événement


def _normaliser(valeur: Any) -> Any:
    if isinstance(valeur, datetime):
        if valeur.tzinfo is None:
            valeur = valeur.replace(tzinfo=UTC)
        return valeur.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(valeur, date):
        return valeur.isoformat()
    if isinstance(valeur, float):
        return round(valeur, 4)
    if isinstance(valeur, Mapping):
        return {str(k): _normaliser(v) for k, v in valeur.items()}
    if isinstance(valeur, list | tuple):
        return [_normaliser(v) for v in valeur]
    return valeur


def json_canonique(valeur: Any) -> str:
    return json.dumps(
        _normaliser(valeur), ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )


def sha256_texte(texte: str) -> str:
    return hashlib.sha256(texte.encode("utf-8")).hexdigest()


def sceau_courrier(
    champs: Mapping[str, Any],
    pieces: Sequence[Mapping[str, Any]],
    brouillons: Sequence[Mapping[str, Any]] = (),
) -> str:
    """Empreinte de tout ce que le registre dit d'un courrier à un instant."""
    contenu: dict[str, Any] = {"courrier": champs, "pieces": list(pieces)}
    if brouillons:  # absent des sceaux posés avant l'arrivée des brouillons
        contenu["brouillons"] = list(brouillons)
    return sha256_texte(json_canonique(contenu))


def empreinte_evenement(
    *,
    precedent: str,
    ident: int,
    numero: str,
    type_: str,
    horodatage: datetime,
    acteur: str,
    details: str,
    etat: str,
) -> str:
    return sha256_texte(
        json_canonique([precedent, ident, numero, type_, horodatage, acteur, details, etat])
    )
