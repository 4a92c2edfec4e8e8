"""Mesure le moteur de règles sur un jeu de courriers étiquetés.

    .venv/bin/python -m regles.evaluer [FICHIER] [--regles DOSSIER]

Par défaut, FICHIER est `tests/donnees/courriers_etiquetes.yaml` et les règles sont celles
livrées avec Courrier. Affiche la justesse des catégories, la liste des erreurs (attendu →
obtenu), la justesse des urgences, celle de « réponse attendue » et de « demande d'usager »,
et les lettres d'injection mal tenues. Sort toujours avec le code 0 : c'est une mesure, le
seuil est vérifié par tests/test_regles.py.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from noyau.analyse import Alerte, Analyse, CourrierALire
from noyau.erreurs import CourrierErreur
from regles.chargement import charger_regles
from regles.moteur import MoteurRegles

JEU_PAR_DEFAUT = (
    Path(__file__).resolve().parents[1] / "tests" / "donnees" / "courriers_etiquetes.yaml"
)


@dataclass(frozen=True)
class CourrierEtiquete:
    """Un courrier du jeu de mesure et ce qu'une secrétaire en déciderait."""

    id: str
    courrier: CourrierALire
    categorie: str
    urgence: str
    reponse_attendue: bool
    est_demande_usager: bool
    injection: bool = False


@dataclass(frozen=True)
class Ecart:
    id: str
    objet: str
    attendu: str
    obtenu: str


@dataclass
class Evaluation:
    total: int = 0
    categories_justes: int = 0
    urgences_justes: int = 0
    reponses_justes: int = 0
    usagers_justes: int = 0
    erreurs_categorie: list[Ecart] = field(default_factory=list)
    erreurs_urgence: list[Ecart] = field(default_factory=list)
    injections_manquees: list[str] = field(default_factory=list)  # ids sans l'alerte
    analyses: dict[str, Analyse] = field(default_factory=dict)

    @property
    def justesse_categorie(self) -> float:
        return self.categories_justes / self.total if self.total else 0.0

    @property
    def justesse_urgence(self) -> float:
        return self.urgences_justes / self.total if self.total else 0.0

    @property
    def justesse_reponse(self) -> float:
        return self.reponses_justes / self.total if self.total else 0.0

    @property
    def justesse_usager(self) -> float:
        return self.usagers_justes / self.total if self.total else 0.0


def lire_jeu(chemin: Path) -> list[CourrierEtiquete]:
    """Les courriers étiquetés d'un fichier YAML (format décrit en tête du jeu livré)."""
    contenu: dict[str, Any] = yaml.safe_load(chemin.read_text(encoding="utf-8"))
    recu_defaut = _instant(contenu.get("recu_le", "2026-11-16T08:30:00+00:00"))
    jeu = []
    for brut in contenu["courriers"]:
        jeu.append(
            CourrierEtiquete(
                id=brut["id"],
                courrier=CourrierALire(
                    numero=brut["id"],
                    canal=brut.get("canal", "email"),
                    recu_le=_instant(brut["recu_le"]) if "recu_le" in brut else recu_defaut,
                    objet=brut.get("objet") or "",
                    expediteur=brut.get("expediteur") or "",
                    texte=brut.get("texte") or "",
                ),
                categorie=brut["categorie"],
                urgence=brut["urgence"],
                reponse_attendue=bool(brut["reponse_attendue"]),
                est_demande_usager=bool(brut["est_demande_usager"]),
                injection=bool(brut.get("injection", False)),
            )
        )
    return jeu


