"""Ce que partagent les commandes `courrier` : consoles, journal, erreurs en une phrase."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from courrier.config import Reglages, reglages
from noyau.erreurs import CourrierErreur

if TYPE_CHECKING:
    from noyau.fiches import FicheCourrier
    from registre.registre import Registre

console = Console()
erreurs = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def journal_fichier(r: Reglages | None) -> Path:
    dossier = (r.donnees if r else Path("donnees")) / "journaux"
    dossier.mkdir(parents=True, exist_ok=True)
    return dossier / "courrier.log"


def preparer_traces(r: Reglages) -> Path:
    chemin = journal_fichier(r)
    gestionnaire = logging.FileHandler(chemin, encoding="utf-8")
    gestionnaire.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    racine = logging.getLogger("courrier")
    racine.setLevel(logging.INFO)
    racine.propagate = False  # Prefect pose un gestionnaire console sur la racine
    if not any(isinstance(h, logging.FileHandler) for h in racine.handlers):
        racine.addHandler(gestionnaire)
    return chemin


def preparer_prefect(r: Reglages) -> None:
    """Prefect, discret et hors ligne : son dossier dans les données, ses journaux tus."""
    # Un seul Prefect pour toute l'installation, quelle que soit la commune visée.
    os.environ.setdefault("PREFECT_HOME", str((r.racine / "prefect").resolve()))
    # Les erreurs de tâche arrivent ici comme exceptions et vont, avec leur trace, dans
    # donnees/journaux/courrier.log : la console de la secrétaire n'en montre aucune.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")


def taire_la_fermeture(r: Reglages) -> None:
    """Le serveur Prefect temporaire imprime des traces à l'arrêt : elles vont au journal."""
    sys.stdout.flush()
    sys.stderr.flush()
    descripteur = os.open(journal_fichier(r), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    os.dup2(descripteur, 2)


def commande(fonction: Callable[P, R]) -> Callable[P, R]:
    """Toute erreur devient une phrase française ; les détails techniques vont au journal."""

    @wraps(fonction)
    def enveloppe(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fonction(*args, **kwargs)
        except typer.Exit:
            raise
        except CourrierErreur as e:
            # Une seule ligne, quelle que soit la largeur du terminal.
            erreurs.print(
                f"[bold red]Erreur :[/] {escape(str(e))}", highlight=False, soft_wrap=True
            )
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            erreurs.print("Interrompu. Ce qui était enregistré le reste ; relancez pour finir.")
            raise typer.Exit(130) from None
        except Exception as e:
            chemin = _consigner_la_trace()
            if _disque_plein(e):
                message = (
                    "[bold red]Erreur :[/] le disque du dossier de données est plein. Libérez de "
                    "la place, puis relancez : ce qui est enregistré le reste."
                )
            else:
                message = f"[bold red]Erreur inattendue[/] ({e.__class__.__name__})." + (
                    f" Les détails sont dans {chemin}." if chemin else ""
                )
            erreurs.print(message, highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return enveloppe


def _consigner_la_trace() -> Path | None:
    """La trace de l'exception en cours, au journal ; None si le journal ne s'écrit pas (disque
    plein, dossier en lecture seule) : la phrase affichée suffit alors."""
    import traceback

    try:
        try:
            chemin = journal_fichier(reglages())
        except CourrierErreur:
            chemin = journal_fichier(None)
        with chemin.open("a", encoding="utf-8") as f:
            traceback.print_exc(file=f)
    except OSError:
        return None
    return chemin


def _disque_plein(e: BaseException) -> bool:
    """Vrai si l'erreur vient d'un disque plein (ENOSPC, quota), elle ou l'une de ses causes."""
    import errno

    vue: set[int] = set()
    cause: BaseException | None = e
    while cause is not None and id(cause) not in vue:
        vue.add(id(cause))
        if isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def ouvrir_registre() -> Registre:
    from registre.registre import Registre

    r = reglages()
    return Registre.ouvrir(r.url_base, r.donnees, commune=r.commune_id)


def afficher_registre(courriers: list[FicheCourrier]) -> None:
    from registre.registre import heure_de_paris

    etroit = console.width < 120  # un terminal de 80 colonnes garde l'essentiel lisible
    table = Table(title="Registre du courrier arrivé", expand=not etroit)
    table.add_column("N°", no_wrap=True, min_width=10)
    table.add_column("Reçu le", no_wrap=True, min_width=10 if etroit else 16)
    if not etroit:
        table.add_column("Canal", no_wrap=True)
    table.add_column(
        "Expéditeur", no_wrap=True, overflow="ellipsis", max_width=18 if etroit else 32
    )
    table.add_column("Objet", overflow="fold", ratio=1)
    if not etroit:
        table.add_column("Catégorie", no_wrap=True)
    table.add_column("Statut", no_wrap=True, min_width=7)
    for c in courriers:
        recu = heure_de_paris(c.recu_le)
        ligne = [c.numero, recu[:10] if etroit else recu]
        if not etroit:
            ligne.append(c.canal)
        ligne += [
            escape(nom_court(c.expediteur)),
            escape(c.objet or f"(fichier {c.nom_fichier})"),
        ]
        if not etroit:
            ligne.append(c.categorie)
        ligne.append(c.statut)
        table.add_row(*ligne, style="red" if c.statut == "erreur" else None)
    console.print(table)


def nom_court(expediteur: str) -> str:
    """« Camille Lefèvre <c.l@exemple.example> » devient « Camille Lefèvre »."""
    nom = expediteur.split("<", 1)[0].strip().strip('"')
    return nom or expediteur.strip("<>")
