"""La commande `courrier`, en français. Une erreur : une phrase claire et un code non nul.

La relève et la démonstration sont dans courrier/cli_releve.py, ce que partagent les
commandes dans courrier/cli_commun.py.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from courrier import cli_indicateurs, cli_lots, cli_oauth, cli_preuves, cli_releve

# Sous leurs anciens noms : les commandes de ce fichier n'ont pas à changer.
from courrier.cli_commun import afficher_registre as _afficher_registre
from courrier.cli_commun import commande, console, erreurs
from courrier.cli_commun import nom_court as _nom_court
from courrier.cli_commun import ouvrir_registre as _ouvrir_registre
from courrier.cli_commun import preparer_journalisation as _preparer_journalisation
from courrier.cli_commun import preparer_prefect as _preparer_prefect
from courrier.cli_commun import taire_la_fermeture as _taire_la_fermeture
from courrier.cli_francais import Application
from courrier.config import reglages
from courrier.domaine import StatutBrouillon
from courrier.erreurs import ConfigurationErreur, CourrierErreur
from courrier.pages_ocr import description, pages_depuis_json, signalement_du_courrier
from registre.transparence import MOTEURS_LISIBLES, provenance_ia

if TYPE_CHECKING:
    pass

app = Application(
    help="Courrier : le courrier arrivé de la mairie, relevé, enregistré et lu.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
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


def _libelle_elu(ident: str) -> str:
    """Le nom et la fonction de l'élu référent (regles/elus.yaml), pas son identifiant."""
    from regles.repartition import charger_repartition

    try:
        return charger_repartition(reglages().regles).libelle(ident)
    except ConfigurationErreur:
        return ident  # un fichier faux ne doit pas empêcher de montrer le courrier


