"""La commande `courrier`, en français. Une erreur : une phrase claire et un code non nul."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from enum import StrEnum
from functools import wraps
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from courrier.calendrier import PARIS
from courrier.config import Reglages, reglages
from courrier.domaine import StatutBrouillon
from courrier.erreurs import ConfigurationErreur, CourrierErreur

if TYPE_CHECKING:
    from flows.releve import BilanReleve
    from registre.ancrage import BilanAncres
    from registre.modeles import Courrier
    from registre.registre import Registre

app = typer.Typer(
    help="Courrier : le courrier arrivé de la mairie, relevé, enregistré et lu.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
registre_app = typer.Typer(
    help="Le registre du courrier arrivé : export, vérification, liste.", no_args_is_help=True
)
app.add_typer(registre_app, name="registre")

console = Console()
erreurs = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")

MARQUE_DEMO = ".courrier-demo"


def _journal_fichier(r: Reglages | None) -> Path:
    dossier = (r.donnees if r else Path("donnees")) / "journaux"
    dossier.mkdir(parents=True, exist_ok=True)
    return dossier / "courrier.log"


def _preparer_journalisation(r: Reglages) -> Path:
    chemin = _journal_fichier(r)
    gestionnaire = logging.FileHandler(chemin, encoding="utf-8")
    gestionnaire.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    racine = logging.getLogger("courrier")
    racine.setLevel(logging.INFO)
    racine.propagate = False  # Prefect pose un gestionnaire console sur la racine
    if not any(isinstance(h, logging.FileHandler) for h in racine.handlers):
        racine.addHandler(gestionnaire)
    return chemin


def _preparer_prefect(r: Reglages) -> None:
    """Prefect, discret et hors ligne : son dossier dans les données, ses journaux tus."""
    os.environ.setdefault("PREFECT_HOME", str((r.donnees / "prefect").resolve()))
    # Les erreurs de tâche arrivent ici comme exceptions et vont, avec leur trace, dans
    # donnees/journaux/courrier.log : la console de la secrétaire n'en montre aucune.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")


def _taire_la_fermeture(r: Reglages) -> None:
    """Le serveur Prefect temporaire imprime des traces à l'arrêt : elles vont au journal."""
    sys.stdout.flush()
    sys.stderr.flush()
    descripteur = os.open(_journal_fichier(r), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
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
            chemin = _journal_fichier(reglages())
        except CourrierErreur:
            chemin = _journal_fichier(None)
        with chemin.open("a", encoding="utf-8") as f:
            traceback.print_exc(file=f)
    except OSError:
        return None
    return chemin


def _exiger_place_pour_prefect() -> None:
    """Sur un disque plein, le serveur Prefect temporaire (sa base est dans PREFECT_HOME, par
    défaut dans le dossier de données) ne démarre pas et remplit la console de traces : on
    s'arrête avant, sur une phrase."""
    dossier = Path(os.environ["PREFECT_HOME"])
    while not dossier.exists() and dossier != dossier.parent:
        dossier = dossier.parent
    try:
        libre = shutil.disk_usage(dossier).free
    except OSError:
        return
    if libre < 20 * 1024 * 1024:
        raise CourrierErreur(
            f"Le disque de {dossier} est presque plein (il reste {libre // 1024} Ko) : "
            "libérez de la place, puis relancez la relève. Rien n'a été relevé."
        )


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


def _ouvrir_registre() -> Registre:
    from registre.registre import Registre

    r = reglages()
    return Registre.ouvrir(r.url_base, r.donnees)


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


def _lancer_releve(r: Reglages) -> BilanReleve:
    _preparer_prefect(r)
    _exiger_place_pour_prefect()
    _preparer_journalisation(r)
    from flows.releve import definir_rapport, releve, sources_configurees

    if not sources_configurees(r):
        raise CourrierErreur(
            "Aucune source n'est configurée : renseignez COURRIER_IMAP_HOTE (et l'utilisateur),"
            " COURRIER_DEPOT_SCANS ou COURRIER_DEPOT_EML."
        )
    with _progression() as rapport:
        definir_rapport(rapport)
        try:
            bilan = releve()
        finally:
            definir_rapport(None)
    return bilan


def _afficher_bilan(bilan: BilanReleve) -> None:
    from flows.releve import NOMS_SOURCES

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


def _afficher_registre(courriers: list[Courrier]) -> None:
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
            escape(_nom_court(c.expediteur)),
            escape(c.objet or f"(fichier {c.nom_fichier})"),
        ]
        if not etroit:
            ligne.append(c.categorie)
        ligne.append(c.statut)
        table.add_row(*ligne, style="red" if c.statut == "erreur" else None)
    console.print(table)


