"""Les élus référents et la répartition du courrier (`regles/elus.yaml`).

`charger_repartition(dossier)` lit et vérifie le fichier : une faute (YAML mal formé, élu
inconnu dans une règle, catégorie inconnue, adresse sans « @ ») arrête le démarrage avec une
phrase qui nomme le fichier, comme pour les autres règles. `Repartition.elu_pour(...)` est une
fonction pure : la première règle qui s'applique désigne l'élu, sinon personne.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from noyau.analyse import CATEGORIE_DE_REPLI
from noyau.erreurs import ConfigurationErreur

DOSSIER_LIVRE = Path(__file__).resolve().parent
FICHIER = "elus.yaml"
_IDENTIFIANT = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_CHAMPS_ELU = {"nom", "fonction", "courriel", "compte"}
_CHAMPS_REGLE = {"elu", "categories", "services", "mots_cles"}


@dataclass(frozen=True)
class Elu:
    ident: str
    nom: str
    fonction: str
    courriel: str = ""
    compte: str = ""

    @property
    def libelle(self) -> str:
        return f"{self.nom} ({self.fonction})" if self.fonction else self.nom


@dataclass(frozen=True)
class RegleRepartition:
    elu: str
    categories: frozenset[str] = frozenset()
    services: frozenset[str] = frozenset()
    mots_cles: tuple[str, ...] = ()  # déjà ramenés à la forme de comparaison


@dataclass(frozen=True)
class Repartition:
    elus: Mapping[str, Elu] = field(default_factory=dict)
    regles: tuple[RegleRepartition, ...] = ()

    def elu_pour(self, categorie: str, service: str, objet: str, texte: str) -> str:
        """L'identifiant de l'élu référent d'un courrier analysé, ou "" si aucune règle."""
        cherche = ""
        for regle in self.regles:
            if categorie in regle.categories or service in regle.services:
                return regle.elu
            if regle.mots_cles:
                # Le texte n'est ramené à la forme de comparaison qu'une fois, et borné : une
                # lettre de 300 pages ne coûte pas plus qu'une longue lettre.
                cherche = cherche or _forme(f"{objet}\n{texte[:50_000]}")
                if any(mot in cherche for mot in regle.mots_cles):
                    return regle.elu
        return ""

    def elu_du_compte(self, compte: str) -> Elu | None:
        for elu in self.elus.values():
            if elu.compte and elu.compte == compte:
                return elu
        return None

    def libelle(self, ident: str) -> str:
        """Le nom affiché d'un élu ; un identifiant qui n'est plus réglé reste lisible."""
        if not ident:
            return ""
        elu = self.elus.get(ident)
        return elu.libelle if elu is not None else f"{ident} (élu qui n'est plus réglé)"


def _forme(texte: str) -> str:
    sans = unicodedata.normalize("NFKD", texte.casefold())
    return " ".join("".join(c for c in sans if not unicodedata.combining(c)).split())


def charger_repartition(dossier: Path | None = None) -> Repartition:
    """Lit `elus.yaml` du dossier des règles ; un fichier absent : personne n'est réglé."""
    dossier = Path(dossier) if dossier is not None else DOSSIER_LIVRE
    chemin = dossier / FICHIER
    try:
        texte = chemin.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Repartition()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigurationErreur(
            f"Le fichier de règles {chemin} est illisible ({e}) : il doit être un texte UTF-8."
        ) from e
    return lire_repartition(texte, str(chemin), _categories_du_dossier(dossier))


@lru_cache(maxsize=8)
def repartition_du_dossier(dossier: Path | None) -> Repartition:
    """La répartition lue une fois par processus (la page web la consulte à chaque page)."""
    return charger_repartition(dossier)


def _categories_du_dossier(dossier: Path) -> frozenset[str]:
    # Les catégories sont celles de categories.yaml, ajouts de l'intégrateur compris. Illisible,
    # ce fichier est signalé par le chargement des règles : ici, on retombe sur celles livrées.
    for lieu in (dossier, DOSSIER_LIVRE):
        try:
            brut = yaml.safe_load((lieu / "categories.yaml").read_text(encoding="utf-8"))
            return frozenset(str(c) for c in brut["categories"]) | {CATEGORIE_DE_REPLI}
        except (OSError, UnicodeDecodeError, yaml.YAMLError, KeyError, TypeError):
            continue
    return frozenset({CATEGORIE_DE_REPLI})


def lire_repartition(
    texte: str, chemin: str = FICHIER, categories: Iterable[str] | None = None
) -> Repartition:
    """`categories` : celles des règles (par défaut, le categories.yaml livré)."""
    if categories is None:
        categories = _categories_du_dossier(DOSSIER_LIVRE)

    def erreur(probleme: str) -> ConfigurationErreur:
        return ConfigurationErreur(f"Dans le fichier de règles {chemin}, {probleme}.")

    elus_bruts, regles_brutes = _rubriques(texte, chemin, erreur)
    elus = _lire_elus(elus_bruts, erreur)
    connues = frozenset(categories)
    regles = [
        _lire_regle(rang, brut, elus, connues, erreur)
        for rang, brut in enumerate(regles_brutes, start=1)
    ]
    return Repartition(elus, tuple(regles))


