"""Le flow `envoi` : les réponses validées partent, chacune une seule fois.

Planifié toutes les 15 minutes aux heures ouvrées (`courrier planifier`). Le travail lui-même
est dans courrier/envoi.py ; ici, Prefect ajoute de nouvelles tentatives espacées (10 s, 20 s,
40 s) pour les pannes passagères où le serveur n'a rien accepté. Un doute sur l'envoi n'est
jamais retenté : le brouillon passe « à vérifier ».
"""

from __future__ import annotations

from prefect import flow

from connecteurs.smtp import ErreurSmtpPassagere
from courrier.envoi import BilanEnvoi, Envoyeur, boite_envoyes, verrou_envoi
from courrier.pannes import depuis_environnement
from courrier.reprises import Reprise
from flows.communes import nom_execution, registre_de, reglages_de
from flows.reprises import tache


class EnvoiARetenter(ErreurSmtpPassagere):
    """Le serveur d'envoi n'a rien accepté, pour une raison passagère."""


# Seul ce que le serveur n'a pas accepté est retenté (10 s, 20 s, 40 s), jamais un doute.
REPRISE_ENVOI = Reprise((10, 20, 40), lambda e: isinstance(e, EnvoiARetenter))


@tache("envoyer une réponse", REPRISE_ENVOI)
def envoyer_reponse(envoyeur: Envoyeur, ident: int, bilan: BilanEnvoi) -> None:
    essai = BilanEnvoi()
    envoyeur.envoyer(ident, essai)
    if ident in essai.passagers:
        raise EnvoiARetenter(essai.echecs[-1] if essai.echecs else "échec passager")
    bilan.envoyes += essai.envoyes
    bilan.a_verifier += essai.a_verifier
    bilan.echecs += essai.echecs


@flow(name="envoi", log_prints=False, flow_run_name=nom_execution("envoi"))
def envoi(commune: str | None = None) -> BilanEnvoi:
    """Reprend les envois interrompus, puis envoie toutes les réponses validées de `commune`
    (sans elle, celle de l'environnement)."""
    r = reglages_de(commune)
    registre = registre_de(r)
    bilan = BilanEnvoi()
    try:
        with verrou_envoi(registre, r.donnees, attente_s=300):
            envoyeur = Envoyeur(registre, r, envoyes=boite_envoyes(r), panne=depuis_environnement())
            try:
                envoyeur.reprendre(bilan)
                for ident in envoyeur.a_envoyer():
                    try:
                        envoyer_reponse(envoyeur, ident, bilan)
                    except EnvoiARetenter as e:
                        # Tentatives épuisées : le brouillon reste « validé » avec sa raison ;
                        # le prochain passage (dans 15 minutes) réessaiera.
                        bilan.echecs.append(str(e))
            finally:
                envoyeur.fermer()
    finally:
        registre.fermer()
    return bilan