def _nom_court(expediteur: str) -> str:
    """« Camille Lefèvre <c.l@exemple.fr> » devient « Camille Lefèvre »."""
    nom = expediteur.split("<", 1)[0].strip().strip('"')
    return nom or expediteur.strip("<>")


@app.command()
@commande
def releve() -> None:
    """Relève maintenant toutes les sources configurées, enregistre et lit le courrier."""
    r = reglages()
    bilan = _lancer_releve(r)
    _afficher_bilan(bilan)
    _taire_la_fermeture(r)
    if any(b.erreurs for b in bilan.sources):
        raise typer.Exit(1)


@app.command()
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
    exemples = resources.files("courrier") / "demo"
    ancien = time.time() - 3600  # des fichiers « posés depuis une heure », donc complets
    for sous_dossier, cible in (("courriels", "depot-eml"), ("scans", "depot-scans")):
        destination = dossier / cible
        destination.mkdir()
        for fichier in sorted((exemples / sous_dossier).iterdir(), key=lambda f: f.name):
            if fichier.is_file():
                chemin = destination / fichier.name
                chemin.write_bytes(fichier.read_bytes())
                os.utime(chemin, (ancien, ancien))
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
            "COURRIER_COMMUNE_EMAIL": "mairie@saint-aubin-sur-loire.fr",
        }
    )
    reglages.cache_clear()
    r = reglages()
    console.print(f"Démonstration dans {dossier}")
    bilan = _lancer_releve(r)
    _afficher_bilan(bilan)
    courriers = _ouvrir_registre().courriers()
    _afficher_registre(courriers)
    premier = courriers[0].numero if courriers else "AAAA-00001"
    console.print(
        f"Pour voir un courrier : COURRIER_DONNEES={r.donnees} courrier montrer {premier}\n"
        f"Pour voir les brouillons à valider : COURRIER_DONNEES={r.donnees} courrier file\n"
        f"Pour les valider sur la page web : COURRIER_DONNEES={r.donnees} courrier utilisateur "
        f"ajouter secretaire --role secretaire, puis COURRIER_DONNEES={r.donnees} courrier "
        "serveur (http://127.0.0.1:8000)",
        highlight=False,
    )
    _taire_la_fermeture(r)


