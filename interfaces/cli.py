"""La commande `courrier`, en français. Une erreur : une phrase claire et un code non nul.

Ce fichier déclare l'application et y range les commandes ; chaque groupe de commandes a son
module (`cli_releve`, `cli_montrer`, `cli_reponses`, `cli_registre`, `cli_digest`,
`cli_planification`, `cli_web`…), ce que partagent les commandes est dans `cli_commun`. Les
noms publics d'avant le découpage restent importables d'ici.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from courrier.config import reglages
from interfaces import (
    cli_communes,
    cli_indicateurs,
    cli_lots,
    cli_oauth,
    cli_preuves,
    cli_releve,
)
from interfaces.cli_digest import digest_du_maire
from interfaces.cli_francais import Application
from interfaces.cli_montrer import LIBELLES_BROUILLON, montrer
from interfaces.cli_planification import planifier
from interfaces.cli_registre import FormatExport, registre_export, registre_lister
from interfaces.cli_reponses import envoyer_reponses, file_d_attente
from interfaces.cli_web import (
    Role,
    serveur,
    utilisateur_ajouter,
    utilisateur_desactiver,
    utilisateur_lister,
)

__all__ = [
    "LIBELLES_BROUILLON",
    "FormatExport",
    "Role",
    "app",
    "digest_du_maire",
    "envoyer_reponses",
    "file_d_attente",
    "main",
    "montrer",
    "planifier",
    "registre_app",
    "registre_export",
    "registre_lister",
    "serveur",
    "utilisateur_ajouter",
    "utilisateur_app",
    "utilisateur_desactiver",
    "utilisateur_lister",
]

app = Application(
    help="Courrier : le courrier arrivé de la mairie, relevé, enregistré et lu.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


@app.callback()
def _choisir_commune(
    commune: Annotated[
        str | None,
        typer.Option(
            "--commune",
            help="La commune visée dans une intercommunalité (sinon COURRIER_COMMUNE_ID, "
            "sinon la commune par défaut).",
        ),
    ] = None,
) -> None:
    """Courrier : le courrier arrivé de la mairie, relevé, enregistré et lu."""
    if commune is not None:
        # Les sous-processus (séparatrices, flows) héritent du choix.
        os.environ["COURRIER_COMMUNE_ID"] = commune
        reglages.cache_clear()


commune_app = Application(
    help="Les communes de l'installation (intercommunalité) : ajouter, lister.",
    no_args_is_help=True,
)
app.add_typer(commune_app, name="commune")
commune_app.command("ajouter")(cli_communes.commune_ajouter)
commune_app.command("lister")(cli_communes.commune_lister)

registre_app = Application(
    help="Le registre du courrier arrivé : export, vérification, liste.", no_args_is_help=True
)
app.add_typer(registre_app, name="registre")
registre_app.command("verifier")(cli_preuves.registre_verifier)
registre_app.command("ancrer")(cli_preuves.registre_ancrer)

app.command("releve")(cli_releve.releve)
app.command("demo")(cli_releve.demo)
app.command("separateur")(cli_lots.separateur)
app.command("sauvegarde")(cli_preuves.sauvegarde)
app.command("restaurer")(cli_preuves.restaurer)
app.add_typer(cli_preuves.conservation_app, name="conservation")
app.add_typer(cli_preuves.delai_app, name="delai")
app.command("indicateurs")(cli_indicateurs.indicateurs)
app.command("connexion-oauth")(cli_oauth.connexion_oauth)

# Dans l'ordre d'avant le découpage : l'aide de `courrier` les liste ainsi.
app.command()(montrer)
app.command("file")(file_d_attente)
registre_app.command("export")(registre_export)
registre_app.command("lister")(registre_lister)
app.command("digest")(digest_du_maire)
app.command("envoyer")(envoyer_reponses)
app.command()(planifier)

utilisateur_app = Application(
    help="Les comptes de la page web : ajouter, lister, désactiver.", no_args_is_help=True
)
app.add_typer(utilisateur_app, name="utilisateur")
utilisateur_app.command("ajouter")(utilisateur_ajouter)
utilisateur_app.command("lister")(utilisateur_lister)
utilisateur_app.command("desactiver")(utilisateur_desactiver)
app.command()(serveur)


def main() -> None:
    app()
