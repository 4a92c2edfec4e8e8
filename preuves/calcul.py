"""Le calcul (temps CPU) pris par chaque rôle d'un banc : serveur Prefect, workers et leurs
exécutions, PostgreSQL, le banc lui-même (le LLM local y tourne).

Lu dans /proc (Linux) : pour chaque descendant vivant de ce processus, son temps et celui de ses
propres descendants déjà finis et attendus (cutime, cstime) ; un worker compte ainsi chaque
exécution qu'il a lancée, mais pas sa lecture : le serveur de processus (forkserver) qui porte
l'OCR n'est jamais attendu par l'exécution, son calcul n'est rendu à personne. La borne du banc
mesure l'OCR à part. Deux relevés, avant et après la nuit, donnent ce qu'elle a coûté.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

ROLES = (
    ("worker", "workers et exécutions (hors OCR)"),
    ("server", "serveur Prefect"),
    ("uvicorn", "serveur Prefect"),
)


def _lire(pid: str) -> tuple[int, float, str] | None:
    """(parent, secondes de calcul, ligne de commande) d'un processus vivant."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
        commande = (
            Path(f"/proc/{pid}/cmdline")
            .read_bytes()
            .replace(b"\0", b" ")
            .decode("utf-8", "replace")
        )
    except OSError:
        return None
    champs = stat[stat.rindex(")") + 2 :].split()
    tics = sum(int(x) for x in champs[11:15])  # utime, stime, cutime, cstime
    return int(champs[1]), tics / os.sysconf("SC_CLK_TCK"), commande


def releve_du_calcul() -> dict[str, float]:
    """Le calcul cumulé de chaque rôle, en secondes, à cet instant."""
    processus = {}
    for entree in Path("/proc").iterdir():
        if entree.name.isdigit() and (lu := _lire(entree.name)) is not None:
            processus[int(entree.name)] = lu
    enfants: dict[int, list[int]] = {}
    for pid, (parent, _, _) in processus.items():
        enfants.setdefault(parent, []).append(pid)
    soi = resource.getrusage(resource.RUSAGE_SELF)
    roles = {"banc (LLM local)": soi.ru_utime + soi.ru_stime}
    for enfant in enfants.get(os.getpid(), []):
        commande = processus[enfant][2]
        role = next((nom for mot, nom in ROLES if mot in commande), "autres")
        roles[role] = roles.get(role, 0.0) + _arbre(enfant, processus, enfants)
    # pg_ctl détache PostgreSQL : ses serveurs (et leurs connexions) sont retrouvés par nom.
    for pid, (parent, _, commande) in processus.items():
        if _est_postgres(commande) and not _est_postgres(processus.get(parent, (0, 0, ""))[2]):
            roles["PostgreSQL"] = roles.get("PostgreSQL", 0.0) + _arbre(pid, processus, enfants)
    return roles


def _arbre(
    racine: int, processus: dict[int, tuple[int, float, str]], enfants: dict[int, list[int]]
) -> float:
    pile, total = [racine], 0.0
    while pile:
        pid = pile.pop()
        total += processus[pid][1]
        pile += enfants.get(pid, [])
    return total


def _est_postgres(commande: str) -> bool:
    premier = commande.split(" ", 1)[0]
    return premier.endswith("/postgres") or premier.startswith("postgres:")


def difference(avant: dict[str, float], apres: dict[str, float]) -> dict[str, float]:
    return {role: apres[role] - avant.get(role, 0.0) for role in apres}
