"""Archives ZIP jointes : les noms des fichiers, sans jamais rien décompresser."""

from __future__ import annotations

import contextlib
import zipfile
from io import BytesIO

from courrier.extraction.commun import Lecture, nombre, taille_lisible
from courrier.extraction.texte import nettoyer_ligne
from noyau.domaine import Limites

# Archives : rapport de compression au-delà duquel l'archive est signalée, et taille
# décompressée minimale pour que ce rapport ait un sens (un petit fichier très répétitif
# se comprime aussi très bien).
RAPPORT_ZIP_SUSPECT = 100
TAILLE_ZIP_SUSPECTE = 50 * 1024 * 1024
TAILLE_ZIP_ABSURDE = 10 * 1024 * 1024 * 1024


def _nom_dans_zip(entree: zipfile.ZipInfo) -> str:
    nom = entree.filename
    if not entree.flag_bits & 0x800:
        # Sans le drapeau UTF-8, zipfile décode en cp437 ; beaucoup d'outils écrivent pourtant
        # de l'UTF-8 sans le dire.
        with contextlib.suppress(UnicodeError):
            nom = nom.encode("cp437").decode("utf-8")
    return nettoyer_ligne(nom, 300) or "(sans nom)"


def lister_zip(octets: bytes, limites: Limites) -> Lecture:
    """Les noms des fichiers d'une archive ZIP, sans jamais rien décompresser."""
    lecture = Lecture()
    try:
        with zipfile.ZipFile(BytesIO(octets)) as archive:
            entrees = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as e:
        lecture.erreurs.append(f"Archive ZIP illisible ou abîmée ({e}) : conservée, non ouverte.")
        return lecture
    except NotImplementedError as e:
        lecture.erreurs.append(f"Archive ZIP d'un type non pris en charge ({e}) : conservée.")
        return lecture
    noms = [_nom_dans_zip(e) for e in entrees[: limites.entrees_archive_max]]
    lecture.methode = "liste"
    lecture.texte = f"Archive ZIP ({nombre(len(entrees))} fichiers) :\n" + "\n".join(
        f"- {nom}" for nom in noms
    )
    if len(entrees) > len(noms):
        lecture.erreurs.append(
            f"Seuls les {nombre(len(noms))} premiers noms sont listés "
            f"(l'archive en compte {nombre(len(entrees))})."
        )
    decompresse = sum(max(e.file_size, 0) for e in entrees)
    compresse = sum(max(e.compress_size, 0) for e in entrees)
    rapport = decompresse / max(compresse, 1)
    if (
        rapport >= RAPPORT_ZIP_SUSPECT and decompresse >= TAILLE_ZIP_SUSPECTE
    ) or decompresse >= TAILLE_ZIP_ABSURDE:
        lecture.erreurs.append(
            "Archive suspecte (bombe de décompression possible) : "
            f"{taille_lisible(decompresse)} une fois décompressée pour "
            f"{taille_lisible(compresse)} compressée (rapport {nombre(rapport)} pour 1) ; "
            "elle n'est pas ouverte, seuls les noms sont listés."
        )
    if any(e.flag_bits & 0x1 for e in entrees):
        lecture.erreurs.append("Archive protégée par un mot de passe : contenu non lisible.")
    return lecture
