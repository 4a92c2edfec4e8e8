"""Connecteur LLM : tout point d'accès compatible OpenAI (OpenAI, Mistral, Albert, Ollama, vLLM).

Un appel par courrier pour toute l'analyse (sortie structurée par schéma JSON, repli sur le
mode « objet JSON » pour les serveurs qui ne la connaissent pas), un appel de plus pour un
brouillon. Le texte du courrier est une donnée citée entre marqueurs, jamais une instruction.
Avec la pseudonymisation, le point d'accès ne voit aucune donnée personnelle : elles sont
masquées avant l'appel et restaurées dans le résultat.

Les étapes vivent à côté : la requête (`llm_requete`), l'appel et ses nouvelles tentatives
(`llm_appel`), la lecture de la réponse (`llm_lecture`). Ce module les assemble et garde les noms
publics d'avant.

Les messages d'erreur et les traces techniques (logging) ne contiennent jamais le contenu
d'un courrier.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from email.utils import parseaddr
from typing import Any, Protocol

from connecteurs.llm_appel import AppelLLM, ErreurLLM, ParametresLLM, RefusJsonSchema
from connecteurs.llm_lecture import lire_json, sans_cloture, vers_analyse
from connecteurs.llm_requete import (
    CARACTERES_PAR_JETON,
    CONSIGNE_ANALYSE,
    CONSIGNE_BROUILLON,
    COUPURE,
    DEBUT_DONNEES,
    DONNEES_MIN_CARACTERES,
    FIN_DONNEES,
    SYSTEME_ANALYSE,
    SYSTEME_BROUILLON,
    citer,
    couper,
    donnees_du_courrier,
    empreinte_consigne,
    jour,
    messages_llm,
    neutraliser,
)
from connecteurs.pseudonymisation import Pseudonymiseur
from connecteurs.reponse_llm import schema_analyse
from noyau.analyse import Analyse, Commune, CourrierALire
from noyau.exemples import Exemple, bloc_exemples

__all__ = [
    "BROUILLON_MAX_CARACTERES",
    "CARACTERES_PAR_JETON",
    "CONSIGNE_ANALYSE",
    "CONSIGNE_BROUILLON",
    "COUPURE",
    "DEBUT_DONNEES",
    "DONNEES_MIN_CARACTERES",
    "FIN_DONNEES",
    "AnalyseurLLM",
    "ClientLLM",
    "ErreurLLM",
    "ParametresLLM",
    "couper",
    "empreinte_consigne",
]

logger = logging.getLogger(__name__)

BROUILLON_MAX_CARACTERES = 8000


class AnalyseurLLM(Protocol):
    """Ce que le reste de Courrier attend d'un LLM ; `ClientLLM` en est l'implémentation."""

    def analyser(
        self,
        courrier: CourrierALire,
        categories: Mapping[str, str],
        services: Mapping[str, str],
        exemples: Sequence[Exemple] = (),
    ) -> Analyse: ...

    def rediger(self, courrier: CourrierALire, analyse: Analyse, commune: Commune) -> str: ...


class ClientLLM:
    """Un client OpenAI partagé par les fils d'exécution de l'appelant."""

    def __init__(
        self,
        p: ParametresLLM,
        limiteur: Callable[[], AbstractContextManager[object]] | None = None,
    ) -> None:
        """`limiteur` : une borne de plus, partagée entre machines (limite de concurrence
        globale de Prefect quand la relève tourne sur plusieurs workers)."""
        self.p = p
        self._appel = AppelLLM(p, limiteur)
        self._verrou = threading.Lock()
        self._json_schema = True  # devient faux, pour de bon, au premier refus du serveur

    @property
    def moteur(self) -> str:
        return f"llm:{self.p.modele}"

    @property
    def consigne_brouillon(self) -> str:
        return CONSIGNE_BROUILLON

    @property
    def sortie_structuree(self) -> bool:
        """Faux quand le serveur a refusé le schéma JSON : le mode « objet JSON » suit."""
        return self._json_schema

    def fermer(self) -> None:
        self._appel.fermer()

    def __enter__(self) -> ClientLLM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.fermer()

    # -- analyse -----------------------------------------------------------------------------

    def analyser(
        self,
        courrier: CourrierALire,
        categories: Mapping[str, str],
        services: Mapping[str, str],
        exemples: Sequence[Exemple] = (),
    ) -> Analyse:
        """`exemples` : des courriers proches déjà classés par la secrétaire, masqués comme le
        courrier lui-même et placés entre marqueurs : des données, jamais des consignes."""
        if not categories:
            raise ErreurLLM("Aucune catégorie n'est définie : l'analyse par le LLM est impossible.")
        pseudo = self._pseudonymiseur(courrier)
        liste = "\n".join(
            f"- {ident} : {libelle}"
            + (f" ; service : {services[ident]}" if ident in services else "")
            for ident, libelle in categories.items()
        )
        entete = (
            f"Catégories possibles (identifiant : libellé ; service) :\n{liste}\n\n"
            f"Courrier n° {courrier.numero}, reçu le {jour(courrier.recu_le)} "
            f"(canal : {courrier.canal}).\n"
        )
        if exemples:
            masquer = pseudo.masquer if pseudo else (lambda t: t)
            entete = bloc_exemples(exemples, lambda t: masquer(neutraliser(t))) + entete
        consigne = "\nRéponds uniquement par l'objet JSON décrit."
        systeme_objet = (
            SYSTEME_ANALYSE
            + "\n\nL'objet JSON suit ce schéma :\n"
            + json.dumps(schema_analyse(list(categories)), ensure_ascii=False)
        )
        fixe = len(systeme_objet) + len(entete) + len(consigne)
        donnees = citer(donnees_du_courrier(courrier), pseudo, fixe, self.p.budget_jetons)
        utilisateur = entete + donnees + consigne

        donnees_json = self._demander_json(
            systeme=SYSTEME_ANALYSE,
            systeme_objet=systeme_objet,
            utilisateur=utilisateur,
            schema=schema_analyse(list(categories)),
        )
        analyse = vers_analyse(
            donnees_json, courrier, categories, services, self.moteur, CONSIGNE_ANALYSE
        )
        return pseudo.restaurer_modele(analyse) if pseudo else analyse

    def _demander_json(
        self, systeme: str, systeme_objet: str, utilisateur: str, schema: dict[str, Any]
    ) -> dict[str, Any]:
        objet: dict[str, Any] = {"type": "json_object"}
        messages_objet = messages_llm(systeme_objet, utilisateur)
        if not self._json_schema:
            return lire_json(self._appel.completer(messages_objet, objet))
        structure = {
            "type": "json_schema",
            "json_schema": {"name": "analyse", "strict": True, "schema": schema},
        }
        try:
            contenu = self._appel.completer(messages_llm(systeme, utilisateur), structure)
        except RefusJsonSchema:
            logger.warning(
                "LLM : le serveur refuse la sortie structurée (json_schema) ; "
                "mode « objet JSON » désormais."
            )
            with self._verrou:
                self._json_schema = False
            return lire_json(self._appel.completer(messages_objet, objet))
        try:
            return lire_json(contenu)
        except ErreurLLM:
            # Certains serveurs acceptent json_schema sans l'appliquer et répondent en prose :
            # une seconde chance en mode objet JSON, retenue si elle réussit.
            logger.warning("LLM : réponse non JSON en mode json_schema ; essai en mode objet JSON.")
            resultat = lire_json(self._appel.completer(messages_objet, objet))
            with self._verrou:
                self._json_schema = False
            return resultat

    # -- brouillon ---------------------------------------------------------------------------

    def rediger(self, courrier: CourrierALire, analyse: Analyse, commune: Commune) -> str:
        signature = commune.signataire.strip() or (
            f"Le Maire, {commune.maire.strip()}" if commune.maire.strip() else "Le Maire"
        )
        # Le nom que l'analyse a trouvé (signature, en-tête) est connu du masque, même quand
        # l'en-tête From n'en portait pas.
        pseudo = self._pseudonymiseur(
            courrier, exclus=(commune.nom, commune.maire), noms=(analyse.expediteur.nom,)
        )
        # Le résumé vient du LLM, qui a lu le courrier : c'est une donnée lui aussi, citée
        # dans le même bloc (et masquée par le même pseudonymiseur, donc avec les mêmes marques).
        retenu = (
            "Ce que l'analyse en a retenu :\n"
            f"Résumé : {analyse.resume}\n"
            f"Demande : {analyse.demande or '(aucune demande précise)'}\n"
            f"Expéditeur : {analyse.expediteur.nom or 'inconnu'}\n\n"
            "Le courrier :\n"
        )
        entete = (
            f"Mairie : {commune.nom}\n"
            f"Signature à reproduire : {signature}\n"
            f"Service chargé du dossier : {analyse.service or 'le secrétariat de mairie'}\n"
            f"Courrier reçu le {jour(courrier.recu_le)}.\n"
        )
        consigne = "\nRédige le brouillon de la réponse, en texte brut."
        fixe = len(SYSTEME_BROUILLON) + len(entete) + len(consigne)
        donnees = citer(retenu + donnees_du_courrier(courrier), pseudo, fixe, self.p.budget_jetons)
        contenu = self._appel.completer(
            messages_llm(SYSTEME_BROUILLON, entete + donnees + consigne), reponse=None
        )
        texte = sans_cloture(contenu).strip()
        if not texte:
            raise ErreurLLM("Le LLM a rendu un brouillon vide.")
        texte = texte[:BROUILLON_MAX_CARACTERES]
        if pseudo:
            texte = pseudo.restaurer(texte)
        if signature not in texte:
            texte = f"{texte.rstrip()}\n\n{signature}"
        return texte

    # -- commun ------------------------------------------------------------------------------

    def _pseudonymiseur(
        self, courrier: CourrierALire, exclus: Sequence[str] = (), noms: Sequence[str] = ()
    ) -> Pseudonymiseur | None:
        if not self.p.pseudonymiser:
            return None
        nom_affiche, _ = parseaddr(courrier.expediteur)
        connus = [n for n in (nom_affiche, *noms) if n]
        return Pseudonymiseur(noms_connus=connus, exclus=[e for e in exclus if e])
