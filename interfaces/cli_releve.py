"""Les commandes `courrier releve` et `courrier demo` : la relève lancée à la main.

Elles déroulent les étapes de courrier/etapes.py dans ce processus, sans orchestrateur Prefect : pas
de serveur temporaire à démarrer ni à attendre (il ne démarrait parfois pas à temps, issue
#14). Un serveur Prefect indiqué par PREFECT_API_URL (plusieurs machines) n'apporte ici que la
limite globale des appels au LLM ; s'il ne répond pas, la relève se fait sans lui et le dit.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from courrier.config import Reglages, reglages
from courrier.domaines_reserves import MARQUE_DEMO
from interfaces.cli_commun import (
    afficher_registre,
    commande,
    console,
    erreurs,
    ouvrir_registre,
    preparer_prefect,
    preparer_traces,
    taire_la_fermeture,
)
from noyau.erreurs import CourrierErreur

if TYPE_CHECKING:
    from courrier.etapes import BilanReleve, LimiteTolerante


class RapportRich:
    """Barre de progression de la relève, dans le terminal."""

    def __init__(self, progression: Progress) -> None:
        self.progression = progression
        self.taches: dict[str, Any] = {}

    def debut(self, etape: str, total: int | None) -> None:
        self.taches[etape] = self.progression.add_task(etape, total=total)

    def avance(self, etape: str, pas: int = 1) -> None:
        if etape in self.taches:
            self.progression.advance(self.taches[etape], pas)


@contextmanager
def _progression() -> Iterator[RapportRich]:
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=False,
    ) as progression:
        yield RapportRich(progression)


def lancer_releve(r: Reglages) -> BilanReleve:
    """La relève dans ce processus, barre de progression comprise ; rend son bilan."""
    preparer_traces(r)
    from courrier.etapes import ContexteReleve, releve_directe, sources_configurees
    from courrier.pannes import depuis_environnement

    if not sources_configurees(r):
        raise CourrierErreur(
            "Aucune source n'est configurée : renseignez COURRIER_IMAP_HOTE (et l'utilisateur),"
            " COURRIER_DEPOT_SCANS ou COURRIER_DEPOT_EML."
        )
    url, limite = _orchestrateur(r)
    with _progression() as rapport:
        contexte = ContexteReleve.ouvrir(r, rapport, depuis_environnement())
        try:
            try:
                bilan = releve_directe(limite, contexte=contexte)
            finally:
                if limite is not None:
                    limite.fermer()
        finally:
            contexte.fermer()
    if limite is not None and limite.tombee.is_set():
        _avertir(
            f"Le serveur Prefect {url} a cessé de répondre pendant la relève : elle s'est finie "
            "sans lui, les appels au LLM bornés par cette seule machine."
        )
    return bilan


def _orchestrateur(r: Reglages) -> tuple[str, LimiteTolerante | None]:
    """L'adresse du serveur Prefect indiqué (PREFECT_API_URL), et la limite globale des appels
    au LLM qu'il tient, s'il répond et qu'un LLM est configuré.

    La relève à la main n'a besoin de lui pour rien d'autre : s'il ne répond pas (arrêté, ou
    qui accepte la connexion sans jamais répondre), elle se fait sans lui, et le dit."""
    url = os.environ.get("PREFECT_API_URL", "").strip()
    if not url:
        return "", None
    from courrier.service_horaires import api_saine

    if not api_saine(url):
        _avertir(
            f"Le serveur Prefect {url} ne répond pas : la relève se fait sans lui, ici même, "
            "et rien n'est perdu."
        )
        return url, None
    if not (r.llm_url and r.llm_modele):
        return url, None
    preparer_prefect(r)  # avant tout import de Prefect : ses réglages sont lus à l'import
    # Un serveur qui se tait en pleine relève ne la retient que quelques secondes, une fois
    # (la limite est ensuite laissée), pas une minute par appel et par nouvel essai.
    os.environ.setdefault("PREFECT_API_REQUEST_TIMEOUT", "10")
    os.environ.setdefault("PREFECT_CLIENT_MAX_RETRIES", "1")
    # Ses services internes écrivent leurs échecs sur la console ; la panne est dite en une
    # phrase à la fin, et notée au journal de Courrier.
    os.environ.setdefault("PREFECT_INTERNAL_LOGGING_LEVEL", "CRITICAL")
    from courrier.etapes import LimiteTolerante
    from flows.releve import limiteur_llm

    fabrique = limiteur_llm()
    return url, LimiteTolerante(fabrique) if fabrique else None


def _taire_prefect(r: Reglages) -> None:
    """Seulement si Prefect a été chargé (limite globale du LLM) : ses fils peuvent écrire des
    traces en s'arrêtant, qui vont alors au journal plutôt qu'à la secrétaire."""
    if "prefect" in sys.modules:
        taire_la_fermeture(r)


def _avertir(phrase: str) -> None:
    erreurs.print(f"[bold yellow]Attention :[/] {escape(phrase)}", highlight=False, soft_wrap=True)


def _afficher_bilan(bilan: BilanReleve) -> None:
    from courrier.etapes import NOMS_SOURCES

    table = Table(title="Bilan de la relève")
    table.add_column("Source")
    table.add_column("Nouveaux", justify="right")
    table.add_column("Déjà enregistrés", justify="right")
    table.add_column("En attente", justify="right")
    table.add_column("Erreurs", justify="right")
    for b in bilan.sources:
        table.add_row(
            NOMS_SOURCES.get(b.source, b.source),
            str(b.nouveaux),
            str(b.doublons),
            str(b.en_attente),
            str(len(b.erreurs)),
        )
    console.print(table)
    ex = bilan.extraction
    console.print(
        f"Lecture : {ex.extraits} courrier(s) lu(s), {len(ex.en_erreur)} avec une erreur."
    )
    an = bilan.analyse
    if an.analyses or an.erreurs:
        repli = f", {an.replis} par les règles faute de LLM" if an.replis else ""
        console.print(
            f"Analyse : {an.analyses} courrier(s) analysé(s){repli} ; "
            f"{an.brouillons} brouillon(s) à valider (courrier file)."
        )
    for b in bilan.sources:
        for raison in b.erreurs:
            console.print(
                f"  • {NOMS_SOURCES.get(b.source, b.source)} : {escape(raison)}", highlight=False
            )
    for numero, raison in [*ex.en_erreur, *an.erreurs]:
        console.print(f"  • {numero} : {escape(raison[:300])}", highlight=False)


@commande
def releve() -> None:
    """Relève maintenant toutes les sources configurées, enregistre et lit le courrier."""
    r = reglages()
    bilan = lancer_releve(r)
    _afficher_bilan(bilan)
    _taire_prefect(r)
    if any(b.erreurs for b in bilan.sources):
        raise typer.Exit(1)


@commande
def demo(
    dossier: Annotated[Path, typer.Option(help="Dossier neuf où jouer la démonstration.")] = Path(
        "demo-donnees"
    ),
) -> None:
    """Relève le courrier d'exemple fourni dans un dossier neuf, puis montre le registre."""
    dossier = dossier.resolve()
    if dossier.exists():
        if not (dossier / MARQUE_DEMO).exists() and any(dossier.iterdir()):
            raise CourrierErreur(
                f"Le dossier « {dossier} » existe et n'est pas un dossier de démonstration :"
                " choisissez-en un autre avec --dossier."
            )
        shutil.rmtree(dossier)
    dossier.mkdir(parents=True)
    (dossier / MARQUE_DEMO).write_text("Dossier créé par « courrier demo ».\n", encoding="utf-8")
    from connecteurs.dossiers import antidater

    exemples = resources.files("courrier") / "demo"
    for sous_dossier, cible in (("courriels", "depot-eml"), ("scans", "depot-scans")):
        destination = dossier / cible
        destination.mkdir()
        for fichier in sorted((exemples / sous_dossier).iterdir(), key=lambda f: f.name):
            if fichier.is_file():
                chemin = destination / fichier.name
                chemin.write_bytes(fichier.read_bytes())
                antidater(chemin, 3600)  # « posé depuis une heure », donc complet
    os.environ.update(
        {
            "COURRIER_DONNEES": str(dossier / "donnees"),
            "COURRIER_BASE_DE_DONNEES": "",
            "COURRIER_IMAP_HOTE": "",
            "COURRIER_IMAP_UTILISATEUR": "",
            "COURRIER_DEPOT_EML": str(dossier / "depot-eml"),
            "COURRIER_DEPOT_SCANS": str(dossier / "depot-scans"),
            "COURRIER_LLM_URL": "",
            "COURRIER_LLM_MODELE": "",
            # La commune fictive du courrier d'exemple (téléphone dans une tranche réservée
            # à la fiction).
            "COURRIER_COMMUNE": "Saint-Aubin-sur-Loire",
            "COURRIER_MAIRE": "Hélène Marchand",
            "COURRIER_COMMUNE_ADRESSE": "1 place de la Mairie\n45570 Saint-Aubin-sur-Loire",
            "COURRIER_COMMUNE_TELEPHONE": "02 61 91 00 00",
            "COURRIER_COMMUNE_EMAIL": "mairie@saint-aubin-sur-loire.example",
        }
    )
    # La démonstration ne parle à aucun orchestrateur, même si l'installation en a un.
    os.environ.pop("PREFECT_API_URL", None)
    reglages.cache_clear()
    r = reglages()
    console.print(f"Démonstration dans {dossier}")
    bilan = lancer_releve(r)
    _afficher_bilan(bilan)
    courriers = ouvrir_registre().courriers()
    afficher_registre(courriers)
    premier = courriers[0].numero if courriers else "AAAA-00001"
    console.print(
        f"Pour voir un courrier : COURRIER_DONNEES={r.donnees} courrier montrer {premier}\n"
        f"Pour voir les brouillons à valider : COURRIER_DONNEES={r.donnees} courrier file\n"
        f"Pour les valider sur la page web : COURRIER_DONNEES={r.donnees} courrier utilisateur "
        f"ajouter secretaire --role secretaire, puis COURRIER_DONNEES={r.donnees} courrier "
        "serveur (http://127.0.0.1:8000)",
        highlight=False,
    )
    _taire_prefect(r)
