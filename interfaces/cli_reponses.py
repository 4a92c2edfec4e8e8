"""`courrier file` et `courrier envoyer` : les brouillons qui attendent la validation de la
secrétaire, puis les réponses validées qui partent."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from courrier.config import reglages
from interfaces.cli_commun import (
    commande,
    console,
    erreurs,
    nom_court,
    ouvrir_registre,
    preparer_traces,
)
from interfaces.cli_montrer import LIBELLES_BROUILLON
from noyau.domaine import StatutBrouillon
from noyau.pages_ocr import signalement_du_courrier
from registre.transparence import MOTEURS_LISIBLES


def _moteur_lisible(moteur: str) -> str:
    if moteur.startswith("llm:"):
        return f"IA ({moteur[4:]})"
    return MOTEURS_LISIBLES.get(moteur, moteur)


@commande
def file_d_attente() -> None:
    """Liste les brouillons qui attendent la validation de la secrétaire, urgents d'abord."""
    attente = ouvrir_registre().brouillons_a_valider()
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
    from noyau.delais import depuis_json, prochaine

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
            escape(nom_court(c.expediteur)),
            escape(objet),
            c.echeance.strftime("%d/%m/%Y") if c.echeance else "",
            f"{legal.libelle}\n{legal.le:%d/%m/%Y}" if legal else "",
            escape(_moteur_lisible(b.auteur) if b.auteur.startswith("llm:") else "modèle"),
            style="bold red" if c.urgence == "haute" else None,
        )
    console.print(table)


@commande
def envoyer_reponses() -> None:
    """Envoie maintenant les réponses validées (une tentative chacune) et reprend les envois
    interrompus ; le flow planifié `envoi` fait de même toutes les 15 minutes."""
    from courrier.envoi import envoyer_valides
    from courrier.pannes import depuis_environnement

    r = reglages()
    preparer_traces(r)
    bilan = envoyer_valides(ouvrir_registre(), r, panne=depuis_environnement())
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
