"""`courrier montrer` : un courrier du registre, avec tout son texte lu, ses pièces jointes,
son analyse, ses brouillons et son journal (en clair ou en JSON pour un programme)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from courrier.config import reglages
from interfaces.cli_commun import commande, console, ouvrir_registre
from noyau.erreurs import ConfigurationErreur, CourrierErreur
from noyau.pages_ocr import description, pages_depuis_json, signalement_du_courrier
from registre.transparence import provenance_ia

if TYPE_CHECKING:
    from noyau.fiches import FicheCourrier, FicheEvenement
    from registre.lots import ReferenceLot


def _libelle_elu(ident: str) -> str:
    """Le nom et la fonction de l'élu référent (regles/elus.yaml), pas son identifiant."""
    from regles.repartition import charger_repartition

    try:
        return charger_repartition(reglages().regles).libelle(ident)
    except ConfigurationErreur:
        return ident  # un fichier faux ne doit pas empêcher de montrer le courrier


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

    registre = ouvrir_registre()
    c = registre.courrier(numero.strip())
    if c is None:
        raise CourrierErreur(f"Aucun courrier n'a le numéro « {numero} » dans le registre.")
    lot = reference_du_courrier(registre.engine, c.id)
    evenements = registre.evenements(c.numero)
    seuil = reglages().ocr_seuil_confiance
    if en_json:
        sortie = _en_json(c, lot, evenements, seuil, details)
        sys.stdout.write(json.dumps(sortie, ensure_ascii=False, indent=2) + "\n")
        return
    _entete_en_clair(c, lot, seuil, heure_de_paris)
    _analyse_en_clair(c)
    console.rule("Texte")
    console.print(c.texte or "(aucun texte lu)", highlight=False, markup=False)
    _pieces_et_brouillons_en_clair(c, seuil)
    console.rule("Journal")
    for e in evenements:
        console.print(
            f"n°{e.id} {heure_de_paris(e.horodatage)} {e.type} par {e.acteur}",
            highlight=False,
            markup=False,
        )
        if remarque := details(e).get("remarque"):  # une date de source écartée, et pourquoi
            console.print(f"    {remarque}", highlight=False, markup=False)


def _en_json(
    c: FicheCourrier,
    lot: ReferenceLot | None,
    evenements: list[FicheEvenement],
    seuil: float,
    details: Callable[[FicheEvenement], dict[str, Any]],
) -> dict[str, object]:
    return {
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


def _entete_en_clair(
    c: FicheCourrier,
    lot: ReferenceLot | None,
    seuil: float,
    heure_de_paris: Callable[[datetime | None], str],
) -> None:
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


def _analyse_en_clair(c: FicheCourrier) -> None:
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


def _pieces_et_brouillons_en_clair(c: FicheCourrier, seuil: float) -> None:
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


def _pages_json(texte: str) -> list[dict[str, object]]:
    return [
        {"page": p.numero, "confiance": p.confiance, "angle": p.angle, "mots": p.mots}
        for p in pages_depuis_json(texte)
    ]


LIBELLES_BROUILLON = {"reponse": "réponse", "accuse_reception": "accusé de réception"}
