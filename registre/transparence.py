"""Transparence de l'IA : qui a produit une analyse ou un brouillon, avec quelle consigne, quand.

Une seule phrase, la même sur la page web, dans `courrier montrer` et dans l'export.
"""

from __future__ import annotations

import json
from datetime import datetime

from noyau.calendrier import PARIS


def provenance_ia(moteur: str, consigne: str, le: datetime | None) -> str:
    """« IA, modèle mistral-small, consigne 3f2a9c1b0d4e, le 05/12/2026 à 02:03 » ; vide sans IA."""
    if not moteur.startswith("llm"):
        return ""
    morceaux = ["IA"]
    modele = moteur.partition(":")[2].strip()
    morceaux.append(f"modèle {modele}" if modele else "modèle inconnu")
    morceaux.append(f"consigne {consigne}" if consigne else "consigne non gardée")
    if le is not None:
        morceaux.append(le.astimezone(PARIS).strftime("le %d/%m/%Y à %H:%M"))
    return ", ".join(morceaux)


MOTEURS_LISIBLES = {"regles": "règles", "regles+appris": "règles et corrections apprises"}
LIBELLES_APPRIS = {
    "categorie": "catégorie",
    "urgence": "urgence",
    "service": "service",
    "reponse_attendue": "réponse attendue",
}


def provenance_apprentissage(analyse_json: str) -> str:
    """Ce que le classement doit aux corrections passées de la secrétaire (champ `appris` de
    l'analyse) : « catégorie, urgence » ou « 3 exemples corrigés montrés à l'IA » ; vide sinon."""
    try:
        appris = str(json.loads(analyse_json or "{}").get("appris", ""))
    except (ValueError, AttributeError):
        return ""
    if appris.startswith("exemples"):
        nombre = appris.partition(":")[2].strip()
        return f"{nombre} exemples corrigés montrés à l'IA"
    return ", ".join(LIBELLES_APPRIS.get(c.strip(), c.strip()) for c in appris.split(",") if c)