@app.command()
@commande
def montrer(
    numero: Annotated[str, typer.Argument(help="Numéro chrono, par exemple 2026-00042.")],
    en_json: Annotated[
        bool, typer.Option("--json", help="Sortie JSON (pour un programme).")
    ] = False,
) -> None:
    """Montre un courrier du registre, avec tout son texte lu et ses pièces jointes."""
    from registre.registre import details, heure_de_paris

    registre = _ouvrir_registre()
    c = registre.courrier(numero.strip())
    if c is None:
        raise CourrierErreur(f"Aucun courrier n'a le numéro « {numero} » dans le registre.")
    evenements = registre.evenements(c.numero)
    if en_json:
        sortie = {
            "numero": c.numero,
            "canal": c.canal,
            "source": c.source,
            "reference": c.reference,
            "recu_le": c.recu_le.isoformat(),
            "enregistre_le": c.enregistre_le.isoformat(),
            "expediteur": c.expediteur,
            "destinataires": c.destinataires,
            "objet": c.objet,
            "message_id": c.message_id,
            "statut": c.statut,
            "erreur": c.erreur,
            "empreinte": c.empreinte,
            "taille": c.taille,
            "nom_fichier": c.nom_fichier,
            "methode_extraction": c.methode_extraction,
            "confiance_ocr": c.confiance_ocr,
            "pages": c.pages,
            "texte": c.texte,
            "pieces": [
                {
                    "rang": p.rang,
                    "nom": p.nom,
                    "type_mime": p.type_mime,
                    "taille": p.taille,
                    "empreinte": p.empreinte,
                    "methode": p.methode,
                    "confiance_ocr": p.confiance_ocr,
                    "pages": p.pages,
                    "erreur": p.erreur,
                    "en_ligne": p.en_ligne,
                    "texte": p.texte,
                }
                for p in c.pieces
            ],
            "analyse": json.loads(c.analyse) if c.analyse else None,
            "brouillons": [
                {
                    "rang": b.rang,
                    "type": b.type,
                    "statut": b.statut,
                    "auteur": b.auteur,
                    "prepare_par_ia": b.prepare_par_ia,
                    "destinataire": b.destinataire,
                    "objet": b.objet,
                    "corps": b.corps,
                    "dates": json.loads(b.dates or "{}"),
                }
                for b in c.brouillons
            ],
            "journal": [
                {
                    "n": e.id,
                    "type": e.type,
                    "horodatage": e.horodatage.isoformat(),
                    "acteur": e.acteur,
                    "details": details(e),
                }
                for e in evenements
            ],
        }
        sys.stdout.write(json.dumps(sortie, ensure_ascii=False, indent=2) + "\n")
        return
    console.print(f"[bold]Courrier {c.numero}[/] — {c.canal}, statut {c.statut}")
    for libelle, valeur in (
        ("Reçu le", heure_de_paris(c.recu_le)),
        ("Enregistré le", heure_de_paris(c.enregistre_le)),
        ("Expéditeur", c.expediteur),
        ("Objet", c.objet),
        ("Fichier", c.nom_fichier),
        (
            "Lecture",
            c.methode_extraction
            + (f" (confiance OCR {c.confiance_ocr:.0f} %)" if c.confiance_ocr is not None else ""),
        ),
        ("Erreur", c.erreur),
    ):
        if valeur:
            console.print(f"{libelle} : {valeur}", highlight=False, markup=False)
    if c.analyse_le is not None:
        console.rule("Analyse")
        for libelle, valeur in (
            ("Catégorie", c.categorie),
            ("Service", c.service),
            ("Urgence", c.urgence),
            ("Échéance", c.echeance.strftime("%d/%m/%Y") if c.echeance else ""),
            ("Résumé", c.resume),
            ("Demande", c.demande),
            ("Analysé par", _moteur_lisible(c.moteur)),
            ("Alertes", c.alertes),
        ):
            if valeur:
                console.print(f"{libelle} : {valeur}", highlight=False, markup=False)
    console.rule("Texte")
    console.print(c.texte or "(aucun texte lu)", highlight=False, markup=False)
    if c.pieces:
        console.rule("Pièces jointes")
        for p in c.pieces:
            etat = p.erreur or p.methode
            console.print(
                f"{p.rang}. {p.nom} ({p.type_mime}, {p.taille} octets) — {etat}",
                highlight=False,
                markup=False,
            )
    for b in c.brouillons:
        console.rule(f"Brouillon {b.rang} — {LIBELLES_BROUILLON.get(b.type, b.type)} ({b.statut})")
        if b.prepare_par_ia:
            console.print("Préparé avec l'aide d'une IA : à relire.", style="yellow")
        console.print(b.corps, highlight=False, markup=False)
    console.rule("Journal")
    for e in evenements:
        console.print(
            f"n°{e.id} {heure_de_paris(e.horodatage)} {e.type} par {e.acteur}",
            highlight=False,
            markup=False,
        )


LIBELLES_BROUILLON = {"reponse": "réponse", "accuse_reception": "accusé de réception"}


