"""Sauvegarde et restauration : la base du registre et l'archive des originaux, en un fichier.

Une sauvegarde est une archive tar (non compressée : les originaux le sont déjà souvent, et
tar se lit partout) qui contient :
- `manifeste.json` : date, commune, moteur de base, tête du journal, empreinte de la base ;
- `registre.sqlite3` (SQLite, copié à chaud par l'API de sauvegarde de SQLite, cohérent même
  pendant une relève) ou `registre.pgdump` (PostgreSQL, `pg_dump --format=custom`) ;
- `archive/…` : les originaux, rangés comme dans le dossier de données.

L'ordre compte : la base d'abord, l'archive ensuite. L'archive est écrite avant la base à
chaque enregistrement, donc tout courrier de la copie de la base a son original dans la copie
de l'archive (au pire, l'archive contient un original de plus, que `verifier` nomme).

La restauration refuse d'écraser un registre existant, extrait avec le filtre « data » de
tarfile (aucun chemin hors du dossier, aucun lien), vérifie l'empreinte de la base contre le
manifeste, puis rend la main pour `verifier`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from noyau.erreurs import RegistreErreur, raison_systeme
from registre.base import schema_de
from registre.registre import Registre

FORMAT = 1
NOM_SQLITE = "registre.sqlite3"
NOM_PGDUMP = "registre.pgdump"


class SauvegardeErreur(RegistreErreur):
    """La sauvegarde ou la restauration n'a pas pu se faire ; rien n'a été écrasé."""


@dataclass(frozen=True)
class BilanSauvegarde:
    fichier: Path
    courriers: int
    originaux: int
    octets: int


def _empreinte(chemin: Path) -> str:
    with chemin.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _environnement_pg(url: str) -> tuple[list[str], dict[str, str]]:
    u = make_url(url)
    args = ["--host", u.host or "127.0.0.1", "--port", str(u.port or 5432)]
    if u.username:
        args += ["--username", u.username]
    env = {**os.environ}
    if u.password:
        env["PGPASSWORD"] = u.password  # jamais sur la ligne de commande (visible dans ps)
    return [*args, "--dbname", u.database or "postgres"], env


def _lancer(commande: list[str], env: dict[str, str], quoi: str) -> None:
    try:
        fait = subprocess.run(commande, env=env, capture_output=True, text=True, timeout=3600)
    except FileNotFoundError as e:
        raise SauvegardeErreur(
            f"{commande[0]} est introuvable : installez le client PostgreSQL "
            "(paquet Debian postgresql-client) pour " + quoi + "."
        ) from e
    if fait.returncode != 0:
        derniere = (fait.stderr.strip().splitlines() or ["erreur inconnue"])[-1]
        raise SauvegardeErreur(f"{commande[0]} a échoué pendant {quoi} : {derniere}")


def _copier_base(url: str, dossier: Path) -> Path:
    if url.startswith("sqlite"):
        source = Path(url.split("///", 1)[-1])
        cible = dossier / NOM_SQLITE
        origine = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        copie = sqlite3.connect(cible)
        try:
            with copie:
                origine.backup(copie)
        finally:
            copie.close()
            origine.close()
        return cible
    cible = dossier / NOM_PGDUMP
    args, env = _environnement_pg(url)
    # Le registre d'une commune est son schéma, et lui seul ; celui de la commune par défaut
    # (`public`) ne doit pas emporter les registres des autres communes de la base.
    schema = schema_de(make_url(url))
    args += ["--schema", schema] if schema else ["--exclude-schema", "commune_*"]
    _lancer(
        ["pg_dump", "--format=custom", "--no-owner", "--file", str(cible), *args],
        env,
        "la sauvegarde de la base",
    )
    return cible


def sauvegarder(registre: Registre, url: str, sortie: Path, commune: str) -> BilanSauvegarde:
    """Écrit la sauvegarde dans `sortie` (fichier provisoire puis renommage : une sauvegarde
    interrompue ne laisse jamais un fichier qui aurait l'air complet)."""
    if sortie.exists():
        raise SauvegardeErreur(f"Le fichier {sortie} existe déjà : choisissez un autre nom.")
    dernier, tete = registre.tete()
    courriers = registre.nombre()
    sortie.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=sortie.parent, prefix=".sauvegarde-") as tmp:
        base = _copier_base(url, Path(tmp))  # la base d'abord, l'archive ensuite
        manifeste = {
            "format": FORMAT,
            "cree_le": registre.horloge().isoformat(),
            "commune": commune,
            "base": base.name,
            "empreinte_base": _empreinte(base),
            "dernier_evenement": dernier,
            "tete": tete,
            "courriers": courriers,
        }
        provisoire = Path(tmp) / "sauvegarde.tar"
        originaux = octets = 0
        with tarfile.open(provisoire, "w") as tar:
            donnees = json.dumps(manifeste, ensure_ascii=False, indent=2).encode()
            info = tarfile.TarInfo("manifeste.json")
            info.size = len(donnees)
            tar.addfile(info, io.BytesIO(donnees))
            tar.add(base, arcname=base.name)
            racine = registre.archive.racine
            if racine.is_dir():
                for chemin in sorted(racine.rglob("*")):
                    if chemin.is_file() and not chemin.name.startswith(".depot-"):
                        tar.add(chemin, arcname=f"archive/{chemin.relative_to(racine)}")
                        originaux += 1
                        octets += chemin.stat().st_size
        try:
            os.replace(provisoire, sortie)
        except OSError as e:
            raise SauvegardeErreur(f"Impossible d'écrire {sortie} : {raison_systeme(e)}.") from e
    return BilanSauvegarde(sortie, courriers, originaux, octets)


