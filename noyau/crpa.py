"""Les règles du code des relations entre le public et l'administration (CRPA) telles que les
brouillons et les délais les appliquent : le sens du silence de la mairie, ses délais, les
services et leurs coordonnées. Des types et des calculs, aucune lecture de fichier (celle de
`regles/crpa.yaml` est dans `regles/crpa.py`)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

from noyau.calendrier import fin_de_delai

A_COMPLETER = "[à compléter]"
ATTESTATION_CRPA = "article L. 232-3 du code des relations entre le public et l'administration"

Sens = Literal["acceptation", "rejet", "aucune"]


def normaliser(texte: str) -> str:
    """Minuscules, sans accents, apostrophes droites, espaces simples : pour comparer."""
    decompose = unicodedata.normalize("NFKD", texte.casefold())
    sans_accents = "".join(c for c in decompose if not unicodedata.combining(c))
    return " ".join(sans_accents.replace("’", "'").replace("ʼ", "'").split())


def contient_un(texte: str, mots: tuple[str, ...]) -> bool:
    return any(re.search(r"(?<!\w)" + re.escape(mot), texte) for mot in mots)


def une_ligne(texte: str, longueur: int) -> str:
    """Une valeur venue d'ailleurs, sur une seule ligne, sans caractères de contrôle, bornée."""
    propre = "".join(c if c.isprintable() else " " for c in texte)
    propre = " ".join(propre.split())
    return propre if len(propre) <= longueur else propre[: longueur - 1].rstrip() + "…"


@dataclass(frozen=True)
class RegleSilence:
    """Ce que vaut le silence de la mairie sur une demande, et au bout de quel délai."""

    nom: str
    sens: Sens
    delai_mois: int = 2
    delai_jours: int = 0
    jours_ouvres: bool = False
    recours: str = "droit_commun"
    reference: str = ""
    mention: str = ""
    attestation: str = ATTESTATION_CRPA  # qui délivre l'attestation d'une acceptation tacite
    categories: tuple[str, ...] = ()
    mots_cles: tuple[str, ...] = ()  # normalisés (sans accents, minuscules)
    et_mots_cles: tuple[str, ...] = ()

    def convient(self, categorie: str, texte_normalise: str) -> bool:
        if self.categories and categorie not in self.categories:
            return False
        if self.mots_cles and not contient_un(texte_normalise, self.mots_cles):
            return False
        return not self.et_mots_cles or contient_un(texte_normalise, self.et_mots_cles)


@dataclass(frozen=True)
class Contact:
    """Le service chargé du dossier et ses coordonnées (CRPA, R112-5, 2°)."""

    nom: str
    adresse: str = ""
    email: str = ""
    telephone: str = ""


@dataclass(frozen=True)
class ReglesCrpa:
    general: RegleSilence = field(
        default_factory=lambda: RegleSilence(nom="general", sens="acceptation")
    )
    exceptions: tuple[RegleSilence, ...] = ()
    proroger: bool = True
    alsace_moselle: bool = False
    tribunal_administratif: str = f"tribunal administratif de {A_COMPLETER}"
    recours: Mapping[str, str] = field(default_factory=dict)
    services: Mapping[str, Contact] = field(default_factory=dict)  # par nom de service
    redaction_llm: Mapping[str, bool] = field(default_factory=dict)  # par catégorie
    sans_brouillon: frozenset[str] = frozenset()
    service_par_categorie: Mapping[str, str] = field(default_factory=dict)  # categories.yaml
    fichier: Path | None = None

    def regle_pour(self, categorie: str, objet: str = "", demande: str = "") -> RegleSilence:
        """La première exception qui convient, sinon la règle générale."""
        texte = normaliser(f"{objet} \n {demande}")
        for regle in self.exceptions:
            if regle.convient(categorie, texte):
                return regle
        return self.general

    def date_decision(self, recu_le: date, regle: RegleSilence) -> date | None:
        """Le jour à la fin duquel naît la décision implicite ; None sans décision implicite."""
        if regle.sens == "aucune":
            return None
        return fin_de_delai(
            recu_le,
            mois=regle.delai_mois,
            jours=regle.delai_jours,
            jours_ouvres=regle.jours_ouvres,
            proroger=self.proroger,
            alsace_moselle=self.alsace_moselle,
        )

    def texte_recours(self, nom: str) -> str:
        texte = self.recours.get(nom) or self.recours.get("droit_commun") or _RECOURS_SECOURS
        return texte.replace("{tribunal_administratif}", self.tribunal_administratif)


_RECOURS_SECOURS = (
    "Toute décision prise sur votre demande peut être contestée dans un délai de deux mois, par "
    "un recours gracieux adressé au maire ou par un recours contentieux devant le "
    "{tribunal_administratif} (application Télérecours citoyens : www.telerecours.fr)."
)
