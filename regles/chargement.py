"""Lire les règles de l'intégrateur (`regles/*.yaml`) et les vérifier avant tout usage.

`charger_regles(dossier)` lit les fichiers ; `lire_regles(textes)` les analyse et les vérifie
sans toucher au disque. Toute faute (YAML mal formé, catégorie inconnue, expression illisible,
poids qui n'est pas un nombre) arrête le démarrage avec une phrase qui nomme le fichier et le
problème : mieux vaut refuser de démarrer que classer le courrier avec des règles à moitié lues.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from noyau.analyse import CATEGORIE_DE_REPLI, Urgence
from noyau.erreurs import ConfigurationErreur
from regles.moteur import (
    Categorie,
    DecisionForcee,
    Nature,
    Ponderee,
    RegleExpediteur,
    Regles,
    Seuils,
)
from regles.texte import ExpressionInvalide, compiler

DOSSIER_LIVRE = Path(__file__).resolve().parent
FICHIERS_OBLIGATOIRES = (
    "categories.yaml",
    "mots_cles.yaml",
    "expediteurs.yaml",
    "urgence.yaml",
    "injection.yaml",
    "formules.yaml",
)
FICHIERS_FACULTATIFS = ("decisions.yaml",)
_IDENTIFIANT = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_REGLAGES = {
    "mots_cles.yaml": ("seuil_categorie", "poids_objet", "poids_pieces", "confiance_a_verifier"),
    "urgence.yaml": ("seuil_haute", "seuil_basse", "echeance_proche_jours"),
}


def charger_regles(dossier: Path | None = None) -> Regles:
    """Lit et vérifie les règles du dossier (par défaut, celles livrées avec Courrier)."""
    dossier = Path(dossier) if dossier is not None else DOSSIER_LIVRE
    if not dossier.is_dir():
        raise ConfigurationErreur(f"Le dossier des règles {dossier} est introuvable.")
    textes: dict[str, str] = {}
    for nom in FICHIERS_OBLIGATOIRES + FICHIERS_FACULTATIFS:
        chemin = dossier / nom
        try:
            textes[nom] = chemin.read_text(encoding="utf-8")
        except FileNotFoundError as e:
            if nom in FICHIERS_FACULTATIFS:
                continue
            raise ConfigurationErreur(
                f"Le fichier de règles {chemin} est introuvable : copiez-le depuis les règles "
                "livrées avec Courrier."
            ) from e
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigurationErreur(
                f"Le fichier de règles {chemin} est illisible ({e}) : il doit être un texte UTF-8."
            ) from e
    return lire_regles(textes, dossier)


class _Fichier:
    """Un fichier de règles en cours de lecture : chaque faute devient une phrase qui le nomme."""

    def __init__(self, nom: str, texte: str, dossier: Path | None) -> None:
        self.nom = nom
        # Un dossier composé (regles/superposition.py) lie chaque nom au vrai fichier : on nomme
        # celui-là, que la commune ou l'intégrateur ouvrira pour corriger.
        self.chemin = str((dossier / nom).resolve()) if dossier is not None else nom
        try:
            contenu = yaml.safe_load(texte)
        except yaml.YAMLError as e:
            marque = getattr(e, "problem_mark", None)
            ligne = f" à la ligne {marque.line + 1}" if marque is not None else ""
            probleme = getattr(e, "problem", None) or "syntaxe incorrecte"
            raise ConfigurationErreur(
                f"Le fichier de règles {self.chemin} n'est pas un YAML valide{ligne} ({probleme})."
            ) from e
        if contenu is None:
            contenu = {}
        if not isinstance(contenu, dict):
            raise self.erreur("il doit contenir des rubriques « nom: valeur »")
        self.contenu: dict[Any, Any] = contenu

    def erreur(self, probleme: str) -> ConfigurationErreur:
        return ConfigurationErreur(f"Dans le fichier de règles {self.chemin}, {probleme}.")

    def rubrique(self, cle: str, type_: type, obligatoire: bool = True) -> Any:
        valeur = self.contenu.get(cle)
        if valeur is None:
            if obligatoire:
                raise self.erreur(f"la rubrique « {cle} » manque")
            return type_()
        if not isinstance(valeur, type_):
            attendu = "une liste" if type_ is list else "des éléments « nom: valeur »"
            raise self.erreur(f"la rubrique « {cle} » doit contenir {attendu}")
        return valeur

    def expression(self, valeur: Any, ou: str) -> str:
        if not isinstance(valeur, str):
            raise self.erreur(
                f"l'expression {valeur!r} ({ou}) doit être un texte : mettez-la entre guillemets"
            )
        try:
            compiler(valeur)
        except ExpressionInvalide as e:
            raise self.erreur(f"l'expression {e} ({ou})") from e
        return valeur

    def nombre(self, valeur: Any, ou: str, minimum: float = 0.0) -> float:
        if isinstance(valeur, bool) or not isinstance(valeur, int | float) or valeur < minimum:
            raise self.erreur(f"{ou} doit être un nombre au moins égal à {minimum:g}")
        return float(valeur)

    def texte(self, valeur: Any, ou: str, longueur: int = 200, vide: bool = False) -> str:
        if valeur is None and vide:
            return ""
        if not isinstance(valeur, str) or (not vide and not valeur.strip()):
            raise self.erreur(f"{ou} doit être un texte non vide")
        if len(valeur) > longueur:
            raise self.erreur(f"{ou} dépasse {longueur} caractères")
        return valeur.strip()

    def categorie(self, valeur: Any, connues: Mapping[str, Categorie], ou: str) -> str:
        if valeur not in connues:
            raise self.erreur(
                f"la catégorie « {valeur} » ({ou}) est inconnue ; catégories de "
                f"categories.yaml : {', '.join(connues)}"
            )
        return str(valeur)

    def urgence(self, valeur: Any, ou: str) -> Urgence:
        try:
            return Urgence(valeur)
        except ValueError as e:
            raise self.erreur(
                f"l'urgence « {valeur} » ({ou}) est inconnue : haute, normale ou basse"
            ) from e

    def ponderees(self, valeur: Any, ou: str) -> tuple[Ponderee, ...]:
        if not isinstance(valeur, dict):
            raise self.erreur(f"{ou} doit contenir des lignes « expression: poids »")
        return tuple(
            (self.expression(e, ou), self.nombre(p, f"le poids de « {e} » ({ou})"))
            for e, p in valeur.items()
        )

    def expressions(self, valeur: Any, ou: str) -> tuple[str, ...]:
        if not isinstance(valeur, list):
            raise self.erreur(f"{ou} doit être une liste d'expressions")
        return tuple(self.expression(e, ou) for e in valeur)

    def seuils(self) -> dict[str, float]:
        brut = self.rubrique("reglages", dict, obligatoire=False)
        permis = _REGLAGES.get(self.nom, ())
        sortie: dict[str, float] = {}
        for cle, valeur in brut.items():
            if cle not in permis:
                raise self.erreur(
                    f"le réglage « {cle} » est inconnu ; réglages possibles : {', '.join(permis)}"
                )
            sortie[cle] = self.nombre(valeur, f"le réglage « {cle} »")
        return sortie


def _categories(f: _Fichier) -> dict[str, Categorie]:
    brutes = f.rubrique("categories", dict)
    categories: dict[str, Categorie] = {}
    for ident, fiche in brutes.items():
        if not isinstance(ident, str) or not _IDENTIFIANT.match(ident):
            raise f.erreur(
                f"l'identifiant de catégorie « {ident} » doit être en minuscules sans accent "
                "(lettres, chiffres, « _ »)"
            )
        if not isinstance(fiche, dict):
            raise f.erreur(f"la catégorie « {ident} » doit avoir un libellé et un service")
        categories[ident] = Categorie(
            id=ident,
            libelle=f.texte(fiche.get("libelle"), f"le libellé de « {ident} »"),
            service=f.texte(fiche.get("service"), f"le service de « {ident} »", longueur=120),
            contact=f.texte(fiche.get("contact"), f"le contact de « {ident} »", 320, vide=True),
            urgence=f.urgence(fiche.get("urgence", "normale"), f"catégorie « {ident} »"),
        )
    if CATEGORIE_DE_REPLI not in categories:
        raise f.erreur(
            f"la catégorie « {CATEGORIE_DE_REPLI} » manque : c'est la catégorie de repli, où va "
            "ce que les règles ne savent pas classer ; remettez-la (son libellé et son service "
            "peuvent changer)"
        )
    return categories


def _expediteurs(f: _Fichier, categories: Mapping[str, Categorie]) -> tuple[RegleExpediteur, ...]:
    regles = []
    for rang, brute in enumerate(f.rubrique("expediteurs", list, obligatoire=False), start=1):
        ou = f"expéditeur n° {rang}"
        if not isinstance(brute, dict):
            raise f.erreur(f"l'{ou} doit avoir au moins un motif")
        nature = brute.get("nature", "usager")
        try:
            nature = Nature(nature)
        except ValueError as e:
            raise f.erreur(
                f"la nature « {nature} » ({ou}) est inconnue : {', '.join(n.value for n in Nature)}"
            ) from e
        categorie = brute.get("categorie")
        regles.append(
            RegleExpediteur(
                motif=f.texte(brute.get("motif"), f"le motif de l'{ou}", 320).lower(),
                nom=f.texte(brute.get("nom"), f"le nom de l'{ou}", vide=True),
                nature=nature,
                categorie=None if categorie is None else f.categorie(categorie, categories, ou),
                poids=f.nombre(brute.get("poids", 3), f"le poids de l'{ou}"),
            )
        )
    return tuple(regles)


def _indices(f: _Fichier) -> dict[Nature, tuple[str, ...]]:
    indices: dict[Nature, tuple[str, ...]] = {}
    for nature, expressions in f.rubrique("indices_nature", dict, obligatoire=False).items():
        try:
            cle = Nature(nature)
        except ValueError as e:
            raise f.erreur(f"la nature « {nature} » (indices_nature) est inconnue") from e
        indices[cle] = f.expressions(expressions, f"indices de « {nature} »")
    return indices


def _decisions(f: _Fichier, categories: Mapping[str, Categorie]) -> tuple[DecisionForcee, ...]:
    decisions = []
    for rang, brute in enumerate(f.rubrique("decisions", list, obligatoire=False), start=1):
        ou = f"décision n° {rang}"
        if not isinstance(brute, dict):
            raise f.erreur(f"la {ou} doit avoir un nom, des conditions « si » et un « alors »")
        si, alors = brute.get("si"), brute.get("alors")
        if not isinstance(si, dict) or not set(si) & {"expediteur", "objet", "texte"}:
            raise f.erreur(f"la {ou} doit avoir au moins une condition (expediteur, objet, texte)")
        if not isinstance(alors, dict) or not set(alors) & {"categorie", "urgence", "service"}:
            raise f.erreur(f"la {ou} doit imposer une catégorie, une urgence ou un service")
        inconnues = (set(si) - {"expediteur", "objet", "texte"}) | (
            set(alors) - {"categorie", "urgence", "service"}
        )
        if inconnues:
            raise f.erreur(f"la {ou} contient une rubrique inconnue : « {sorted(inconnues)[0]} »")
        decisions.append(
            DecisionForcee(
                nom=f.texte(brute.get("nom", ou), f"le nom de la {ou}", 300),
                expediteur=(
                    f.texte(si["expediteur"], f"l'expéditeur de la {ou}", 320).lower()
                    if "expediteur" in si
                    else None
                ),
                objet=f.expression(si["objet"], ou) if "objet" in si else None,
                texte=f.expression(si["texte"], ou) if "texte" in si else None,
                categorie=(
                    f.categorie(alors["categorie"], categories, ou)
                    if "categorie" in alors
                    else None
                ),
                urgence=f.urgence(alors["urgence"], ou) if "urgence" in alors else None,
                service=(
                    f.texte(alors["service"], f"le service de la {ou}", 120)
                    if "service" in alors
                    else None
                ),
            )
        )
    return tuple(decisions)


def lire_regles(textes: Mapping[str, str], dossier: Path | None = None) -> Regles:
    """Analyse et vérifie les textes des fichiers de règles (nom de fichier → contenu YAML)."""
    manquants = [n for n in FICHIERS_OBLIGATOIRES if n not in textes]
    if manquants:
        lieu = f"{dossier / manquants[0]}" if dossier is not None else manquants[0]
        raise ConfigurationErreur(f"Le fichier de règles {lieu} manque.")
    f = {n: _Fichier(n, t, dossier) for n, t in textes.items()}

    categories = _categories(f["categories.yaml"])

    fm = f["mots_cles.yaml"]
    mots_cles: dict[str, tuple[Ponderee, ...]] = {}
    for cat, mots in fm.rubrique("mots_cles", dict).items():
        mots_cles[fm.categorie(cat, categories, "mots_cles")] = fm.ponderees(
            mots, f"mots-clés de « {cat} »"
        )

    fe = f["expediteurs.yaml"]
    fu = f["urgence.yaml"]
    fi = f["injection.yaml"]
    ff = f["formules.yaml"]
    fd = f.get("decisions.yaml")
    return Regles(
        categories=categories,
        mots_cles=mots_cles,
        expediteurs=_expediteurs(fe, categories),
        indices_nature=_indices(fe),
        urgence_haute=fu.ponderees(fu.rubrique("haute", dict), "haute"),
        urgence_basse=fu.ponderees(fu.rubrique("basse", dict, obligatoire=False), "basse"),
        injection=fi.expressions(fi.rubrique("expressions", list), "expressions"),
        demande=ff.ponderees(ff.rubrique("demande", dict), "demande"),
        politesse=ff.expressions(ff.rubrique("politesse", list, obligatoire=False), "politesse"),
        appel=ff.expressions(ff.rubrique("appel", list, obligatoire=False), "appel"),
        condition=ff.expressions(ff.rubrique("condition", list, obligatoire=False), "condition"),
        information=ff.expressions(
            ff.rubrique("information", list, obligatoire=False), "information"
        ),
        decisions=_decisions(fd, categories) if fd is not None else (),
        seuils=_seuils({**fm.seuils(), **fu.seuils()}),
    )


def _seuils(valeurs: Mapping[str, float]) -> Seuils:
    defaut = Seuils()
    return Seuils(
        seuil_categorie=valeurs.get("seuil_categorie", defaut.seuil_categorie),
        poids_objet=valeurs.get("poids_objet", defaut.poids_objet),
        poids_pieces=valeurs.get("poids_pieces", defaut.poids_pieces),
        confiance_a_verifier=valeurs.get("confiance_a_verifier", defaut.confiance_a_verifier),
        seuil_haute=valeurs.get("seuil_haute", defaut.seuil_haute),
        seuil_basse=valeurs.get("seuil_basse", defaut.seuil_basse),
        echeance_proche_jours=int(
            valeurs.get("echeance_proche_jours", defaut.echeance_proche_jours)
        ),
    )