@dataclass(frozen=True)
class BilanRestauration:
    courriers: int
    tete: str
    sauvegarde_du: datetime


def _lire_manifeste(tar: tarfile.TarFile) -> dict[str, object]:
    try:
        membre = tar.extractfile("manifeste.json")
        if membre is None:
            raise KeyError
        manifeste = json.loads(membre.read(1 << 20))
    except tarfile.TarError as e:
        raise SauvegardeErreur(
            f"La sauvegarde est illisible ou tronquée ({e.__class__.__name__}) : rien n'a été "
            "restauré."
        ) from e
    except (KeyError, ValueError) as e:
        raise SauvegardeErreur(
            "Ce fichier n'est pas une sauvegarde de Courrier (manifeste absent ou illisible)."
        ) from e
    if not isinstance(manifeste, dict) or manifeste.get("format") != FORMAT:
        raise SauvegardeErreur("Format de sauvegarde inconnu : elle vient d'une autre version.")
    return manifeste


def _verifier_cibles_vides(donnees: Path, url: str) -> None:
    """Rien n'est jamais écrasé : le dossier et la base de destination doivent être neufs."""
    if (donnees / "archive").exists() and any((donnees / "archive").iterdir()):
        raise SauvegardeErreur(
            f"Le dossier {donnees} contient déjà une archive : restaurez dans un dossier neuf "
            "(rien n'a été écrasé)."
        )
    if url.startswith("sqlite") and Path(url.split("///", 1)[-1]).exists():
        raise SauvegardeErreur(
            f"Un registre existe déjà ({url.split('///', 1)[-1]}) : restaurez dans un dossier "
            "neuf (rien n'a été écrasé)."
        )


def _restaurer_base(base: Path, url: str) -> None:
    if base.name == NOM_SQLITE:
        cible = Path(url.split("///", 1)[-1])
        cible.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(base, cible)
    else:
        args, env = _environnement_pg(url)
        _lancer(
            ["pg_restore", "--no-owner", "--exit-on-error", *args, str(base)],
            env,
            "la restauration de la base",
        )


def _ranger_archive(extrait: Path, archive: Path) -> None:
    """Les fichiers extraits de la sauvegarde, déplacés à leur place dans l'archive."""
    if extrait.is_dir():
        archive.mkdir(exist_ok=True)
        for source in extrait.rglob("*"):
            if source.is_file():
                cible_fichier = archive / source.relative_to(extrait)
                cible_fichier.parent.mkdir(parents=True, exist_ok=True)
                os.replace(source, cible_fichier)


def restaurer(fichier: Path, donnees: Path, url: str) -> BilanRestauration:
    """Restaure dans le dossier de données `donnees` et la base `url`, qui doivent être vides."""
    _verifier_cibles_vides(donnees, url)
    try:
        tar = tarfile.open(fichier, "r")  # noqa: SIM115 - fermé par le « with tar » plus bas
    except (OSError, tarfile.TarError) as e:
        raise SauvegardeErreur(
            f"La sauvegarde {fichier} est illisible ou tronquée ({e.__class__.__name__})."
        ) from e
    donnees.mkdir(parents=True, exist_ok=True)
    with tar, tempfile.TemporaryDirectory(dir=donnees, prefix=".restauration-") as tmp:
        manifeste = _lire_manifeste(tar)
        try:
            tar.extractall(tmp, filter="data")
        except (OSError, tarfile.TarError) as e:
            raise SauvegardeErreur(
                f"La sauvegarde {fichier} ne s'extrait pas ({e}) : rien n'a été restauré."
            ) from e
        base = Path(tmp) / str(manifeste.get("base"))
        if base.name not in (NOM_SQLITE, NOM_PGDUMP) or not base.is_file():
            raise SauvegardeErreur("La sauvegarde ne contient pas la base du registre.")
        if _empreinte(base) != manifeste.get("empreinte_base"):
            raise SauvegardeErreur(
                "La base contenue dans la sauvegarde ne correspond pas à son manifeste "
                "(fichier abîmé ou modifié) : rien n'a été restauré."
            )
        if (base.name == NOM_SQLITE) != url.startswith("sqlite"):
            raise SauvegardeErreur(
                "La sauvegarde vient d'une autre sorte de base (SQLite ou PostgreSQL) que celle "
                "réglée ici (COURRIER_BASE_DE_DONNEES)."
            )
        _restaurer_base(base, url)
        _ranger_archive(Path(tmp) / "archive", donnees / "archive")
    return BilanRestauration(
        courriers=int(str(manifeste.get("courriers", 0))),
        tete=str(manifeste.get("tete", "")),
        sauvegarde_du=datetime.fromisoformat(str(manifeste.get("cree_le"))),
    )