def _moteur_lisible(moteur: str) -> str:
    if moteur.startswith("llm:"):
        return f"IA ({moteur[4:]})"
    return "règles" if moteur == "regles" else moteur


@app.command("file")
@commande
def file_d_attente() -> None:
    """Liste les brouillons qui attendent la validation de la secrétaire, urgents d'abord."""
    attente = _ouvrir_registre().brouillons_a_valider()
    if not attente:
        console.print("Aucun brouillon n'attend de validation.")
        return
    ordre = {"haute": 0, "normale": 1, "basse": 2}
    attente.sort(key=lambda cb: (ordre.get(cb[0].urgence, 1), cb[0].annee, cb[0].rang))
    table = Table(title=f"File d'attente : {len(attente)} brouillon(s) en attente")
    table.add_column("N°", no_wrap=True, min_width=10)
    table.add_column("Urgence", no_wrap=True)
    table.add_column("Brouillon", no_wrap=True)
    table.add_column("Expéditeur", no_wrap=True, overflow="ellipsis", max_width=24)
    table.add_column("Objet", overflow="fold", ratio=1)
    table.add_column("Échéance", no_wrap=True)
    table.add_column("Délai légal", no_wrap=True)
    table.add_column("Préparé par", no_wrap=True)
    from courrier.delais import depuis_json, prochaine

    for c, b in attente:
        legal = prochaine(depuis_json(c.echeances_legales))
        objet = c.objet or f"(fichier {c.nom_fichier})"
        type_ = LIBELLES_BROUILLON.get(b.type, b.type)
        if b.statut == StatutBrouillon.NON_REMIS.value:
            # Une réponse partie puis revenue en erreur : la secrétaire choisit quoi faire.
            type_ += "\nà vérifier : non remis"
            objet += f"\n{b.raison}"
        table.add_row(
            c.numero,
            c.urgence,
            type_,
            escape(_nom_court(c.expediteur)),
            escape(objet),
            c.echeance.strftime("%d/%m/%Y") if c.echeance else "",
            f"{legal.libelle}\n{legal.le:%d/%m/%Y}" if legal else "",
            escape(_moteur_lisible(b.auteur) if b.auteur.startswith("llm:") else "modèle"),
            style="bold red" if c.urgence == "haute" else None,
        )
    console.print(table)


class FormatExport(StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    pdf = "pdf"


@registre_app.command("export")
@commande
def registre_export(
    format_: Annotated[FormatExport, typer.Option("--format", help="csv, xlsx ou pdf.")],
    sortie: Annotated[Path, typer.Option("--sortie", help="Fichier à écrire.")],
    annee: Annotated[
        int | None,
        typer.Option("--annee", help="PDF : l'année du registre (par défaut l'année en cours)."),
    ] = None,
) -> None:
    """Écrit le registre : tout en CSV ou XLSX, ou le registre annuel imprimable en PDF/A."""
    registre = _ouvrir_registre()
    if format_ is FormatExport.pdf:
        from registre.export_pdf import Preuve, exporter_pdf

        ancres = _verifier_ancres(registre)
        dernier, tete = registre.tete()
        preuve = Preuve(
            dernier,
            tete,
            ancres.prouvee.phrase() if ancres.prouvee else "",
            ancres.jeton,
        )
        annee = annee or registre.aujourd_hui().year
        nombre = exporter_pdf(
            registre.courriers(), sortie, reglages().commune, annee, preuve, registre.horloge()
        )
        console.print(
            f"Registre {annee} : {nombre} courrier(s) écrit(s) dans {sortie} (PDF/A-2B).",
            highlight=False,
        )
        return
    from registre.export import exporter

    nombre = exporter(registre.courriers(), format_.value, sortie)
    console.print(f"{nombre} ligne(s) écrite(s) dans {sortie}.", highlight=False)


@registre_app.command("verifier")
@commande
def registre_verifier() -> None:
    """Vérifie le registre, son journal et chaque original de l'archive (relu en entier)."""
    registre = _ouvrir_registre()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[volume]}"),
        console=erreurs,
        transient=True,
        disable=not erreurs.is_terminal,
    ) as barre:
        tache = barre.add_task("Relecture de l'archive", total=None, volume="")

        def avancer(fichiers: int, octets: int) -> None:
            barre.update(
                tache, completed=fichiers, volume=f"{fichiers} fichier(s), {_taille(octets)}"
            )

        verification = registre.verifier_tout(avancer)
    ancres = _verifier_ancres(registre)
    anomalies = [*verification.anomalies, *ancres.anomalies]
    if anomalies:
        premier = escape(anomalies[0])
        erreurs.print(
            f"[bold red]Registre altéré[/] ({len(anomalies)} problème(s)). Premier problème : "
            f"{premier}"
        )
        for autre in anomalies[1:50]:
            erreurs.print(f"  • {autre}", highlight=False, markup=False)
        if len(anomalies) > 50:
            erreurs.print(f"  … et {len(anomalies) - 50} autre(s).", highlight=False)
        raise typer.Exit(1)
    archive = verification.archive
    console.print(
        f"Registre intact : {registre.nombre()} courrier(s), "
        f"{len(registre.evenements())} événement(s) du journal vérifiés, "
        f"{archive.fichiers} fichier(s) de l'archive relus ({_taille(archive.octets)}).",
        highlight=False,
    )
    console.print(_phrase_ancres(ancres), highlight=False)
    if archive.depots_interrompus:
        console.print(
            f"{archive.depots_interrompus} fichier(s) provisoire(s) d'un dépôt interrompu par "
            "une panne, sans effet sur la preuve.",
            highlight=False,
        )


