"""Banc de la relecture de l'archive (issue #11) : `verifier` contre `sha256sum`, même archive.

    .venv/bin/python -m preuves.archive [--gio 10] [--dossier DOSSIER] [--garder]

Une archive rangée comme celle de Courrier (sha256 en nom, deux niveaux de dossiers) est
écrite sous DOSSIER (par défaut un dossier temporaire du disque de travail) : un mélange de
courrier réel par sa taille — 70 % de courriels (5 à 60 Kio), 25 % de PDF (0,2 à 2 Mio),
5 % de scans (5 à 20 Mio), octets aléatoires (incompressibles). Puis, dans la même exécution :
- la ligne de base : `sha256sum` sur tous les fichiers (un processus, ce que ferait un
  intégrateur à la main), puis `sha256sum` en autant de processus que de cœurs (`xargs -P`) ;
- `verifier_archive` (ce que fait `courrier registre verifier` après la chaîne du journal).
Chacun relit toute l'archive ; un premier passage non compté met les fichiers en cache quand
ils tiennent en mémoire, pour que l'ordre de passage n'avantage personne. Il imprime les débits
et les ratios, et n'affirme rien : il sort en 0 si aucune anomalie n'est trouvée.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from registre.archive import Archive
from registre.controle_archive import verifier_archive

MIO = 1 << 20
GIO = 1 << 30


def _taille(hasard: random.Random) -> int:
    tirage = hasard.random()
    if tirage < 0.70:
        return hasard.randint(5 * 1024, 60 * 1024)
    if tirage < 0.95:
        return hasard.randint(200 * 1024, 2 * MIO)
    return hasard.randint(5 * MIO, 20 * MIO)


def remplir(archive: Archive, octets_voulus: int, graine: int = 2026) -> dict[str, str]:
    """Écrit l'archive ; rend empreinte → porteur, comme le registre le ferait."""
    hasard = random.Random(graine)
    attendus: dict[str, str] = {}
    total = 0
    while total < octets_voulus:
        contenu = os.urandom(_taille(hasard))
        empreinte = archive.deposer(contenu)
        attendus[empreinte] = f"l'original du courrier {len(attendus) + 1}"
        total += len(contenu)
    return attendus


def _sha256sum(fichiers: list[str], processus: int) -> float:
    liste = "\0".join(fichiers).encode()
    debut = time.perf_counter()
    subprocess.run(
        ["xargs", "-0", "-P", str(processus), "-n", "256", "sha256sum"],
        input=liste,
        stdout=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - debut


def main(argv: list[str] | None = None) -> int:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--gio", type=float, default=2.0, help="taille de l'archive (Gio)")
    arguments.add_argument("--dossier", type=Path, default=None)
    arguments.add_argument("--garder", action="store_true", help="ne pas effacer l'archive")
    a = arguments.parse_args(argv)

    racine = Path(tempfile.mkdtemp(prefix="banc-archive-", dir=a.dossier))
    archive = Archive(racine / "archive")
    try:
        debut = time.perf_counter()
        attendus = remplir(archive, int(a.gio * GIO))
        fichiers = [str(archive.chemin(e)) for e in attendus]
        octets = sum(os.path.getsize(f) for f in fichiers)
        print(
            f"Archive : {len(fichiers)} fichiers, {octets / GIO:.2f} Gio, écrite en "
            f"{time.perf_counter() - debut:.1f} s"
        )
        coeurs = os.cpu_count() or 1
        _sha256sum(fichiers, coeurs)  # mise en cache, non comptée

        seul = _sha256sum(fichiers, 1)
        parallele = _sha256sum(fichiers, coeurs)
        debut = time.perf_counter()
        bilan = verifier_archive(archive, attendus)
        courrier = time.perf_counter() - debut

        def debit(duree: float) -> str:
            return f"{octets / MIO / duree:,.0f} Mio/s".replace(",", " ")

        print(f"sha256sum, 1 processus      : {seul:7.2f} s  {debit(seul)}")
        print(f"sha256sum, {coeurs} processus      : {parallele:7.2f} s  {debit(parallele)}")
        print(f"verifier_archive ({coeurs} fils)   : {courrier:7.2f} s  {debit(courrier)}")
        print(f"ratio débit verifier ÷ sha256sum (1 processus) : {seul / courrier:.2f}")
        print(f"ratio débit verifier ÷ sha256sum ({coeurs} processus) : {parallele / courrier:.2f}")
        if bilan.anomalies or bilan.fichiers != len(fichiers):
            print(f"ANOMALIES : {bilan.anomalies[:5]}", file=sys.stderr)
            return 1
        return 0
    finally:
        if a.garder:
            print(f"Archive gardée : {racine}")
        else:
            shutil.rmtree(racine, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
