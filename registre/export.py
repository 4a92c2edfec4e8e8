"""Export du registre (pandas) : CSV pour tout tableur, XLSX pour Excel et LibreOffice."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from noyau.calendrier import PARIS
from noyau.delais import depuis_json
from noyau.erreurs import CourrierErreur, raison_systeme
from noyau.fiches import FicheBrouillon, FicheCourrier
from registre.tables import BrouillonLigne, Courrier
from registre.transparence import provenance_ia

COLONNES = [
    "numero",
    "canal",
    "recu_le",
    "enregistre_le",
    "expediteur",
    "objet",
    "statut",
    "empreinte",
    "message_id",
    "erreur",
    "source",
    "reference",
    "nom_fichier",
    "taille",
    "methode_extraction",
    "confiance_ocr",
    "pages",
    "pieces",
    "categorie",
    "service",
    "elu",  # l'élu référent (identifiant de regles/elus.yaml)
    "urgence",
    "resume",
    "reponse_attendue",
    "echeance",
    "echeances_legales",
    "moteur",
    # Transparence de l'IA : modèle, empreinte de la consigne et date de chaque sortie de l'IA.
    "analyse_le",
    "analyse_ia",
    "alertes",
    "brouillons",
    "repondu_le",
    # Une absence ou un avis de non-remise n'est pas du courrier des administrés : un tableau
    # de statistiques les écarte par cette colonne.
    "automatique",
    "retour_de",
]


def ligne(courrier: Courrier | FicheCourrier) -> dict[str, Any]:
    return {
        "numero": courrier.numero,
        "canal": courrier.canal,
        "recu_le": _paris(courrier.recu_le),
        "enregistre_le": _paris(courrier.enregistre_le),
        "expediteur": courrier.expediteur,
        "objet": courrier.objet,
        "statut": courrier.statut,
        "empreinte": courrier.empreinte,
        "message_id": courrier.message_id,
        "erreur": courrier.erreur,
        "source": courrier.source,
        "reference": courrier.reference,
        "nom_fichier": courrier.nom_fichier,
        "taille": courrier.taille,
        "methode_extraction": courrier.methode_extraction,
        "confiance_ocr": courrier.confiance_ocr,
        "pages": courrier.pages,
        "pieces": len(courrier.pieces),
        "categorie": courrier.categorie,
        "service": courrier.service,
        "elu": courrier.elu,
        "urgence": courrier.urgence,
        "resume": courrier.resume,
        "reponse_attendue": _oui_non(courrier.reponse_attendue),
        "echeance": courrier.echeance.isoformat() if courrier.echeance else "",
        "echeances_legales": "; ".join(
            f"{e.texte} ({e.reference})" for e in depuis_json(courrier.echeances_legales)
        ),
        "moteur": courrier.moteur,
        "analyse_le": _paris(courrier.analyse_le),
        "analyse_ia": provenance_ia(courrier.moteur, courrier.consigne_ia, courrier.analyse_le),
        "alertes": courrier.alertes,
        "brouillons": ", ".join(_brouillon(b) for b in courrier.brouillons),
        "repondu_le": _paris(courrier.repondu_le),
        "automatique": courrier.automatique,
        "retour_de": courrier.retour_de,
    }


def _brouillon(b: BrouillonLigne | FicheBrouillon) -> str:
    if not b.prepare_par_ia:
        return f"{b.type} ({b.statut})"
    return f"{b.type} ({b.statut} ; {provenance_ia(b.auteur, b.consigne_ia, b.cree_le)})"


def _oui_non(valeur: bool | None) -> str:
    return "" if valeur is None else ("oui" if valeur else "non")


def tableau(courriers: Sequence[Courrier | FicheCourrier]) -> pd.DataFrame:
    lignes = [{k: _cellule(v) for k, v in ligne(c).items()} for c in courriers]
    return pd.DataFrame(lignes, columns=COLONNES)


def _cellule(valeur: Any) -> Any:
    """Texte venu de l'extérieur rendu inoffensif pour un tableur.

    Un objet qui commence par « = » deviendrait une formule à l'ouverture du fichier ; les
    caractères de contrôle font échouer l'écriture XLSX.
    """
    if not isinstance(valeur, str):
        return valeur
    valeur = "".join(c if c.isprintable() or c in "\t\n" else " " for c in valeur)
    if valeur[:1] in ("=", "+", "-", "@"):
        return "'" + valeur
    return valeur


def dossier_de_sortie_existant(sortie: Path) -> None:
    """Un dossier de sortie absent, dit en français : pandas le dit en anglais, sans numéro
    d'erreur que `raison_systeme` saurait traduire."""
    if not sortie.parent.is_dir():
        raise CourrierErreur(
            f"Impossible d'écrire le fichier « {sortie} » : le dossier « {sortie.parent} » "
            "n'existe pas."
        )


def exporter(courriers: Sequence[Courrier | FicheCourrier], format_: str, sortie: Path) -> int:
    """Écrit le registre ; rend le nombre de lignes. Heures de Paris, au format ISO."""
    donnees = tableau(courriers)
    dossier_de_sortie_existant(sortie)
    try:
        if format_ == "csv":
            # Point-virgule et BOM : le CSV s'ouvre tel quel dans un tableur réglé en français.
            donnees.to_csv(sortie, index=False, sep=";", encoding="utf-8-sig")
        elif format_ == "xlsx":
            with pd.ExcelWriter(sortie, engine="openpyxl") as classeur:
                donnees.to_excel(classeur, index=False, sheet_name="Registre")
        else:
            raise CourrierErreur(f"Format d'export inconnu : « {format_} » (csv ou xlsx).")
    except OSError as e:
        raise CourrierErreur(
            f"Impossible d'écrire le fichier « {sortie} » : {raison_systeme(e)}."
        ) from e
    return len(donnees)


def _paris(moment: Any) -> str:
    if moment is None:
        return ""
    return str(moment.astimezone(PARIS).isoformat(timespec="seconds"))
