"""`courrier digest` : le digest du maire affiché, écrit en HTML ou envoyé par courriel."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from courrier.config import reglages
from interfaces.cli_commun import (
    commande,
    console,
    erreurs,
    ouvrir_registre,
    preparer_traces,
)
from noyau.erreurs import CourrierErreur, raison_systeme


@commande
def digest_du_maire(
    sortie: Annotated[
        Path | None,
        typer.Option("--sortie", help="Écrire le digest en HTML dans ce fichier (FICHIER.html)."),
    ] = None,
    envoyer: Annotated[
        bool,
        typer.Option("--envoyer", help="L'envoyer par courriel ; jamais deux fois le même jour."),
    ] = False,
    jour: Annotated[
        str | None,
        typer.Option("--jour", help="Le jour du digest, AAAA-MM-JJ (par défaut aujourd'hui)."),
    ] = None,
) -> None:
    """Prépare le digest du maire ; l'affiche, l'écrit (--sortie) ou l'envoie (--envoyer)."""

    from courrier.digest import image_en_ligne, rendre_html, rendre_texte
    from noyau.calendrier import date_en_lettres

    r = reglages()
    preparer_traces(r)
    try:
        le_jour = date.fromisoformat(jour.strip()) if jour else None
    except ValueError:
        raise CourrierErreur(
            f"Le jour « {jour} » n'est pas une date au format AAAA-MM-JJ (par exemple 2026-11-23)."
        ) from None
    if envoyer:
        from courrier.publication import verifier_envoi_possible

        verifier_envoi_possible(r)  # une phrase qui nomme la variable manquante, avant tout
    from courrier.publication import preparer

    registre = ouvrir_registre()
    le_jour = le_jour or registre.aujourd_hui()
    if sortie is not None or not envoyer:
        preparation = preparer(registre, r, le_jour)
        d = preparation.digest
        if sortie is None:
            sys.stdout.write(rendre_texte(d))
        else:
            image = image_en_ligne(preparation.graphique) if preparation.graphique else None
            try:
                sortie.write_text(rendre_html(d, image), encoding="utf-8")
            except OSError as e:
                raise CourrierErreur(
                    f"Impossible d'écrire le digest dans {sortie} : {raison_systeme(e)}."
                ) from e
            console.print(f"Digest écrit dans {sortie} : {escape(d.objet)}.", highlight=False)
    if not envoyer:
        return

    from courrier.publication import envoi_smtp, publier_digests

    quand = date_en_lettres(le_jour, jour_semaine=True)
    console.print(f"Envoi du digest du {quand}…", highlight=False)
    # Sans orchestrateur, comme la relève à la main : pas de serveur Prefect temporaire à démarrer,
    # qui ne démarrait parfois pas à temps sur une machine chargée. Les reprises sont les mêmes
    # que celles de la tâche du flow `digest` (le digest planifié).
    try:
        resultat = publier_digests(registre, r, le_jour, envoi_smtp(r))
    except CourrierErreur as e:
        erreurs.print(f"[bold red]Erreur :[/] {escape(str(e))}", highlight=False)
        raise typer.Exit(1) from None
    finally:
        registre.fermer()
    if resultat.statut == "envoye":
        console.print(
            f"Digest du {quand} envoyé à {', '.join(resultat.destinataires)} : "
            f"{escape(resultat.objet.partition(' : ')[2])}.",
            highlight=False,
        )
    elif resultat.statut == "deja_envoye":
        console.print(
            f"Le digest du {quand} a déjà été envoyé : rien de plus n'est parti.", highlight=False
        )
    else:
        erreurs.print(
            f"Un envoi du digest du {quand} a commencé sans que le serveur le confirme : "
            "il n'est pas renvoyé, pour ne pas doubler. Vérifiez la boîte du maire.",
            highlight=False,
        )
        raise typer.Exit(1)
