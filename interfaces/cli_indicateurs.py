"""`courrier indicateurs` : les chiffres de la page « Indicateurs », dans le terminal ou dans un
fichier CSV ou XLSX (le format suit l'extension)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from courrier.config import reglages
from interfaces.cli_commun import commande, console, ouvrir_registre
from noyau.erreurs import CourrierErreur
from registre.indicateurs import (
    ETATS_ECHEANCE,
    SEMAINES_MAX,
    SEMAINES_PAR_DEFAUT,
    Indicateurs,
    calculer,
    exporter,
    nombre,
    pourcent,
    semaine_iso,
)


def _libelles() -> dict[str, str]:
    try:
        from regles.chargement import charger_regles

        regles = charger_regles(reglages().regles)
        return {ident: c.libelle for ident, c in regles.categories.items()}
    except CourrierErreur:
        return {}


@commande
def indicateurs(
    sortie: Annotated[
        Path | None,
        typer.Option("--sortie", help="Fichier à écrire : FICHIER.csv ou FICHIER.xlsx."),
    ] = None,
    semaines: Annotated[
        int,
        typer.Option(
            "--semaines",
            min=1,
            max=SEMAINES_MAX,
            help="Les N dernières semaines, la courante comprise.",
        ),
    ] = SEMAINES_PAR_DEFAUT,
) -> None:
    """Les indicateurs : courriers par semaine et par catégorie, brouillons validés tels quels,
    taille des modifications, délai de réponse, échéances, justesse du classement."""
    format_ = ""
    if sortie is not None:
        format_ = sortie.suffix.lower().lstrip(".")
        if format_ not in ("csv", "xlsx"):
            raise CourrierErreur(
                f"Le fichier « {sortie.name} » doit finir par .csv ou .xlsx : c'est ce qui "
                "choisit le format."
            )
    registre = ouvrir_registre()
    ind = calculer(registre.engine, registre.aujourd_hui(), semaines)
    libelles = _libelles()
    if sortie is not None:
        exporter(ind, libelles, format_, sortie)
        console.print(f"Indicateurs écrits dans {escape(str(sortie))}.", highlight=False)
        return
    _afficher(ind, libelles)


def _afficher(ind: Indicateurs, libelles: dict[str, str]) -> None:
    console.print(
        f"Courriers reçus du {ind.debut:%d/%m/%Y} au {ind.fin:%d/%m/%Y} (heure de Paris, "
        "hors absences et avis de non-remise).",
        highlight=False,
    )
    if ind.vide:
        console.print("Pas encore de données pour cette période : aucun courrier reçu.")
        return
    semaines = Table(title=f"Courriers reçus : {ind.courriers}")
    semaines.add_column("Semaine", no_wrap=True)
    semaines.add_column("Courriers", justify="right")
    for lundi, n in ind.par_semaine:
        semaines.add_row(f"{semaine_iso(lundi)} ({lundi:%d/%m})", str(n))
    console.print(semaines)
    categories = Table(title="Par catégorie")
    categories.add_column("Catégorie")
    categories.add_column("Courriers", justify="right")
    for c, n in ind.par_categorie:
        categories.add_row(escape(libelles.get(c, c)), str(n))
    console.print(categories)
    lignes = [
        f"Brouillons validés : {ind.brouillons_valides}, dont {pourcent(ind.part_tels_quels)} "
        f"tels quels ({ind.tels_quels}) ; rejetés : {ind.rejetes}.",
        *(
            f"  {v.sorte} : {v.valides} validé(s), {v.tels_quels} tel(s) quel(s) "
            f"({pourcent(v.part)})."
            for v in ind.par_sorte
        ),
        f"Part du texte changée, médiane des {len(ind.parts_changees)} brouillon(s) "
        f"modifié(s) : {pourcent(ind.mediane_modification)}.",
        f"Délai médian de réponse : {nombre(ind.delai_median)} jour(s) "
        f"({len(ind.delais_jours)} réponse(s) partie(s)).",
        "Échéances : "
        + ", ".join(f"{ETATS_ECHEANCE[k]} {n}" for k, n in ind.echeances.items())
        + ".",
        *(
            f"Classement juste ({j.moteur}) : {pourcent(j.part)} "
            f"({j.analyses - j.corriges} sur {j.analyses})."
            for j in ind.justesse
        ),
    ]
    for ligne in lignes:
        console.print(ligne, highlight=False)
