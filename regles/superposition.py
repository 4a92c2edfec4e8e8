"""Les règles d'une commune : celles de l'installation (ou celles livrées), plus ses fichiers
propres, fichier par fichier.

Une commune ne réécrit que ce qui la distingue — ses élus (`elus.yaml`), ses expéditeurs
connus (`expediteurs.yaml`), un gabarit de réponse — et suit pour le reste les règles communes
et leurs mises à jour. Les lecteurs de règles lisent un dossier : on en compose un, fait de
liens vers le fichier choisi pour chaque nom, dans le dossier de la commune. Son nom dépend de
ce qu'il désigne (chemins, tailles, dates) : un fichier modifié donne un nouveau dossier, créé
d'un seul geste (renommage), sans gêner un lecteur de l'ancien.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from regles.chargement import DOSSIER_LIVRE

_IGNORES = {"__pycache__"}
_SUFFIXES_CODE = {".py", ".pyc"}
GARDES = 4  # dossiers composés gardés (les plus récents), pour les lecteurs en cours


def _fichiers(dossier: Path) -> dict[str, Path]:
    """Les fichiers de règles d'un dossier (YAML, gabarits), par chemin relatif."""
    trouves: dict[str, Path] = {}
    for chemin in sorted(dossier.rglob("*")):
        relatif = chemin.relative_to(dossier)
        if (
            chemin.is_file()
            and not _IGNORES & set(relatif.parts)
            and chemin.suffix not in _SUFFIXES_CODE
            and not any(p.startswith(".") for p in relatif.parts)
        ):
            trouves[relatif.as_posix()] = chemin.resolve()
    return trouves


def superposer(base: Path | None, propres: Path, cache: Path) -> Path:
    """Le dossier de règles en vigueur : `propres` l'emporte sur `base` pour chaque fichier."""
    choisis = _fichiers(Path(base) if base is not None else DOSSIER_LIVRE)
    choisis.update(_fichiers(propres))
    signature = hashlib.sha256()
    for relatif, chemin in sorted(choisis.items()):
        etat = chemin.stat()
        signature.update(f"{relatif}\0{chemin}\0{etat.st_size}\0{etat.st_mtime_ns}\n".encode())
    cible = cache / signature.hexdigest()[:20]
    if cible.is_dir():
        return cible
    cache.mkdir(parents=True, exist_ok=True)
    provisoire = cache / f".en-cours-{os.getpid()}-{signature.hexdigest()[:8]}"
    shutil.rmtree(provisoire, ignore_errors=True)
    for relatif, chemin in choisis.items():
        lien = provisoire / relatif
        lien.parent.mkdir(parents=True, exist_ok=True)
        lien.symlink_to(chemin)
    try:
        provisoire.rename(cible)
    except OSError:
        # Un autre processus l'a composé au même moment : le sien vaut le nôtre.
        shutil.rmtree(provisoire, ignore_errors=True)
    _elaguer(cache, garder=cible)
    return cible


def _elaguer(cache: Path, garder: Path) -> None:
    anciens = sorted(
        (d for d in cache.iterdir() if d.is_dir() and not d.name.startswith(".") and d != garder),
        key=lambda d: d.stat().st_mtime,
        reverse=True,
    )
    for ancien in anciens[GARDES - 1 :]:
        shutil.rmtree(ancien, ignore_errors=True)
