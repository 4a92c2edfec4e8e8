"""`courrier commune` : les communes d'une installation (intercommunalité).

`courrier commune ajouter ID --nom …` crée le dossier de la commune, son fichier de réglages et
son registre, sans arrêter la page web ni les workers ; `courrier commune lister` les montre.
Toute autre commande vise une commune par l'option globale `courrier --commune ID …` (ou
`COURRIER_COMMUNE_ID`) ; sans elle, la commune par défaut, comme avant.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from courrier.communes import (
    FICHIER,
    dossier_de,
    ecrire_fichier,
    identifiants,
    lire_fichier,
    reglages_de_la_commune,
)
from courrier.config import PREFIXE, Reglages, charger
from courrier.etapes import NOMS_SOURCES, sources_configurees
from interfaces.cli_commun import commande, console
from interfaces.cli_planification import inscrire_commune
from noyau.communes import COMMUNE_PAR_DEFAUT, verifier_identifiant
from noyau.erreurs import ConfigurationErreur, CourrierErreur


def installation() -> Reglages:
    """Les réglages de l'installation, quelle que soit la commune choisie par ailleurs."""
    return charger(commune_id=COMMUNE_PAR_DEFAUT)


def _paires(reglages_: list[str]) -> dict[str, str]:
    valeurs: dict[str, str] = {}
    for paire in reglages_:
        nom, egal, valeur = paire.partition("=")
        nom = nom.strip().upper()
        if not egal or not nom:
            raise ConfigurationErreur(
                f"« {paire[:80]} » n'est pas de la forme VARIABLE=valeur (par exemple "
                "COURRIER_IMAP_HOTE=imap.commune.example)."
            )
        valeurs[nom if nom.startswith(PREFIXE) else PREFIXE + nom] = valeur.strip()
    return valeurs


def ouvrir_registre_de(r: Reglages) -> int:
    """Crée (ou met à niveau) le registre de la commune ; rend son nombre de courriers."""
    from registre.registre import Registre

    registre = Registre.ouvrir(r.url_base, r.donnees, commune=r.commune_id)
    try:
        return registre.nombre()
    finally:
        registre.fermer()


@commande
def commune_ajouter(
    identifiant: Annotated[
        str, typer.Argument(help="Court et stable : minuscules, chiffres, tirets (saint-jean).")
    ],
    nom: Annotated[str, typer.Option("--nom", help="Le nom de la commune, tel qu'écrit.")],
    depuis: Annotated[
        Path | None,
        typer.Option(
            "--depuis",
            metavar="FICHIER",
            help="Un fichier .env de réglages de la commune à reprendre.",
        ),
    ] = None,
    reglage: Annotated[
        list[str] | None,
        typer.Option(
            "--reglage",
            metavar="VARIABLE=valeur",
            help="Répétable : COURRIER_IMAP_HOTE=imap.commune.example, par exemple.",
        ),
    ] = None,
) -> None:
    """Ajoute une commune : son dossier, ses réglages (commune.env) et son registre."""
    verifier_identifiant(identifiant)
    if identifiant == COMMUNE_PAR_DEFAUT:
        raise ConfigurationErreur(
            "La commune « defaut » est l'installation elle-même : elle existe déjà."
        )
    if not nom.strip() or len(nom) > 120 or any(c in nom for c in "\r\n\x00"):
        raise ConfigurationErreur("Le nom de la commune tient sur une ligne de 1 à 120 signes.")
    base = installation()
    dossier = dossier_de(base, identifiant)
    if (dossier / FICHIER).exists():
        raise ConfigurationErreur(
            f"La commune « {identifiant} » existe déjà ({dossier / FICHIER}) : modifiez ce "
            "fichier pour changer ses réglages."
        )
    valeurs: dict[str, str] = {}
    if depuis is not None:
        if not depuis.is_file():
            raise ConfigurationErreur(f"Le fichier de réglages {depuis} est introuvable.")
        valeurs.update({PREFIXE + k.upper(): v for k, v in lire_fichier(depuis).items()})
    valeurs.update(_paires(reglage or []))
    valeurs[PREFIXE + "COMMUNE"] = nom.strip()
    neuf = not dossier.exists()
    dossier.mkdir(parents=True, exist_ok=True)
    try:
        ecrire_fichier(dossier / FICHIER, valeurs)
        r = reglages_de_la_commune(base, identifiant)
        courriers = ouvrir_registre_de(r)
    except BaseException:
        # Rien à moitié : sans réglages valides ni registre, la commune n'existe pas.
        (dossier / FICHIER).unlink(missing_ok=True)
        if neuf:
            shutil.rmtree(dossier, ignore_errors=True)
        raise
    sources = ", ".join(NOMS_SOURCES[n] for n in sources_configurees(r)) or "aucune encore"
    console.print(
        f"Commune « {escape(nom.strip())} » ajoutée ({identifiant}) : réglages dans "
        f"{escape(str(dossier / FICHIER))}, registre {escape(_lieu(r))} "
        f"({courriers} courrier(s)), sources : {sources}.",
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"Sa relève : courrier --commune {identifiant} releve ; ses règles propres : "
        f"{escape(str(dossier / 'regles'))}/ (un fichier par règle changée).",
        highlight=False,
        soft_wrap=True,
    )
    inscrire_commune(identifiant)


def _lieu(r: Reglages) -> str:
    from sqlalchemy.engine import make_url

    from registre.base import schema_de

    url = make_url(r.url_base)
    if url.get_backend_name() == "sqlite":
        return url.database or ""
    return f"schéma {schema_de(url) or 'public'} de {url.render_as_string(hide_password=True)}"


@commande
def commune_lister() -> None:
    """Les communes de l'installation, leurs sources et leur registre."""
    base = installation()
    table = Table(title="Communes de l'installation")
    for titre in ("Identifiant", "Nom", "Sources", "Courriers", "Registre"):
        table.add_column(titre)
    for identifiant in identifiants(base):
        try:
            r = reglages_de_la_commune(base, identifiant)
            ligne = [
                escape(r.commune),
                ", ".join(NOMS_SOURCES[n] for n in sources_configurees(r)) or "aucune",
                str(ouvrir_registre_de(r)),
                escape(_lieu(r)),
            ]
        except CourrierErreur as e:
            ligne = ["?", "", "", f"[red]{escape(str(e))}[/]"]
        table.add_row(identifiant, *ligne)
    console.print(table)
