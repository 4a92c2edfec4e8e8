"""`courrier separateur` : la feuille à glisser entre deux lettres d'une pile numérisée."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from interfaces.cli_commun import commande, console
from noyau.erreurs import CourrierErreur, raison_systeme


@commande
def separateur(
    sortie: Annotated[
        Path, typer.Option("--sortie", "-o", help="Fichier PDF à écrire (une page A4).")
    ] = Path("separateur.pdf"),
) -> None:
    """Écrit la feuille séparatrice à imprimer : posée entre deux lettres sur le copieur, elle
    fait découper la pile numérisée en un seul PDF en autant de courriers que de lettres."""
    from connecteurs.lots import pdf_separateur

    try:
        sortie.write_bytes(pdf_separateur())
    except OSError as e:
        raise CourrierErreur(
            f"Impossible d'écrire la feuille séparatrice dans « {sortie} » : {raison_systeme(e)}."
        ) from e
    console.print(
        f"Feuille séparatrice écrite dans {sortie} : imprimez-la (recto seul) et placez-la "
        "entre deux lettres avant de numériser la pile.",
        highlight=False,
        markup=False,
    )
