"""La réponse du LLM lue : JSON retrouvé dans la prose, puis une `Analyse` bornée et validée.

Les messages d'erreur et les traces techniques (logging) ne contiennent jamais le contenu
d'un courrier.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from connecteurs.llm_appel import ErreurLLM
from connecteurs.reponse_llm import ALERTES_DU_LLM, ReponseInutilisable, lire_reponse
from noyau.analyse import Alerte, Analyse, CourrierALire, Expediteur
from noyau.calendrier import jour_de_paris

logger = logging.getLogger("connecteurs.llm")


def vers_analyse(
    donnees: dict[str, Any],
    courrier: CourrierALire,
    categories: Mapping[str, str],
    services: Mapping[str, str],
    moteur: str,
    consigne: str,
) -> Analyse:
    try:
        reponse = lire_reponse(donnees, reference=jour_de_paris(courrier.recu_le))
    except ReponseInutilisable as e:
        raise ErreurLLM("La réponse du LLM n'a pas de catégorie lisible.") from e
    lue = reponse.analyse
    # Une catégorie hors des règles est transmise telle quelle (bornée) : les règles la
    # remplacent ensuite et signalent le courrier « à vérifier », en gardant le résumé.
    categorie = _identifiant(lue.categorie, categories) or (
        _normaliser(lue.categorie)[:40] or "inconnue"
    )
    alertes = _alertes(lue.alertes)
    if reponse.ecartes:
        # Le reste de la réponse sert ; les règles remplaceront les champs écartés.
        logger.warning(
            "LLM : champs invalides écartés pour %s : %s.",
            courrier.numero,
            ", ".join(reponse.ecartes),
        )
        if Alerte.A_VERIFIER not in alertes:
            alertes.append(Alerte.A_VERIFIER)
    bornes = Analyse.model_fields
    expediteur = Expediteur(
        nom=lue.expediteur.nom.strip()[:200],
        email=lue.expediteur.email.strip()[:320],
        adresse=lue.expediteur.adresse.strip()[:500],
    )
    return Analyse(
        categorie=categorie,
        service=(lue.service.strip() or services.get(categorie, ""))[
            : _maxi(bornes["service"], 120)
        ],
        urgence=lue.urgence,
        resume=lue.resume.strip()[: _maxi(bornes["resume"], 1200)],
        expediteur=expediteur,
        demande=lue.demande.strip()[: _maxi(bornes["demande"], 500)],
        reponse_attendue=lue.reponse_attendue,
        est_demande_usager=lue.est_demande_usager,
        echeance=lue.echeance,
        confiance=lue.confiance,
        moteur=moteur,
        consigne=consigne,
        alertes=alertes,
        ecartes=list(reponse.ecartes),
    )


def _alertes(lues: list[str]) -> list[Alerte]:
    """Les alertes connues du LLM, sans doublon, dans l'ordre de la réponse."""
    alertes: list[Alerte] = []
    for alerte in lues:
        valeur = _normaliser(str(alerte))
        if valeur in ALERTES_DU_LLM and Alerte(valeur) not in alertes:
            alertes.append(Alerte(valeur))
    return alertes


def sans_cloture(texte: str) -> str:
    """Ôte une clôture Markdown (```json … ```) que certains modèles ajoutent."""
    m = re.fullmatch(r"\s*```[a-zA-Z]*\s*\n(.*?)\n?```\s*", texte, re.DOTALL)
    return m.group(1) if m else texte


def lire_json(contenu: str) -> dict[str, Any]:
    texte = sans_cloture(contenu).strip()
    try:
        donnees = json.loads(texte)
    except json.JSONDecodeError as e:
        # Un modèle en mode objet JSON entoure parfois l'objet d'une phrase.
        debut, fin = texte.find("{"), texte.rfind("}")
        if debut < 0 or fin <= debut:
            raise ErreurLLM("La réponse du LLM n'est pas un JSON lisible.") from e
        try:
            donnees = json.loads(texte[debut : fin + 1])
        except json.JSONDecodeError as e2:
            raise ErreurLLM("La réponse du LLM n'est pas un JSON lisible.") from e2
    if not isinstance(donnees, dict):
        raise ErreurLLM("La réponse du LLM n'est pas un objet JSON.")
    return donnees


def _normaliser(valeur: str) -> str:
    """« État civil » -> « etat_civil » : les petits modèles déforment les identifiants."""
    sans_accents = unicodedata.normalize("NFKD", valeur).encode("ascii", "ignore").decode()
    return re.sub(r"[\s\-]+", "_", sans_accents.strip().lower())


def _identifiant(valeur: str, categories: Mapping[str, str]) -> str | None:
    if valeur in categories:
        return valeur
    cherche = _normaliser(valeur)
    for ident, libelle in categories.items():
        if cherche in (_normaliser(ident), _normaliser(libelle)):
            return ident
    return None


def _maxi(info: Any, defaut: int) -> int:
    for contrainte in getattr(info, "metadata", ()):
        maxi = getattr(contrainte, "max_length", None)
        if isinstance(maxi, int):
            return maxi
    return defaut
