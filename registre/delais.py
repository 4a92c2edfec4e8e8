"""Le suivi des délais légaux d'un courrier : une demande de pièces les suspend, leur réception
les fait repartir. Chaque changement est une correction scellée au nom de la personne."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from noyau.crpa import ReglesCrpa
from noyau.delais import (
    EcheanceLegale,
    depuis_json,
    en_json,
    reprendre,
    suspendre,
    transmettre,
)
from noyau.domaine import TypeEvenement
from noyau.erreurs import RegistreErreur
from registre.registre import Registre
from registre.tables import Courrier


def _changer(
    registre: Registre,
    numero: str,
    acteur: str,
    action: str,
    le: date,
    calcul: Callable[[list[EcheanceLegale]], list[EcheanceLegale]],
) -> list[EcheanceLegale]:
    nouvelles: list[EcheanceLegale] = []

    def details(c: Courrier) -> dict[str, object]:
        if not depuis_json(c.echeances_legales):
            raise RegistreErreur(f"Le courrier {numero} n'a aucun délai légal à suivre.")
        return {"champ": "echeances_legales", "action": action, "le": le.isoformat()}

    def modifier(c: Courrier) -> None:
        nouvelles.extend(calcul(depuis_json(c.echeances_legales)))
        c.echeances_legales = en_json(nouvelles)

    registre.modifier_et_sceller(numero, TypeEvenement.CORRECTION, acteur, details, modifier)
    return nouvelles


def pieces_demandees(
    registre: Registre, numero: str, le: date, acteur: str
) -> list[EcheanceLegale]:
    """Des pièces manquent (CRPA L114-5, R423-38 du code de l'urbanisme) : le délai s'arrête."""
    return _changer(registre, numero, acteur, "pieces_demandees", le, lambda e: suspendre(e, le))


def pieces_recues(
    registre: Registre, numero: str, le: date, crpa: ReglesCrpa, acteur: str
) -> list[EcheanceLegale]:
    """Les pièces sont arrivées : le délai de décision repart de ce jour."""
    return _changer(registre, numero, acteur, "pieces_recues", le, lambda e: reprendre(e, le, crpa))


def demande_transmise(
    registre: Registre, numero: str, le: date, autorite: str, acteur: str
) -> list[EcheanceLegale]:
    """La demande relève d'une autre autorité et lui a été transmise (CRPA L114-2)."""
    if not autorite.strip():
        raise RegistreErreur("Indiquez à quelle autorité la demande a été transmise.")
    return _changer(
        registre, numero, acteur, "transmise", le, lambda e: transmettre(e, le, autorite.strip())
    )
