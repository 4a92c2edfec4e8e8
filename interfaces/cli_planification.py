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
    installer_: Annotated[
        bool,
        typer.Option(
            "--installer",
            help="Inscrire les horaires de toutes les communes sur le serveur PREFECT_API_URL "
            "(ce que fait aussi la commande sans option).",
        ),
    ] = False,
    limite: Annotated[
        int,
        typer.Option(
            "--limite",
            min=1,
            help="Avec --servir : exécutions à la fois au plus, toutes communes ensemble ; les "
            "autres attendent leur tour.",
        ),
    ] = 2,
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
    if servir and installer_:
        raise CourrierErreur("Choisissez --servir (une machine) ou --installer (un serveur).")
    if servir:
        from courrier.service_horaires import servir as servir_horaires

        servir_horaires(
            r.donnees,
            lambda phrase: console.print(phrase, highlight=False, soft_wrap=True),
            limite=limite,
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
        soft_wrap=True,
    )


def inscrire_commune(identifiant: str) -> None:
    """Après `courrier commune ajouter` : si un serveur Prefect est réglé (PREFECT_API_URL),
    les déploiements de la nouvelle commune y sont inscrits ; les workers la prennent sans
    redémarrer. Sans serveur réglé, rien (une seule machine : `courrier planifier --servir`)."""
    api_url = os.environ.get("PREFECT_API_URL", "").strip()
    if not api_url:
        return
    file = os.environ.get("PREFECT_DEFAULT_WORK_POOL_NAME", "").strip() or "courrier"
    preparer_prefect(reglages())
    from courrier.planification import installer

    try:
        noms = installer(api_url, file, (identifiant,))
    except CourrierErreur as e:
        raise CourrierErreur(
            f"La commune « {identifiant} » est ajoutée, mais ses horaires ne sont pas inscrits "
            f"({e}) : relancez « courrier planifier --installer » quand le serveur répond."
        ) from e
    console.print(
        f"Horaires de la commune inscrits sur {api_url} dans la file « {file} » : "
        f"{', '.join(noms)}.",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
