"""La page web et ses comptes : `courrier serveur`, qui la sert, et `courrier utilisateur`,
qui ajoute, liste et désactive ceux qui s'y connectent."""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from courrier.config import reglages
from interfaces.cli_commun import commande, console, ouvrir_registre, preparer_traces


class Role(StrEnum):
    secretaire = "secretaire"
    maire = "maire"
    admin = "admin"
    elu = "elu"  # lecture et commentaire de ses courriers (regles/elus.yaml)


def _comptes() -> Any:
    from registre.comptes import Comptes

    return Comptes(ouvrir_registre())


@commande
def utilisateur_ajouter(
    nom: Annotated[str, typer.Argument(help="Le nom de connexion, par exemple « secretaire ».")],
    role: Annotated[Role, typer.Option("--role", help="secretaire, maire, admin ou elu.")],
) -> None:
    """Crée un compte ; le mot de passe est demandé deux fois (ou lu dans COURRIER_MOT_DE_PASSE)."""
    from registre.comptes import verifier_mot_de_passe, verifier_nom

    nom = verifier_nom(nom)
    mot_de_passe = os.environ.get("COURRIER_MOT_DE_PASSE", "")
    if not mot_de_passe:
        mot_de_passe = typer.prompt(
            "Mot de passe (10 caractères au moins)",
            hide_input=True,
            confirmation_prompt="Le même mot de passe, encore",
        )
    verifier_mot_de_passe(mot_de_passe)
    compte = _comptes().creer(nom, role.value, mot_de_passe, "cli")
    console.print(f"Compte « {escape(compte.nom)} » créé ({compte.libelle_role}).", highlight=False)


@commande
def utilisateur_lister() -> None:
    """Liste les comptes de la page web."""
    from registre.registre import heure_de_paris

    comptes = _comptes().lister()
    if not comptes:
        console.print("Aucun compte. Créez-en un : courrier utilisateur ajouter NOM --role admin")
        return
    table = Table(title=f"{len(comptes)} compte(s)")
    for titre in ("Nom", "Rôle", "État", "Créé le", "Dernière connexion"):
        table.add_column(titre, no_wrap=True)
    for c in comptes:
        table.add_row(
            escape(c.nom),
            c.libelle_role,
            "actif" if c.actif else "désactivé",
            heure_de_paris(c.cree_le),
            heure_de_paris(c.derniere_connexion),
        )
    console.print(table)


@commande
def utilisateur_desactiver(
    nom: Annotated[str, typer.Argument(help="Le nom de connexion du compte.")],
) -> None:
    """Désactive un compte : il ne peut plus se connecter, ses sessions sont fermées."""
    compte = _comptes().desactiver(nom, "cli")
    console.print(f"Compte « {escape(compte.nom)} » désactivé.", highlight=False)


@commande
def serveur(
    hote: Annotated[str, typer.Option("--hote", help="Adresse d'écoute.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port d'écoute.", min=1, max=65535)] = 8000,
) -> None:
    """La page web de la secrétaire et du maire (file d'attente, courriers, registre)."""
    from interfaces.web.app import servir

    r = reglages()
    preparer_traces(r)
    console.print(f"Page web sur http://{hote}:{port}/ (Ctrl+C pour arrêter).", highlight=False)
    servir(r, hote, port)
