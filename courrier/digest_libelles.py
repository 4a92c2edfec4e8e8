"""Les mots du digest : les libellés français des valeurs du registre, et les mises en forme
courtes d'un texte venu d'ailleurs (une ligne, un nom, un pluriel, « J-3 », un lien)."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import date

LIBELLES_CANAL = {
    "email": ("courriel", "courriels"),
    "scan": ("lettre scannée", "lettres scannées"),
    "depot": ("fichier importé", "fichiers importés"),
}
LIBELLES_BROUILLON = {"reponse": "réponse", "accuse_reception": "accusé de réception"}
BROUILLONS_FEMININS = frozenset({"reponse"})
LIBELLES_STATUT_BROUILLON = {
    "a_valider": "à valider",
    "valide": "validé",
    "modifie": "modifié",
    "rejete": "rejeté",
    "en_envoi": "en cours d'envoi",
    "envoye": "envoyé",
    "a_verifier": "à vérifier (envoi interrompu)",
    "non_remis": "à vérifier (non remis)",
    "papier": "imprimé",
    "remplace": "remplacé (classement corrigé)",
}
LIBELLES_ALERTE = {
    "injection_suspectee": "tentative de manipulation suspectée",
    "a_verifier": "classement à vérifier",
    "llm_indisponible": "analysé sans l'IA (indisponible)",
    "llm_incoherent": "réponse de l'IA corrigée par les règles",
    "texte_absent": "aucun texte lisible",
}
NOMS_SOURCES = {
    "imap": "Boîte IMAP",
    "depot_scans": "Dossier des scans",
    "depot_eml": "Dossier .eml / mbox",
}
NON_CLASSE = "Non classé"


def j_moins(echeance: date, jour: date) -> str:
    """« J-3 » trois jours avant, « J » le jour même, « dépassée de 2 j » après."""
    ecart = (echeance - jour).days
    if ecart > 0:
        return f"J-{ecart}"
    if ecart == 0:
        return "J"
    return f"dépassée de {-ecart} j"


def lien_courrier(url_publique: str | None, numero: str) -> str | None:
    if not url_publique:
        return None
    return f"{url_publique.rstrip('/')}/courrier/{numero}"


def une_ligne(texte: str, longueur: int) -> str:
    """Un texte venu d'ailleurs, sur une ligne, sans caractères de contrôle ni de direction."""
    propre = " ".join("".join(c if c.isprintable() else " " for c in texte).split())
    if len(propre) <= longueur:
        return propre
    coupe = propre[: longueur - 1]
    if " " in coupe[longueur // 2 :]:
        coupe = coupe.rsplit(" ", 1)[0]
    return coupe.rstrip(" ,;:.") + "…"


def nom_court(expediteur: str) -> str:
    """« Camille Lefèvre <c.l@exemple.example> » devient « Camille Lefèvre »."""
    nom = expediteur.split("<", 1)[0].strip()
    if len(nom) > 1 and nom[0] == nom[-1] == '"':
        nom = nom[1:-1].strip()
    return une_ligne(nom or expediteur.strip().strip("<>"), 80) or "expéditeur inconnu"


def pluriel(n: int, singulier: str, pluriel_: str) -> str:
    return f"{n} {singulier if n <= 1 else pluriel_}"


def date_courte(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def libelle_categorie(categorie: str, libelles: Mapping[str, str]) -> str:
    if not categorie:
        return NON_CLASSE
    return libelles.get(categorie, categorie.replace("_", " ").capitalize())


def sans_accents(texte: str) -> str:
    decompose = unicodedata.normalize("NFKD", texte)
    return "".join(c for c in decompose if not unicodedata.combining(c))
