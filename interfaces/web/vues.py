"""Ce que les pages montrent, en petits enregistrements déjà mis en mots (jamais d'ORM au gabarit
sans passer par ici pour ce qui demande un calcul : échéances, libellés, ordre de la file)."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from courrier.digest import LIBELLES_ALERTE, j_moins, nom_court
from noyau.delais import depuis_json, prochaine
from noyau.domaine import StatutBrouillon
from noyau.fiches import FicheBrouillon, FicheCourrier, FicheEvenement
from noyau.pages_ocr import (
    SEUIL_PAR_DEFAUT,
    description,
    pages_depuis_json,
    signalement_du_courrier,
)
from registre.registre import LIBELLES_STATUT_BROUILLON, heure_de_paris
from registre.tables import BrouillonLigne, Courrier, Evenement

LIBELLES_BROUILLON = {"reponse": "Réponse", "accuse_reception": "Accusé de réception"}
LIBELLES_STATUT_COURRIER = {
    "enregistre": "enregistré",
    "extrait": "lu",
    "erreur": "erreur de lecture",
    "analyse": "analysé",
    "repondu": "répondu",
}
LIBELLES_CANAL = {"email": "courriel", "scan": "lettre numérisée", "depot": "fichier importé"}
LIBELLES_URGENCE = {"haute": "urgent", "normale": "normale", "basse": "basse"}
LIBELLES_EVENEMENT = {
    "recu": "reçu",
    "enregistre": "enregistré",
    "extrait": "lu",
    "erreur": "erreur",
    "doublon": "doublon reconnu",
    "analyse": "analysé",
    "brouillon": "brouillon préparé",
    "digest": "digest",
    "correction": "classement corrigé",
    "decision": "décision",
    "envoi": "envoi",
    "compte": "compte",
    "commentaire": "commentaire d'élu",
}


def libelle_statut_brouillon(statut: str) -> str:
    try:
        return LIBELLES_STATUT_BROUILLON[StatutBrouillon(statut)]
    except ValueError:
        return statut


def prepare_par_ia(
    courrier: Courrier | FicheCourrier, ligne: BrouillonLigne | FicheBrouillon
) -> bool:
    return ligne.prepare_par_ia or ligne.auteur.startswith("llm")


def analyse_par_ia(courrier: Courrier | FicheCourrier) -> bool:
    return courrier.moteur.startswith("llm")


def alertes(courrier: Courrier | FicheCourrier, seuil_ocr: float = SEUIL_PAR_DEFAUT) -> list[str]:
    lecture = signalement_du_courrier(courrier, seuil_ocr)
    return [
        LIBELLES_ALERTE.get(a, a.replace("_", " "))
        for a in (x.strip() for x in courrier.alertes.split(","))
        if a and a != "decision_forcee"
    ] + ([lecture] if lecture else [])


def pages_ocr(courrier: Courrier | FicheCourrier, seuil_ocr: float) -> list[tuple[str, list[str]]]:
    """Pour la page du courrier : (« Document » ou la pièce, une ligne par page lue par OCR)."""
    blocs = [("Document", courrier.pages_ocr)] + [
        (f"Pièce {p.rang} ({p.nom})", p.pages_ocr) for p in courrier.pieces
    ]
    return [
        (titre, [description(page, seuil_ocr) for page in pages_depuis_json(texte)])
        for titre, texte in blocs
        if pages_depuis_json(texte)
    ]


def echeance(courrier: Courrier | FicheCourrier, aujourd_hui: date) -> str:
    if courrier.echeance is None:
        return ""
    return f"{j_moins(courrier.echeance, aujourd_hui)} ({courrier.echeance:%d/%m/%Y})"


def delais_legaux(courrier: Courrier | FicheCourrier, aujourd_hui: date) -> list[str]:
    """Chaque délai légal du courrier, lisible : « rejet implicite J-12 (15/01/2027) »."""
    lignes = []
    for e in depuis_json(courrier.echeances_legales):
        if e.suspendue_le is not None:
            lignes.append(e.texte)
        else:
            lignes.append(f"{e.libelle} {j_moins(e.le, aujourd_hui)} ({e.le:%d/%m/%Y})")
    return lignes


@dataclass(frozen=True)
class EntreeFile:
    """Un brouillon dans la file d'attente."""

    ident: int
    numero: str
    type: str
    objet: str
    expediteur: str
    urgent: bool
    echeance: date | None
    j: str
    delai_legal: str  # le plus proche : « acceptation implicite J-40 (02/02/2027) »
    ia: bool
    alertes: list[str]
    statut: str
    libelle_statut: str
    raison: str
    mode: str
    categorie: str

    limite: date | None = None  # la plus proche des échéances, annoncée ou légale
    elu: str = ""  # l'identifiant de l'élu référent (regles/elus.yaml)

    @property
    def ordre(self) -> tuple[int, date, str, int]:
        return (0 if self.urgent else 1, self.limite or date.max, self.numero, self.ident)