def _verifier_ancres(registre: Registre) -> BilanAncres:
    from connecteurs.horodatage import charger_racines
    from registre.ancrage import verifier_ancres

    r = reglages()
    racines = charger_racines(r.horodatage_certificats) if r.horodatage_certificats else None
    return verifier_ancres(registre, racines)


def _phrase_ancres(bilan: BilanAncres) -> str:
    if bilan.prouvee is None:
        return (
            "Aucune ancre horodatée : la chaîne n'est prouvée que par la base elle-même "
            "(réglez COURRIER_HORODATAGE_URL pour l'ancrer chaque matin)."
        )
    p = bilan.prouvee
    phrase = (
        f"Chaîne prouvée jusqu'au {p.horodate_le.astimezone(PARIS):%d/%m/%Y à %H:%M:%S} "
        f"(événement n°{p.evenement}) par {bilan.ancres} jeton(s) d'horodatage ({p.autorite})."
    )
    if bilan.signatures_non_verifiees:
        phrase += (
            " Signatures non vérifiées : indiquez le certificat de l'autorité dans "
            "COURRIER_HORODATAGE_CERTIFICATS."
        )
    return phrase


@registre_app.command("ancrer")
@commande
def registre_ancrer() -> None:
    """Horodate tout de suite la tête du registre (RFC 3161), comme chaque matin avant le digest."""
    from connecteurs.horodatage import ClientHorodatage
    from registre.ancrage import ancrer

    r = reglages()
    if not r.horodatage_url:
        raise ConfigurationErreur(
            "COURRIER_HORODATAGE_URL manque : l'adresse du service d'horodatage (RFC 3161)."
        )
    client = ClientHorodatage(r.horodatage_url, r.horodatage_delai_s)
    console.print(ancrer(_ouvrir_registre(), client.horodater, r.horodatage_url).phrase())


def _taille(octets: int) -> str:
    if octets >= 1 << 30:
        return f"{octets / (1 << 30):.1f} Gio".replace(".", ",")
    if octets >= 1 << 20:
        return f"{octets / (1 << 20):.1f} Mio".replace(".", ",")
    return f"{octets / 1024:.0f} Kio" if octets >= 1024 else f"{octets} octet(s)"


@registre_app.command("lister")
@commande
def registre_lister() -> None:
    """Affiche le registre dans le terminal."""
    _afficher_registre(_ouvrir_registre().courriers())


