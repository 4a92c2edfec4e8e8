"""Les commandes de la preuve et de la conservation : `registre verifier` et `registre ancrer`,
`sauvegarde` et `restaurer`, `conservation purger|acces`, `delai …` (délais légaux).

Elles lisent le registre et l'archive, jamais une source : aucune ne relève de courrier.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn

from courrier.config import Reglages, reglages
from interfaces.cli_commun import commande, console, erreurs, ouvrir_registre
from interfaces.cli_francais import Application
from noyau.calendrier import PARIS
from noyau.erreurs import ConfigurationErreur, CourrierErreur

if TYPE_CHECKING:
    from registre.ancrage import BilanAncres
    from registre.registre import Registre


@commande
def registre_verifier() -> None:
    """Vérifie le registre, son journal et chaque original de l'archive (relu en entier)."""
    registre = ouvrir_registre()
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
    ancres = verifier_ancres_reglees(registre)
    anomalies = [*verification.anomalies, *ancres.anomalies]
    if anomalies:
        premier = escape(anomalies[0])
        # soft_wrap : une anomalie tient sur une ligne, quelle que soit la largeur du terminal.
        erreurs.print(
            f"[bold red]Registre altéré[/] ({len(anomalies)} problème(s)). Premier problème : "
            f"{premier}",
            soft_wrap=True,
        )
        for autre in anomalies[1:50]:
            erreurs.print(f"  • {autre}", highlight=False, markup=False, soft_wrap=True)
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
    if archive.orphelins:
        console.print(
            f"À examiner : {len(archive.orphelins)} fichier(s) intact(s) en trop dans l'archive, "
            "cités par aucun courrier (sans effet sur la preuve ; code de sortie 2) :",
            highlight=False,
        )
        for orphelin in archive.orphelins[:20]:
            console.print(f"  • {orphelin}", highlight=False, markup=False, soft_wrap=True)
    if archive.depots_interrompus:
        console.print(
            f"{archive.depots_interrompus} fichier(s) provisoire(s) d'un dépôt interrompu par "
            "une panne, sans effet sur la preuve.",
            highlight=False,
        )
    if archive.orphelins:
        # Code 2, pas 1 : rien n'est altéré, mais un fichier en trop reste à examiner.
        raise typer.Exit(2)


def verifier_ancres_reglees(registre: Registre) -> BilanAncres:
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
    console.print(ancrer(ouvrir_registre(), client.horodater, r.horodatage_url).phrase())


def _taille(octets: int) -> str:
    if octets >= 1 << 30:
        return f"{octets / (1 << 30):.1f} Gio".replace(".", ",")
    if octets >= 1 << 20:
        return f"{octets / (1 << 20):.1f} Mio".replace(".", ",")
    return f"{octets / 1024:.0f} Kio" if octets >= 1024 else f"{octets} octet(s)"


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
    registre = ouvrir_registre()
    sortie = sortie or Path(f"courrier-sauvegarde-{registre.horloge():%Y%m%d-%H%M%S}.tar")
    bilan = sauvegarder(registre, r.url_base, sortie, r.commune)
    console.print(
        f"Sauvegarde écrite dans {bilan.fichier} : {bilan.courriers} courrier(s), "
        f"{bilan.originaux} fichier(s) de l'archive ({_taille(bilan.octets)}). "
        "Gardez-la hors de cette machine.",
        highlight=False,
    )


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


conservation_app = Application(
    help="Conservation et RGPD : purge à l'échéance, droit d'accès d'une personne.",
    no_args_is_help=True,
)


def _dossier_regles(r: Reglages) -> Path:
    from regles.crpa import DOSSIER_REGLES

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
    registre = ouvrir_registre()
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

    courriers = ecrire_acces(ouvrir_registre(), personne, reglages().commune, sortie)
    console.print(
        f"{len(courriers)} courrier(s) de « {escape(personne)} » écrit(s) dans {sortie}.",
        highlight=False,
    )


delai_app = Application(
    help="Délais légaux : une demande de pièces les suspend, leur réception les relance.",
    no_args_is_help=True,
)


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

    registre = ouvrir_registre()
    _afficher_delais(numero, pieces_demandees(registre, numero, _jour_option(le, registre), "cli"))


@delai_app.command("pieces-recues")
@commande
def delai_pieces_recues(
    numero: Annotated[str, typer.Argument(help="Le numéro du courrier (2026-00042).")],
    le: JourOption = None,
) -> None:
    """Les pièces demandées sont arrivées : le délai de décision repart de ce jour."""
    from registre.delais import pieces_recues
    from regles.crpa import charger_crpa

    registre = ouvrir_registre()
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

    registre = ouvrir_registre()
    jour = _jour_option(le, registre)
    _afficher_delais(numero, demande_transmise(registre, numero, jour, a, "cli"))
