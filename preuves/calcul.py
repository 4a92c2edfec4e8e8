"""Le calcul (temps CPU) pris par chaque rôle d'un banc : serveur Prefect, workers et leurs
exécutions, PostgreSQL, le banc lui-même (le LLM local y tourne).

Lu dans /proc (Linux) : pour chaque descendant vivant de ce processus, son temps et celui de ses
propres descendants déjà finis et attendus (cutime, cstime) ; un worker compte ainsi chaque
exécution qu'il a lancée, mais pas sa lecture : le serveur de processus (forkserver) qui porte
l'OCR n'est jamais attendu par l'exécution, son calcul n'est rendu à personne. La borne du banc
mesure l'OCR à part. Deux relevés, avant et après la nuit, donnent ce qu'elle a coûté.

Le moteur prêt (flows/moteur.py) n'est l'enfant de personne (détaché) : les exécutions nées de
lui comptent avec les workers, retrouvées par sa prise, dans le dossier de moteurs du banc.
"""

from __future__ import annotations

import os
import resource

from preuves.processus import descendants, enfants_de, lire_processus

EXECUTIONS = "workers et exécutions (hors OCR)"
ROLES = (
    ("worker", EXECUTIONS),
    ("server", "serveur Prefect"),
    ("uvicorn", "serveur Prefect"),
)


def releve_du_calcul(grappe: str, moteurs: str | None = None) -> dict[str, float]:
    """Le calcul cumulé de chaque rôle, en secondes, à cet instant ; PostgreSQL : la grappe
    d'URL `grappe` (preuves/serveurs.postgres), celle du banc ; `moteurs` : le dossier des
    prises des moteurs prêts des workers du banc (COURRIER_MOTEUR_DOSSIER)."""
    from sqlalchemy import make_url

    port_postgres = make_url(grappe).port
    processus = lire_processus()
    enfants = enfants_de(processus)

    def arbre(racine: int) -> float:
        return sum(processus[p].calcul_s for p in [racine, *descendants(racine, enfants)])

    soi = resource.getrusage(resource.RUSAGE_SELF)
    roles = {"banc (LLM local)": soi.ru_utime + soi.ru_stime}
    for enfant in enfants.get(os.getpid(), []):
        commande = processus[enfant].commande
        role = next((nom for mot, nom in ROLES if mot in commande), "autres")
        roles[role] = roles.get(role, 0.0) + arbre(enfant)
    for pid, p in processus.items():
        if moteurs and f"flows.moteur --pret {moteurs}/" in p.commande:
            roles[EXECUTIONS] = roles.get(EXECUTIONS, 0.0) + arbre(pid)
    # pg_ctl détache PostgreSQL : son serveur (et ses connexions) est retrouvé par nom et par
    # port. Seulement celui du banc : une autre grappe qui s'arrête pendant la nuit (celle d'une
    # suite de tests à côté) emporterait son calcul et rendrait la différence négative.
    for pid, p in processus.items():
        parent = processus.get(p.parent)
        if (
            _est_postgres(p.commande)
            and not (parent and _est_postgres(parent.commande))
            and f" -p {port_postgres} " in f"{p.commande} "
        ):
            roles["PostgreSQL"] = roles.get("PostgreSQL", 0.0) + arbre(pid)
    return roles


def _est_postgres(commande: str) -> bool:
    premier = commande.split(" ", 1)[0]
    return premier.endswith("/postgres") or premier.startswith("postgres:")


def difference(avant: dict[str, float], apres: dict[str, float]) -> dict[str, float]:
    return {role: apres[role] - avant.get(role, 0.0) for role in apres}
