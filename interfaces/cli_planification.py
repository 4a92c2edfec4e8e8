"""`courrier planifier` : les horaires de la relève, du digest et de l'envoi, servis ici ou
inscrits sur un serveur Prefect."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from courrier.config import reglages
from interfaces.cli_commun import commande, console, preparer_prefect, preparer_traces
from noyau.erreurs import CourrierErreur


@commande
def planifier(
    servir: Annotated[
        bool,
        typer.Option(
            "--servir",
            help="Faire tourner les horaires ici, sans fin (avec son propre serveur Prefect).",
        ),
    ] = False,
    liste: Annotated[bool, typer.Option("--liste", help="Afficher les horaires déclarés.")] = False,
    file: Annotated[
        str, typer.Option("--file", help="File de travail Prefect (plusieurs machines).")
    ] = "courrier",
) -> None:
    """Les horaires : relève la nuit, digest le matin, envoi en journée (Europe/Paris)."""
    from courrier.planification import lignes_horaires

    if liste:
        for ligne in lignes_horaires():
            console.print(ligne, highlight=False, markup=False, soft_wrap=True)
        return
    r = reglages()
    if servir:
        # Un service : ses journaux vont à systemd, et aux exécutions visibles dans Prefect.
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    preparer_prefect(r)
    preparer_traces(r)
    if servir:
        from courrier.planification import servir as servir_horaires

        servir_horaires(
            r.donnees, lambda phrase: console.print(phrase, highlight=False, soft_wrap=True)
        )
        console.print("Planification arrêtée.")
        return
    api_url = os.environ.get("PREFECT_API_URL", "").strip()
    if not api_url:
        raise CourrierErreur(
            "Aucun serveur Prefect n'est indiqué : lancez « courrier planifier --servir » sur "
            "cette machine, ou renseignez PREFECT_API_URL pour inscrire les horaires sur un "
            "serveur existant."
        )
    from courrier.planification import installer

    noms = installer(api_url, file)
    console.print(
        f"{len(noms)} déploiement(s) inscrit(s) sur {api_url} dans la file « {file} » : "
        f"{', '.join(noms)}. Un worker les fait tourner : prefect worker start --pool {file}",
        highlight=False,
        markup=False,
    )