def _instant(valeur: Any) -> datetime:
    instant = valeur if isinstance(valeur, datetime) else datetime.fromisoformat(str(valeur))
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def evaluer(jeu: Sequence[CourrierEtiquete], moteur: MoteurRegles | None = None) -> Evaluation:
    """Passe chaque courrier au moteur et compte ce qui correspond aux étiquettes."""
    moteur = moteur or MoteurRegles(charger_regles())
    mesure = Evaluation()
    for exemple in jeu:
        analyse = moteur.analyser(exemple.courrier)
        mesure.analyses[exemple.id] = analyse
        mesure.total += 1
        objet = exemple.courrier.objet
        if analyse.categorie == exemple.categorie:
            mesure.categories_justes += 1
        else:
            mesure.erreurs_categorie.append(
                Ecart(exemple.id, objet, exemple.categorie, analyse.categorie)
            )
        if analyse.urgence.value == exemple.urgence:
            mesure.urgences_justes += 1
        else:
            mesure.erreurs_urgence.append(
                Ecart(exemple.id, objet, exemple.urgence, analyse.urgence.value)
            )
        mesure.reponses_justes += analyse.reponse_attendue == exemple.reponse_attendue
        mesure.usagers_justes += analyse.est_demande_usager == exemple.est_demande_usager
        if exemple.injection and Alerte.INJECTION_SUSPECTEE not in analyse.alertes:
            mesure.injections_manquees.append(exemple.id)
    return mesure


def _pourcent(x: float) -> str:
    return f"{100 * x:.1f} %".replace(".", ",")


def _ligne(ecart: Ecart) -> str:
    objet = f"  « {ecart.objet} »" if ecart.objet else ""
    return f"  - {ecart.id} : {ecart.attendu} → {ecart.obtenu}{objet}"


def rapport(mesure: Evaluation) -> str:
    """Le rapport en français, tel que le script l'affiche."""
    lignes = [
        f"Courriers évalués : {mesure.total}",
        f"Catégorie juste : {mesure.categories_justes}/{mesure.total} "
        f"({_pourcent(mesure.justesse_categorie)})",
    ]
    if mesure.erreurs_categorie:
        lignes.append("Erreurs de catégorie (attendue → trouvée) :")
        signalees = 0
        for e in mesure.erreurs_categorie:
            alerte = Alerte.A_VERIFIER in mesure.analyses[e.id].alertes
            signalees += alerte
            lignes.append(_ligne(e) + ("  [signalé « à vérifier »]" if alerte else ""))
        lignes.append(
            f"Erreurs signalées « à vérifier » : {signalees}/{len(mesure.erreurs_categorie)}"
        )
    lignes.append(
        f"Urgence juste : {mesure.urgences_justes}/{mesure.total} "
        f"({_pourcent(mesure.justesse_urgence)})"
    )
    if mesure.erreurs_urgence:
        lignes.append("Erreurs d'urgence (attendue → trouvée) :")
        lignes += [_ligne(e) for e in mesure.erreurs_urgence]
    lignes += [
        f"Réponse attendue juste : {mesure.reponses_justes}/{mesure.total} "
        f"({_pourcent(mesure.justesse_reponse)})",
        f"Demande d'usager (CRPA) juste : {mesure.usagers_justes}/{mesure.total} "
        f"({_pourcent(mesure.justesse_usager)})",
    ]
    if mesure.injections_manquees:
        lignes.append("Injections non signalées : " + ", ".join(mesure.injections_manquees))
    return "\n".join(lignes)


def main(argv: list[str] | None = None) -> int:
    analyseur = argparse.ArgumentParser(
        prog="python -m regles.evaluer",
        description="Mesure le moteur de règles sur un jeu de courriers étiquetés.",
    )
    analyseur.add_argument(
        "fichier",
        nargs="?",
        type=Path,
        default=JEU_PAR_DEFAUT,
        help="jeu de courriers étiquetés (YAML) ; par défaut celui des tests",
    )
    analyseur.add_argument(
        "--regles", type=Path, default=None, help="dossier des règles (par défaut : celles livrées)"
    )
    arguments = analyseur.parse_args(argv)
    try:
        jeu = lire_jeu(arguments.fichier)
        moteur = MoteurRegles(charger_regles(arguments.regles))
    except (OSError, yaml.YAMLError, KeyError, ValueError) as e:
        print(f"Jeu de courriers illisible : {arguments.fichier} ({e}).", file=sys.stderr)
        return 1
    except CourrierErreur as e:  # ConfigurationErreur : sa phrase suffit
        print(str(e), file=sys.stderr)
        return 1
    print(rapport(evaluer(jeu, moteur)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