@app.command("digest")
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
    from datetime import date

    from courrier.calendrier import date_en_lettres
    from courrier.digest import image_en_ligne, rendre_html, rendre_texte

    r = reglages()
    _preparer_prefect(r)  # avant tout import de Prefect : ses réglages sont lus à l'import
    _preparer_journalisation(r)
    try:
        le_jour = date.fromisoformat(jour.strip()) if jour else None
    except ValueError:
        raise CourrierErreur(
            f"Le jour « {jour} » n'est pas une date au format AAAA-MM-JJ (par exemple 2026-11-23)."
        ) from None
    if envoyer:
        from flows.digest import verifier_envoi_possible

        verifier_envoi_possible(r)  # une phrase qui nomme la variable manquante, avant tout
    from flows.digest import preparer

    registre = _ouvrir_registre()
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
                    f"Impossible d'écrire le digest dans {sortie} : {e.strerror or e}."
                ) from e
            console.print(f"Digest écrit dans {sortie} : {escape(d.objet)}.", highlight=False)
    if not envoyer:
        return

    from flows.digest import digest as flow_digest

    quand = date_en_lettres(le_jour, jour_semaine=True)
    console.print(f"Envoi du digest du {quand}…", highlight=False)
    try:
        resultat = flow_digest(jour=le_jour)
    except CourrierErreur as e:
        erreurs.print(f"[bold red]Erreur :[/] {escape(str(e))}", highlight=False)
        _taire_la_fermeture(r)
        raise typer.Exit(1) from None
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
        _taire_la_fermeture(r)
        raise typer.Exit(1)
    _taire_la_fermeture(r)


@app.command("envoyer")
@commande
def envoyer_reponses() -> None:
    """Envoie maintenant les réponses validées (une tentative chacune) et reprend les envois
    interrompus ; le flow planifié `envoi` fait de même toutes les 15 minutes."""
    from courrier.envoi import envoyer_valides

    r = reglages()
    _preparer_journalisation(r)
    bilan = envoyer_valides(_ouvrir_registre(), r)
    if bilan.rien:
        console.print("Aucune réponse validée à envoyer.")
        return
    for ligne in bilan.envoyes:
        console.print(f"Envoyée : {escape(ligne)}", highlight=False)
    for ligne in bilan.retrouves:
        console.print(
            f"Envoi interrompu, retrouvé dans « Envoyés » : {escape(ligne)}", highlight=False
        )
    for ligne in bilan.a_verifier:
        erreurs.print(
            f"[bold yellow]À vérifier :[/] {escape(ligne)} — l'envoi a été interrompu ; "
            "la secrétaire doit vérifier s'il est parti.",
            highlight=False,
        )
    for ligne in bilan.echecs:
        erreurs.print(f"[bold red]Non envoyée :[/] {escape(ligne)}", highlight=False)
    if bilan.echecs or bilan.a_verifier:
        raise typer.Exit(1)


@app.command()
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
    from flows.planification import lignes_horaires

    if liste:
        for ligne in lignes_horaires():
            console.print(ligne, highlight=False, markup=False, soft_wrap=True)
        return
    r = reglages()
    if servir:
        # Un service : ses journaux vont à systemd, et aux exécutions visibles dans Prefect.
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    _preparer_prefect(r)
    _preparer_journalisation(r)
    if servir:
        from flows.planification import servir as servir_horaires

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
    from flows.planification import installer

    noms = installer(api_url, file)
    console.print(
        f"{len(noms)} déploiement(s) inscrit(s) sur {api_url} dans la file « {file} » : "
        f"{', '.join(noms)}. Un worker les fait tourner : prefect worker start --pool {file}",
        highlight=False,
        markup=False,
    )


# --- La page web et ses comptes ---------------------------------------------------------------

utilisateur_app = typer.Typer(
    help="Les comptes de la page web : ajouter, lister, désactiver.", no_args_is_help=True
)
app.add_typer(utilisateur_app, name="utilisateur")


class Role(StrEnum):
    secretaire = "secretaire"
    maire = "maire"
    admin = "admin"


