"""`courrier registre export` et `courrier registre lister` : le registre écrit dans un fichier
(CSV, XLSX, PDF/A annuel) ou affiché dans le terminal."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from courrier.config import reglages
from interfaces import cli_preuves
from interfaces.cli_commun import afficher_registre, commande, console, ouvrir_registre


class FormatExport(StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    pdf = "pdf"


@commande
def registre_export(
    format_: Annotated[FormatExport, typer.Option("--format", help="csv, xlsx ou pdf.")],
    sortie: Annotated[Path, typer.Option("--sortie", help="Fichier à écrire.")],
    annee: Annotated[
        int | None,
        typer.Option("--annee", help="PDF : l'année du registre (par défaut l'année en cours)."),
    ] = None,
) -> None:
    """Écrit le registre : tout en CSV ou XLSX, ou le registre annuel imprimable en PDF/A."""
    registre = ouvrir_registre()
    if format_ is FormatExport.pdf:
        from registre.export_pdf import Preuve, exporter_pdf

        ancres = cli_preuves.verifier_ancres_reglees(registre)
        dernier, tete = registre.tete()
        preuve = Preuve(
            dernier,
            tete,
            ancres.prouvee.phrase() if ancres.prouvee else "",
            ancres.jeton,
        )
        annee = annee or registre.aujourd_hui().year
        nombre = exporter_pdf(
            registre.courriers(), sortie, reglages().commune, annee, preuve, registre.horloge()
        )
        console.print(
            f"Registre {annee} : {nombre} courrier(s) écrit(s) dans {sortie} (PDF/A-2B).",
            highlight=False,
        )
        return
    from registre.export import exporter

    nombre = exporter(registre.courriers(), format_.value, sortie)
    console.print(f"{nombre} ligne(s) écrite(s) dans {sortie}.", highlight=False)


@commande
def registre_lister() -> None:
    """Affiche le registre dans le terminal."""
    afficher_registre(ouvrir_registre().courriers())
