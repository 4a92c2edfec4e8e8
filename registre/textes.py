"""Les textes du registre : ce qu'il accepte d'écrire (NUL, longueurs) et comment il les montre
(heures de Paris, libellés des statuts, détails d'un événement)."""

from __future__ import annotations

import json
from typing import Any, Protocol

from noyau.domaine import LONGUEUR_MAX_BROUILLON, LONGUEUR_MAX_OBJET, StatutBrouillon
from noyau.erreurs import TexteTropLong

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


class AvecDetails(Protocol):
    """Un événement du journal, ligne de la base ou fiche du noyau."""

    @property
    def details(self) -> str: ...


def formater_numero(annee: int, rang: int) -> str:
    return f"{annee}-{rang:05d}"


def texte_brouillon(texte: str) -> str:
    # Fins de ligne unifiées, caractères de contrôle retirés (sauf tabulation et saut de ligne).
    texte = texte_stockable(texte).replace("\r\n", "\n").replace("\r", "\n")
    texte = "".join(c for c in texte if c in "\n\t" or c.isprintable()).strip()
    if len(texte) > LONGUEUR_MAX_BROUILLON:
        raise TexteTropLong(
            f"Le texte du brouillon est trop long : {milliers(len(texte))} caractères pour "
            f"{milliers(LONGUEUR_MAX_BROUILLON)} au plus. Raccourcissez-le ; rien n'a été "
            "enregistré."
        )
    return texte


def milliers(n: int) -> str:
    return f"{n:_}".replace("_", "\u202f")  # « 20 000 », l'espace fine des nombres français


def objet_brouillon(objet: str) -> str:
    objet = texte_stockable(objet).strip()
    if len(objet) > LONGUEUR_MAX_OBJET:
        raise TexteTropLong(
            f"L'objet du brouillon est trop long : {len(objet)} caractères pour "
            f"{LONGUEUR_MAX_OBJET} au plus. Raccourcissez-le ; rien n'a été enregistré."
        )
    return objet


def details(evenement: AvecDetails) -> dict[str, Any]:
    try:
        valeur = json.loads(evenement.details)
    except ValueError:
        return {}
    return valeur if isinstance(valeur, dict) else {}


def texte_stockable(texte: str) -> str:
    # PostgreSQL refuse le caractère NUL ; les substituts orphelins ne s'encodent pas en UTF-8.
    return texte.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def arrondi(valeur: float | None) -> float | None:
    return None if valeur is None else round(float(valeur), 2)


def majuscule(texte: str) -> str:
    return texte[:1].upper() + texte[1:]