def entree_file(
    courrier: Courrier | FicheCourrier,
    ligne: BrouillonLigne | FicheBrouillon,
    aujourd_hui: date,
    categories: Mapping[str, str],
    seuil_ocr: float = SEUIL_PAR_DEFAUT,
) -> EntreeFile:
    legal = prochaine(depuis_json(courrier.echeances_legales))
    limites = [d for d in (courrier.echeance, legal.le if legal else None) if d is not None]
    return EntreeFile(
        ident=ligne.id,
        numero=courrier.numero,
        type=LIBELLES_BROUILLON.get(ligne.type, ligne.type),
        objet=courrier.objet or ligne.objet or f"(fichier {courrier.nom_fichier})",
        expediteur=nom_court(courrier.expediteur) if courrier.expediteur else "",
        urgent=courrier.urgence == "haute",
        echeance=courrier.echeance,
        j=j_moins(courrier.echeance, aujourd_hui) if courrier.echeance else "",
        delai_legal=(
            f"{legal.libelle} {j_moins(legal.le, aujourd_hui)} ({legal.le:%d/%m/%Y})"
            if legal
            else ""
        ),
        limite=min(limites, default=None),
        ia=prepare_par_ia(courrier, ligne),
        alertes=alertes(courrier, seuil_ocr),
        statut=ligne.statut,
        libelle_statut=libelle_statut_brouillon(ligne.statut),
        raison=ligne.raison,
        mode=ligne.mode,
        categorie=categories.get(courrier.categorie, courrier.categorie),
        elu=courrier.elu,
    )


def ordonner(entrees: list[EntreeFile]) -> list[EntreeFile]:
    """Urgents d'abord, puis par échéance (la plus proche d'abord), puis par numéro."""
    return sorted(entrees, key=lambda e: e.ordre)


@dataclass(frozen=True)
class LigneJournal:
    horodatage: str
    type: str
    acteur: str
    details: str


def _valeur(v: object) -> str:
    if isinstance(v, dict):
        if set(v) == {"avant", "apres"}:
            return f"« {v['avant']} » → « {v['apres']} »"
        return ", ".join(f"{k} : {_valeur(x)}" for k, x in v.items())
    if isinstance(v, list):
        return ", ".join(_valeur(x) for x in v)
    return str(v)


def ligne_journal(ev: Evenement | FicheEvenement) -> LigneJournal:
    try:
        details = json.loads(ev.details)
    except ValueError:
        details = {}
    if not isinstance(details, dict):
        details = {}
    if "remarque" in details:  # ce qu'un humain doit lire d'abord, avant la coupure à 400
        details = {"remarque": details.pop("remarque"), **details}
    texte = " ; ".join(f"{k} : {_valeur(v)}" for k, v in details.items())
    if len(texte) > 400:
        texte = texte[:399] + "…"
    return LigneJournal(
        horodatage=heure_de_paris(ev.horodatage),
        type=LIBELLES_EVENEMENT.get(ev.type, ev.type),
        acteur=ev.acteur,
        details=texte,
    )


def heure(moment: datetime | None) -> str:
    return heure_de_paris(moment)


_DANGEREUX = re.compile(r"[^A-Za-z0-9._-]+")


def nom_de_fichier_sur(nom: str, defaut: str) -> str:
    """Un nom de fichier ASCII sans chemin ni caractère spécial, pour Content-Disposition."""
    nom = nom.replace("\\", "/").rsplit("/", 1)[-1]
    nom = unicodedata.normalize("NFKD", nom).encode("ascii", "ignore").decode("ascii")
    nom = _DANGEREUX.sub("_", nom).strip("._")[:120]
    return nom or defaut