def _rubriques(
    texte: str, chemin: str, erreur: Callable[[str], ConfigurationErreur]
) -> tuple[dict[Any, Any], list[Any]]:
    """Le YAML lu, et ses deux rubriques vérifiées : les élus, puis les règles."""
    try:
        contenu = yaml.safe_load(texte)
    except yaml.YAMLError as e:
        marque = getattr(e, "problem_mark", None)
        ligne = f" à la ligne {marque.line + 1}" if marque is not None else ""
        raise ConfigurationErreur(
            f"Le fichier de règles {chemin} n'est pas un YAML valide{ligne} "
            f"({getattr(e, 'problem', None) or 'syntaxe incorrecte'})."
        ) from e
    contenu = {} if contenu is None else contenu
    if not isinstance(contenu, dict):
        raise erreur("il doit contenir les rubriques « elus » et « repartition »")
    inconnues = set(contenu) - {"elus", "repartition"}
    if inconnues:
        raise erreur(f"la rubrique « {sorted(map(str, inconnues))[0]} » est inconnue")
    elus_bruts = contenu.get("elus") or {}
    regles_brutes = contenu.get("repartition") or []
    if not isinstance(elus_bruts, dict):
        raise erreur("la rubrique « elus » doit contenir des élus « identifiant: {nom: …} »")
    if not isinstance(regles_brutes, list):
        raise erreur("la rubrique « repartition » doit être une liste de règles")
    return elus_bruts, regles_brutes


def _lire_elus(
    elus_bruts: dict[Any, Any], erreur: Callable[[str], ConfigurationErreur]
) -> dict[str, Elu]:
    elus: dict[str, Elu] = {}
    comptes: set[str] = set()
    for ident, brut in elus_bruts.items():
        if not isinstance(ident, str) or not _IDENTIFIANT.match(ident):
            raise erreur(
                f"l'identifiant d'élu « {ident} » ne convient pas : minuscules sans accent, "
                "chiffres et « _ », 40 caractères au plus"
            )
        if not isinstance(brut, dict):
            raise erreur(f"l'élu « {ident} » doit avoir un nom et une fonction")
        if set(brut) - _CHAMPS_ELU:
            raise erreur(
                f"le champ « {sorted(map(str, set(brut) - _CHAMPS_ELU))[0]} » de l'élu "
                f"« {ident} » est inconnu (nom, fonction, courriel, compte)"
            )
        elu = Elu(
            ident=ident,
            nom=_texte(brut.get("nom"), f"le nom de l'élu « {ident} »", erreur),
            fonction=_texte(brut.get("fonction"), f"la fonction de l'élu « {ident} »", erreur),
            courriel=_courriel(brut.get("courriel"), ident, erreur),
            compte=_texte(brut.get("compte"), f"le compte de l'élu « {ident} »", erreur, vide=True)
            .strip()
            .lower(),
        )
        if elu.compte:
            if elu.compte in comptes:
                raise erreur(f"le compte « {elu.compte} » est donné à deux élus")
            comptes.add(elu.compte)
        elus[ident] = elu
    return elus


def _lire_regle(
    rang: int,
    brut: Any,
    elus: dict[str, Elu],
    connues: frozenset[str],
    erreur: Callable[[str], ConfigurationErreur],
) -> RegleRepartition:
    ou = f"la règle de répartition n°{rang}"
    if not isinstance(brut, dict):
        raise erreur(f"{ou} doit contenir « elu: … » et au moins un critère")
    if set(brut) - _CHAMPS_REGLE:
        raise erreur(
            f"le champ « {sorted(map(str, set(brut) - _CHAMPS_REGLE))[0]} » de {ou} est "
            "inconnu (elu, categories, services, mots_cles)"
        )
    elu_ident = brut.get("elu")
    if elu_ident not in elus:
        raise erreur(
            f"{ou} nomme l'élu « {elu_ident} », qui n'est pas dans la rubrique « elus »"
            + (f" (élus réglés : {', '.join(elus)})" if elus else "")
        )
    cats = _liste(brut.get("categories"), f"les catégories de {ou}", erreur)
    for c in cats:
        if c not in connues:
            raise erreur(f"la catégorie « {c} » ({ou}) est inconnue de categories.yaml")
    services = _liste(brut.get("services"), f"les services de {ou}", erreur)
    mots = tuple(_forme(m) for m in _liste(brut.get("mots_cles"), f"les mots-clés de {ou}", erreur))
    if not (cats or services or mots):
        raise erreur(f"{ou} n'a aucun critère (categories, services ou mots_cles)")
    return RegleRepartition(str(elu_ident), frozenset(cats), frozenset(services), mots)


def _texte(valeur: Any, ou: str, erreur: Any, vide: bool = False) -> str:
    if valeur is None and vide:
        return ""
    if not isinstance(valeur, str) or not valeur.strip() or len(valeur) > 200:
        raise erreur(f"{ou} doit être un texte non vide de 200 caractères au plus")
    return " ".join(valeur.split())


def _courriel(valeur: Any, ident: str, erreur: Any) -> str:
    if valeur is None or valeur == "":
        return ""
    adresse = parseaddr(valeur)[1] if isinstance(valeur, str) else ""
    if not adresse or adresse != valeur.strip() or "@" not in adresse or len(adresse) > 254:
        raise erreur(
            f"l'adresse « {str(valeur)[:80]} » de l'élu « {ident} » n'est pas une adresse "
            "courriel (par exemple p.durand@commune.example)"
        )
    return adresse


def _liste(valeur: Any, ou: str, erreur: Any) -> list[str]:
    if valeur is None:
        return []
    if not isinstance(valeur, list) or not all(
        isinstance(v, str) and v.strip() and len(v) <= 200 for v in valeur
    ):
        raise erreur(f"{ou} doivent être une liste de textes, par exemple [voirie, urbanisme]")
    return [v.strip() for v in valeur]