@app.command()
@commande
def montrer(
    numero: Annotated[str, typer.Argument(help="Numéro chrono, par exemple 2026-00042.")],
    en_json: Annotated[
        bool, typer.Option("--json", help="Sortie JSON (pour un programme).")
    ] = False,
) -> None:
    """Montre un courrier du registre, avec tout son texte lu et ses pièces jointes."""
    from registre.lots import reference_du_courrier
    from registre.registre import details, heure_de_paris

    registre = _ouvrir_registre()
    c = registre.courrier(numero.strip())
    if c is None:
        raise CourrierErreur(f"Aucun courrier n'a le numéro « {numero} » dans le registre.")
    lot = reference_du_courrier(registre.moteur, c.id)
    evenements = registre.evenements(c.numero)
    seuil = reglages().ocr_seuil_confiance
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
            "lot": (
                {
                    "empreinte": lot.empreinte,
                    "nom": lot.nom,
                    "rang": lot.rang,
                    "total": lot.total,
                    "premiere_page": lot.premiere_page,
                    "derniere_page": lot.derniere_page,
                }
                if lot
                else None
            ),
            "methode_extraction": c.methode_extraction,
            "confiance_ocr": c.confiance_ocr,
            "pages": c.pages,
            "pages_ocr": _pages_json(c.pages_ocr),
            "lecture_a_verifier": signalement_du_courrier(c, seuil),
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
                    "pages_ocr": _pages_json(p.pages_ocr),
                    "erreur": p.erreur,
                    "en_ligne": p.en_ligne,
                    "texte": p.texte,
                }
                for p in c.pieces
            ],
            "elu": c.elu,
            "analyse": json.loads(c.analyse) if c.analyse else None,
            "analyse_le": c.analyse_le.isoformat() if c.analyse_le else None,
            "consigne_ia": c.consigne_ia,
            "brouillons": [
                {
                    "rang": b.rang,
                    "type": b.type,
                    "statut": b.statut,
                    "auteur": b.auteur,
                    "prepare_par_ia": b.prepare_par_ia,
                    "consigne_ia": b.consigne_ia,
                    "cree_le": b.cree_le.isoformat(),
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
        ("Lot de scans", lot.phrase() if lot else ""),
        (
            "Lecture",
            c.methode_extraction
            + (f" (confiance OCR {c.confiance_ocr:.0f} %)" if c.confiance_ocr is not None else ""),
        ),
        ("Erreur", c.erreur),
        ("Signalement", signalement_du_courrier(c, seuil)),
    ):
        if valeur:
            console.print(f"{libelle} : {valeur}", highlight=False, markup=False)
    for page in pages_depuis_json(c.pages_ocr):
        console.print(f"  OCR {description(page, seuil)}", highlight=False, markup=False)
    if c.analyse_le is not None:
        console.rule("Analyse")
        for libelle, valeur in (
            ("Catégorie", c.categorie),
            ("Service", c.service),
            ("Élu référent", _libelle_elu(c.elu)),
            ("Urgence", c.urgence),
            ("Échéance", c.echeance.strftime("%d/%m/%Y") if c.echeance else ""),
            ("Résumé", c.resume),
            ("Demande", c.demande),
            ("Analysé par", provenance_ia(c.moteur, c.consigne_ia, c.analyse_le) or "règles"),
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
            for page in pages_depuis_json(p.pages_ocr):
                console.print(f"   OCR {description(page, seuil)}", highlight=False, markup=False)
    for b in c.brouillons:
        console.rule(f"Brouillon {b.rang} — {LIBELLES_BROUILLON.get(b.type, b.type)} ({b.statut})")
        if b.prepare_par_ia:
            console.print(
                "Préparé avec l'aide d'une IA : à relire "
                f"({provenance_ia(b.auteur, b.consigne_ia, b.cree_le)}).",
                style="yellow",
                highlight=False,
                markup=False,
            )
        console.print(b.corps, highlight=False, markup=False)
    console.rule("Journal")
    for e in evenements:
        console.print(
            f"n°{e.id} {heure_de_paris(e.horodatage)} {e.type} par {e.acteur}",
            highlight=False,
            markup=False,
        )


def _pages_json(texte: str) -> list[dict[str, object]]:
    return [
        {"page": p.numero, "confiance": p.confiance, "angle": p.angle, "mots": p.mots}
        for p in pages_depuis_json(texte)
    ]


LIBELLES_BROUILLON = {"reponse": "réponse", "accuse_reception": "accusé de réception"}


def _moteur_lisible(moteur: str) -> str:
    if moteur.startswith("llm:"):
        return f"IA ({moteur[4:]})"
    return MOTEURS_LISIBLES.get(moteur, moteur)


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

    seuil = reglages().ocr_seuil_confiance
    for c, b in attente:
        legal = prochaine(depuis_json(c.echeances_legales))
        objet = c.objet or f"(fichier {c.nom_fichier})"
        type_ = LIBELLES_BROUILLON.get(b.type, b.type)
        if b.statut == StatutBrouillon.NON_REMIS.value:
            # Une réponse partie puis revenue en erreur : la secrétaire choisit quoi faire.
            type_ += "\nà vérifier : non remis"
            objet += f"\n{b.raison}"
        if lecture := signalement_du_courrier(c, seuil):
            # Le brouillon a été préparé sur un texte peut-être faux : relire l'original.
            objet += f"\n{lecture}"
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

        ancres = cli_preuves.verifier_ancres_reglees(registre)
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
    from courrier.planification import lignes_horaires

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
        from courrier.planification import servir as servir_horaires

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
    from courrier.planification import installer

    noms = installer(api_url, file)
    console.print(
        f"{len(noms)} déploiement(s) inscrit(s) sur {api_url} dans la file « {file} » : "
        f"{', '.join(noms)}. Un worker les fait tourner : prefect worker start --pool {file}",
        highlight=False,
        markup=False,
    )


# --- La page web et ses comptes ---------------------------------------------------------------

utilisateur_app = Application(
    help="Les comptes de la page web : ajouter, lister, désactiver.", no_args_is_help=True
)
app.add_typer(utilisateur_app, name="utilisateur")


class Role(StrEnum):
    secretaire = "secretaire"
    maire = "maire"
    admin = "admin"
    elu = "elu"  # lecture et commentaire de ses courriers (regles/elus.yaml)


def _comptes() -> Any:
    from registre.comptes import Comptes

    return Comptes(_ouvrir_registre())


@utilisateur_app.command("ajouter")
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


def main() -> None:
    app()
