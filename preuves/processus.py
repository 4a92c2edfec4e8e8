"""Les processus vivants de la machine, lus dans /proc (Linux) : le parent, le calcul et la ligne
de commande de chacun, et les descendants d'un processus. Pour les bancs (preuves/calcul.py,
preuves/bench_nuit.py)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Processus:
    parent: int
    calcul_s: float  # utime + stime, plus cutime + cstime : ses descendants finis et attendus
    commande: str


def _lire(pid: str) -> Processus | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
        brute = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # fini entre-temps
        return None
    champs = stat[stat.rindex(")") + 2 :].split()
    tics = sum(int(x) for x in champs[11:15])
    commande = brute.replace(b"\0", b" ").decode("utf-8", "replace")
    return Processus(int(champs[1]), tics / os.sysconf("SC_CLK_TCK"), commande)


def lire_processus() -> dict[int, Processus]:
    """Chaque processus vivant, par pid."""
    lus = {}
    for entree in Path("/proc").iterdir():
        if entree.name.isdigit() and (p := _lire(entree.name)) is not None:
            lus[int(entree.name)] = p
    return lus


def enfants_de(processus: dict[int, Processus]) -> dict[int, list[int]]:
    enfants: dict[int, list[int]] = {}
    for pid, p in processus.items():
        enfants.setdefault(p.parent, []).append(pid)
    return enfants


def descendants(racine: int, enfants: dict[int, list[int]]) -> list[int]:
    """Les descendants vivants de `racine`, sans elle."""
    pile, vus = list(enfants.get(racine, [])), []
    while pile:
        pid = pile.pop()
        vus.append(pid)
        pile += enfants.get(pid, [])
    return vus