def _comptes() -> Any:
    from registre.comptes import Comptes

    return Comptes(_ouvrir_registre())


@utilisateur_app.command("ajouter")
@commande
def utilisateur_ajouter(
    nom: Annotated[str, typer.Argument(help="Le nom de connexion, par exemple « secretaire ».")],
    role: Annotated[Role, typer.Option("--role", help="secretaire, maire ou admin.")],
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


@utilisateur_app.command("lister")
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


@utilisateur_app.command("desactiver")
@commande
def utilisateur_desactiver(
    nom: Annotated[str, typer.Argument(help="Le nom de connexion du compte.")],
) -> None:
    """Désactive un compte : il ne peut plus se connecter, ses sessions sont fermées."""
    compte = _comptes().desactiver(nom, "cli")
    console.print(f"Compte « {escape(compte.nom)} » désactivé.", highlight=False)


@app.command()
@commande
def serveur(
    hote: Annotated[str, typer.Option("--hote", help="Adresse d'écoute.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port d'écoute.", min=1, max=65535)] = 8000,
) -> None:
    """La page web de la secrétaire et du maire (file d'attente, courriers, registre)."""
    from courrier.web.app import servir

    r = reglages()
    _preparer_journalisation(r)
    console.print(f"Page web sur http://{hote}:{port}/ (Ctrl+C pour arrêter).", highlight=False)
    servir(r, hote, port)


@app.command()
@commande
def sauvegarde(
    sortie: Annotated[
        Path | None,
        typer.Option(
            "--sortie", help="Le fichier .tar à écrire (par défaut dans le dossier courant)."
        ),
    ] = None,
) -> None:
    """Sauvegarde à chaud le registre (base et archive des originaux) dans un seul fichier."""
    from registre.sauvegarde import sauvegarder

    r = reglages()
    registre = _ouvrir_registre()
    sortie = sortie or Path(f"courrier-sauvegarde-{registre.horloge():%Y%m%d-%H%M%S}.tar")
    bilan = sauvegarder(registre, r.url_base, sortie, r.commune)
    console.print(
        f"Sauvegarde écrite dans {bilan.fichier} : {bilan.courriers} courrier(s), "
        f"{bilan.originaux} fichier(s) de l'archive ({_taille(bilan.octets)}). "
        "Gardez-la hors de cette machine.",
        highlight=False,
    )


@app.command()
@commande
def restaurer(
    fichier: Annotated[
        Path, typer.Argument(help="La sauvegarde (.tar) écrite par « courrier sauvegarde ».")
    ],
) -> None:
    """Restaure une sauvegarde dans un dossier de données neuf, puis vérifie tout le registre."""
    from registre.sauvegarde import restaurer as restaurer_sauvegarde

    r = reglages()
    bilan = restaurer_sauvegarde(fichier, r.donnees, r.url_base)
    console.print(
        f"Sauvegarde du {bilan.sauvegarde_du.astimezone(PARIS):%d/%m/%Y à %H:%M} restaurée "
        f"dans {r.donnees} ({bilan.courriers} courrier(s)). Vérification…",
        highlight=False,
    )
    registre_verifier()


conservation_app = typer.Typer(
    help="Conservation et RGPD : purge à l'échéance, droit d'accès d'une personne.",
    no_args_is_help=True,
)
app.add_typer(conservation_app, name="conservation")


def _dossier_regles(r: Reglages) -> Path:
    from courrier.brouillons import DOSSIER_REGLES

    return r.regles or DOSSIER_REGLES


@conservation_app.command("purger")
@commande
def conservation_purger(
    essai: Annotated[
        bool, typer.Option("--essai", help="Dire ce qui serait effacé, sans rien effacer.")
    ] = False,
) -> None:
    """Efface les données personnelles des courriers dont la durée de conservation est passée."""
    from registre.conservation import a_purger, charger_conservation, purger

    r = reglages()
    registre = _ouvrir_registre()
    conservation = charger_conservation(_dossier_regles(r))
    jour = registre.aujourd_hui()
    if essai:
        dus = a_purger(registre, conservation, jour)
        for c in dus:
            console.print(
                f"  {c.numero} ({c.categorie or 'autre'}, reçu le "
                f"{c.recu_le.astimezone(PARIS):%d/%m/%Y}) : {conservation.duree(c.categorie)} ans",
                highlight=False,
            )
        console.print(f"{len(dus)} courrier(s) à purger ; rien n'a été effacé.", highlight=False)
        return
    bilan = purger(registre, conservation, jour)
    console.print(
        f"{len(bilan.purges)} courrier(s) purgé(s) (données personnelles effacées, preuve "
        f"gardée), {bilan.fichiers_effaces} fichier(s) de l'archive effacé(s).",
        highlight=False,
    )


@conservation_app.command("acces")
@commande
def conservation_acces(
    personne: Annotated[str, typer.Argument(help="Adresse électronique ou nom de la personne.")],
    sortie: Annotated[Path, typer.Option("--sortie", help="La page HTML à écrire.")],
) -> None:
    """Droit d'accès (RGPD, art. 15) : tout ce que le registre garde d'une personne, en une page."""
    from registre.acces import ecrire_acces

    courriers = ecrire_acces(_ouvrir_registre(), personne, reglages().commune, sortie)
    console.print(
        f"{len(courriers)} courrier(s) de « {escape(personne)} » écrit(s) dans {sortie}.",
        highlight=False,
    )


delai_app = typer.Typer(
    help="Délais légaux : une demande de pièces les suspend, leur réception les relance.",
    no_args_is_help=True,
)
app.add_typer(delai_app, name="delai")


def _jour_option(jour: str | None, registre: Registre) -> date:
    if not jour:
        return registre.aujourd_hui()
    try:
        return date.fromisoformat(jour.strip())
    except ValueError:
        raise CourrierErreur(
            f"Le jour « {jour} » n'est pas une date au format AAAA-MM-JJ (par exemple 2026-12-02)."
        ) from None


JourOption = Annotated[
    str | None, typer.Option("--le", help="Le jour (AAAA-MM-JJ), aujourd'hui par défaut.")
]


def _afficher_delais(numero: str, echeances: list[Any]) -> None:
    for e in echeances:
        console.print(f"{numero} : {e.texte}.", highlight=False)


@delai_app.command("pieces-demandees")
@commande
def delai_pieces_demandees(
    numero: Annotated[str, typer.Argument(help="Le numéro du courrier (2026-00042).")],
    le: JourOption = None,
) -> None:
    """Des pièces manquent et ont été demandées : le délai de décision est suspendu."""
    from registre.delais import pieces_demandees

    registre = _ouvrir_registre()
    _afficher_delais(numero, pieces_demandees(registre, numero, _jour_option(le, registre), "cli"))


@delai_app.command("pieces-recues")
@commande
def delai_pieces_recues(
    numero: Annotated[str, typer.Argument(help="Le numéro du courrier (2026-00042).")],
    le: JourOption = None,
) -> None:
    """Les pièces demandées sont arrivées : le délai de décision repart de ce jour."""
    from courrier.brouillons import charger_crpa
    from registre.delais import pieces_recues

    registre = _ouvrir_registre()
    crpa = charger_crpa(reglages().regles)
    jour = _jour_option(le, registre)
    _afficher_delais(numero, pieces_recues(registre, numero, jour, crpa, "cli"))


@delai_app.command("transmis")
@commande
def delai_transmis(
    numero: Annotated[str, typer.Argument(help="Le numéro du courrier (2026-00042).")],
    a: Annotated[str, typer.Option("--a", help="L'autorité compétente (« la préfecture »).")],
    le: JourOption = None,
) -> None:
    """La demande relève d'une autre autorité et lui a été transmise (CRPA L114-2)."""
    from registre.delais import demande_transmise

    registre = _ouvrir_registre()
    jour = _jour_option(le, registre)
    _afficher_delais(numero, demande_transmise(registre, numero, jour, a, "cli"))


def main() -> None:
    app()
