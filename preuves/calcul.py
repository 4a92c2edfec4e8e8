"""Le calcul (temps CPU) pris par chaque rôle d'un banc : serveur Prefect, workers et leurs
exécutions, PostgreSQL, le banc lui-même (le LLM local y tourne).

Lu dans /proc (Linux) : pour chaque descendant vivant de ce processus, son temps et celui de ses
propres descendants déjà finis et attendus (cutime, cstime) ; un worker compte ainsi chaque
exécution qu'il a lancée, avec son OCR. Deux relevés, avant et après la nuit, donnent ce
qu'elle a coûté.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

ROLES = (
    ("worker", "workers et exécutions"),
    ("server", "serveur Prefect"),
    ("uvicorn", "serveur Prefect"),
    ("postgres", "PostgreSQL"),
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
        pile, total = [enfant], 0.0
        while pile:
            pid = pile.pop()
            total += processus[pid][1]
            pile += enfants.get(pid, [])
        roles[role] = roles.get(role, 0.0) + total
    return roles


def difference(avant: dict[str, float], apres: dict[str, float]) -> dict[str, float]:
    return {role: apres[role] - avant.get(role, 0.0) for role in apres}
