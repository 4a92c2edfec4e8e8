"""L'archive des octets bruts, rangés par empreinte sha256 sous le dossier de données.

Écrite avant que la ligne du registre ne soit validée : un fichier de trop après une panne
ne coûte rien (même contenu, même nom), un fichier manquant perdrait un courrier.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from noyau.erreurs import RegistreErreur, raison_systeme


class ArchiveNonInscriptible(RegistreErreur):
    """L'archive refuse l'écriture (disque plein, droits) : rien ne peut plus être enregistré,
    la relève doit s'arrêter, pas marquer le courrier en erreur."""


class Archive:
    def __init__(self, racine: Path) -> None:
        self.racine = racine

    def chemin(self, empreinte: str) -> Path:
        if len(empreinte) != 64 or any(c not in "0123456789abcdef" for c in empreinte):
            raise RegistreErreur(f"Empreinte d'archive invalide : « {empreinte[:80]} ».")
        return self.racine / empreinte[:2] / empreinte[2:4] / empreinte

    def deposer(self, contenu: bytes) -> str:
        """Range les octets et rend leur empreinte ; idempotent, atomique, synchronisé."""
        empreinte = hashlib.sha256(contenu).hexdigest()
        cible = self.chemin(empreinte)
        if cible.exists() and cible.stat().st_size == len(contenu):
            return empreinte
        try:
            cible.parent.mkdir(parents=True, exist_ok=True)
            descripteur, provisoire = tempfile.mkstemp(dir=cible.parent, prefix=".depot-")
            try:
                with os.fdopen(descripteur, "wb") as fichier:
                    fichier.write(contenu)
                    fichier.flush()
                    os.fsync(fichier.fileno())
                os.replace(provisoire, cible)
            except BaseException:
                Path(provisoire).unlink(missing_ok=True)
                raise
            _synchroniser_dossier(cible.parent)
        except OSError as e:
            raise ArchiveNonInscriptible(
                f"Impossible d'écrire dans l'archive ({self.racine}) : {raison_systeme(e)}. "
                "Rien n'a été perdu : libérez de la place ou corrigez les droits du dossier de "
                "données, puis relancez la relève."
            ) from e
        return empreinte

    def lire(self, empreinte: str) -> bytes:
        try:
            return self.chemin(empreinte).read_bytes()
        except OSError as e:
            raise RegistreErreur(
                f"Le fichier d'archive {empreinte[:12]}… est introuvable ou illisible."
            ) from e

    def contient(self, empreinte: str) -> bool:
        return self.chemin(empreinte).is_file()


def _synchroniser_dossier(dossier: Path) -> None:
    try:
        descripteur = os.open(dossier, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descripteur)
    except OSError:
        pass
    finally:
        os.close(descripteur)
