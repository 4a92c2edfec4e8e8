"""La page web et ses comptes : `courrier serveur`, qui la sert, et `courrier utilisateur`,
qui ajoute, liste et désactive ceux qui s'y connectent.

Les comptes vivent dans le registre de l'installation, quelle que soit la commune visée par
`courrier --commune x` : celle-ci n'est que la commune donnée par défaut au compte ajouté."""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from courrier.config import reglages
from interfaces.cli_commun import commande, console, preparer_traces
from noyau.communes import COMMUNE_PAR_DEFAUT


class Role(StrEnum):
    secretaire = "secretaire"
    maire = "maire"
    admin = "admin"
    elu = "elu"  # lecture et commentaire de ses courriers (regles/elus.yaml)


def _comptes() -> Any:
    """Les comptes, dans le registre de l'installation (jamais celui d'une commune)."""
    from courrier.config import charger
    from registre.comptes import Comptes
    from registre.registre import Registre

    installation = charger(commune_id=COMMUNE_PAR_DEFAUT)
    return Comptes(Registre.ouvrir(installation.url_base, installation.donnees))


def _communes_du_compte(texte: str | None) -> tuple[str, ...]:
    """Les communes citées (qui doivent exister), sinon celle que vise `courrier --commune`."""
    from courrier.communes import identifiants
    from courrier.config import charger
    from noyau.erreurs import ConfigurationErreur
    from registre.comptes import TOUTES, verifier_communes

    visee = reglages().commune_id
    communes = verifier_communes(texte) if texte is not None else (visee,)
    existantes = identifiants(charger(commune_id=COMMUNE_PAR_DEFAUT))
    inconnues = [c for c in communes if c != TOUTES and c not in existantes]
    if inconnues:
        raise ConfigurationErreur(
            f"Commune inconnue dans cette installation : {', '.join(inconnues)[:300]} "
            f"(communes : {', '.join(existantes)[:500]} ; ajoutez-en une avec « courrier "
            "commune ajouter ID --nom … »)."
        )
    return communes


@commande
def utilisateur_ajouter(
    nom: Annotated[str, typer.Argument(help="Le nom de connexion, par exemple « secretaire ».")],
    role: Annotated[Role, typer.Option("--role", help="secretaire, maire, admin ou elu.")],
    communes: Annotated[
        str | None,
        typer.Option(
            "--communes",
            help="Les communes que le compte voit, séparées par des virgules, ou « * » pour "
            "toutes (sinon la commune visée, « defaut » sans --commune).",
        ),
    ] = None,
) -> None:
    """Crée un compte ; le mot de passe est demandé deux fois (ou lu dans COURRIER_MOT_DE_PASSE)."""
    from registre.comptes import verifier_mot_de_passe, verifier_nom

    nom = verifier_nom(nom)
    siennes = _communes_du_compte(communes)
    mot_de_passe = os.environ.get("COURRIER_MOT_DE_PASSE", "")
    if not mot_de_passe:
        mot_de_passe = typer.prompt(
            "Mot de passe (10 caractères au moins)",
            hide_input=True,
            confirmation_prompt="Le même mot de passe, encore",
        )
    verifier_mot_de_passe(mot_de_passe)
    compte = _comptes().creer(nom, role.value, mot_de_passe, "cli", siennes)
    visibles = "" if siennes == (COMMUNE_PAR_DEFAUT,) else f", communes : {_communes(compte)}"
    console.print(
        f"Compte « {escape(compte.nom)} » créé ({compte.libelle_role}{escape(visibles)}).",
        highlight=False,
    )


def _communes(compte: Any) -> str:
    return "toutes" if compte.toutes else ", ".join(compte.communes)


@commande
def utilisateur_lister() -> None:
    """Liste les comptes de la page web."""
    from registre.registre import heure_de_paris

    comptes = _comptes().lister()
    if not comptes:
        console.print("Aucun compte. Créez-en un : courrier utilisateur ajouter NOM --role admin")
        return
    table = Table(title=f"{len(comptes)} compte(s)")
    for titre in ("Nom", "Rôle", "Communes", "État", "Créé le", "Dernière connexion"):
        # Sur 80 colonnes, les dates passent à la ligne plutôt que de cacher les communes.
        table.add_column(titre, no_wrap=titre in ("Nom", "Rôle", "État"), min_width=7)
    for c in comptes:
        table.add_row(
            escape(c.nom),
            c.libelle_role,
            escape(_communes(c)),
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
    from courrier.config import charger
    from interfaces.web.app import servir

    # La page web sert toutes les communes : elle part toujours des réglages de l'installation,
    # même sous `courrier --commune x serveur`.
    r = charger(commune_id=COMMUNE_PAR_DEFAUT)
    preparer_traces(r)
    console.print(f"Page web sur http://{hote}:{port}/ (Ctrl+C pour arrêter).", highlight=False)
    servir(r, hote, port)
