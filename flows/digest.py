"""Le flow Prefect `digest` : le courriel du matin au maire. Il ne fait que relier les étapes.

Le travail (lire le registre, construire le digest, réserver l'envoi au registre avant l'appel
SMTP, confirmer) est dans courrier/publication.py ; ici, Prefect envoie par une tâche qui
retente les pannes passagères où rien n'est parti.
"""

from __future__ import annotations

from datetime import date
from email.message import EmailMessage

from prefect import flow

from connecteurs.smtp import ClientSmtp
from courrier.envoi import parametres_smtp
from courrier.publication import ResultatDigest, publier_digests, verifier_envoi_possible
from courrier.reprises import PANNES_PASSAGERES
from flows.communes import nom_execution, registre_de, reglages_de
from flows.reprises import tache


# Seules les pannes passagères où rien n'est parti sont retentées (ErreurSmtpPassagere) :
# un doute sur l'envoi n'est jamais retenté, pour ne pas doubler le courriel. La tâche ne reçoit
# que l'identifiant de la commune (jamais ses réglages, qui portent des mots de passe).
@tache("envoyer le digest", PANNES_PASSAGERES)
def envoyer_message(message: EmailMessage, commune: str | None = None) -> None:
    ClientSmtp(parametres_smtp(reglages_de(commune))).envoyer(message)


@flow(name="digest", log_prints=False, flow_run_name=nom_execution("digest"))
def digest(jour: date | None = None, commune: str | None = None) -> ResultatDigest:
    """Le digest du maire de `commune` (sans elle, celle de l'environnement) pour `jour`
    (aujourd'hui à Paris par défaut), envoyé une seule fois."""
    r = reglages_de(commune)
    verifier_envoi_possible(r)
    registre = registre_de(r)
    try:
        le_jour = jour or registre.aujourd_hui()
        # L'échec de la tâche, tentatives épuisées, remonte tel quel.
        return publier_digests(registre, r, le_jour, lambda m: envoyer_message(m, commune))
    finally:
        registre.fermer()
