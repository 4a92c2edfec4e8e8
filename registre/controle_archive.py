"""La relecture de l'archive des originaux : chaque fichier relu, son empreinte recalculée.

Le registre scelle l'empreinte sha256 de chaque original, pièce jointe et lettre ; l'archive les
range sous ce nom. Relire les fichiers et comparer dit ce que la chaîne du journal seule ne dit
pas : un original écrasé ou supprimé, un fichier étranger posé là. Un fichier intact que rien ne
cite (une panne entre l'archive et la ligne du registre) est nommé à part, sans être une faute.

Lecture en flux (`hashlib.file_digest`, tampon de 1 Mio) : la mémoire ne dépend pas de la
taille des fichiers. sha256 relâche le verrou global de Python sur les gros tampons, donc
plusieurs fils relisent en parallèle (un par cœur) ; l'ordre des fichiers est celui du disque.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from noyau.erreurs import RegistreErreur
from registre.archive import Archive

TAMPON = 1 << 20
PREFIXE_DEPOT = ".depot-"  # fichier provisoire d'un dépôt interrompu (voir Archive.deposer)
# Appelée après chaque fichier relu : (fichiers relus, octets relus).
Progression = Callable[[int, int], None]


@dataclass
class BilanArchive:
    fichiers: int = 0
    octets: int = 0
    modifies: list[str] = field(default_factory=list)
    manquants: list[str] = field(default_factory=list)
    en_trop: list[str] = field(default_factory=list)
    # Fichiers intacts (contenu conforme à leur nom) qu'aucun courrier ne cite : ce qu'une panne
    # laisse par construction (l'archive est écrite avant la ligne du registre, la relève
    # suivante les cite à nouveau). Nommés, mais pas une atteinte à la preuve : rien de ce que
    # le registre affirme n'en dépend.
    orphelins: list[str] = field(default_factory=list)
    depots_interrompus: int = 0

    @property
    def anomalies(self) -> list[str]:
        return [*self.modifies, *self.manquants, *self.en_trop]


def _fichiers(racine: Path) -> Iterator[os.DirEntry[str]]:
    pile = [str(racine)]
    while pile:
        try:
            with os.scandir(pile.pop()) as entrees:
                for entree in entrees:
                    if entree.is_dir(follow_symlinks=False):
                        pile.append(entree.path)
                    else:
                        yield entree
        except FileNotFoundError:
            continue


def _empreinte_fichier(chemin: str) -> str | None:
    try:
        with open(chemin, "rb") as f:
            return hashlib.file_digest(f, "sha256", _bufsize=TAMPON).hexdigest()
    except OSError:
        return None


def _relative(archive: Archive, chemin: str) -> str:
    return os.path.relpath(chemin, archive.racine)


def verifier_archive(
    archive: Archive,
    attendus: Mapping[str, str],
    progression: Progression | None = None,
    fils: int | None = None,
) -> BilanArchive:
    """Relit toute l'archive. `attendus` : empreinte → ce qui la porte (« l'original du
    courrier 2026-00003 »). Rend le bilan, anomalies nommées en français."""
    bilan = BilanArchive()
    vus: set[str] = set()
    a_relire = _fichiers_a_relire(archive, bilan)

    with ThreadPoolExecutor(max_workers=fils or os.cpu_count() or 1) as pool:
        for (chemin, nom), calcule in zip(
            a_relire, pool.map(_empreinte_fichier, [c for c, _ in a_relire]), strict=True
        ):
            taille = os.stat(chemin).st_size if calcule is not None else 0
            bilan.fichiers += 1
            bilan.octets += taille
            if progression is not None:
                progression(bilan.fichiers, bilan.octets)
            _constater(archive, bilan, vus, chemin, nom, calcule, attendus.get(nom))

    for empreinte, porteur in sorted(attendus.items(), key=lambda e: e[1]):
        if empreinte not in vus:
            bilan.manquants.append(
                f"{_majuscule(porteur)} manque dans l'archive "
                f"(« {_relative(archive, str(archive.chemin(empreinte)))} »)."
            )
    return bilan


def _fichiers_a_relire(archive: Archive, bilan: BilanArchive) -> list[tuple[str, str]]:
    """Les fichiers rangés à leur place, (chemin, empreinte annoncée par leur nom) ; les autres
    vont au bilan."""
    a_relire: list[tuple[str, str]] = []  # (chemin, empreinte annoncée par son nom)
    for entree in _fichiers(archive.racine):
        nom = entree.name
        if nom.startswith(PREFIXE_DEPOT):
            bilan.depots_interrompus += 1
            continue
        relatif = _relative(archive, entree.path)
        if not entree.is_file(follow_symlinks=False):
            bilan.en_trop.append(f"« {relatif} » dans l'archive n'est pas un fichier ordinaire.")
            continue
        try:
            attendu_ici: Path | None = archive.chemin(nom)
        except RegistreErreur:
            attendu_ici = None
        if attendu_ici is None or os.path.normpath(attendu_ici) != os.path.normpath(entree.path):
            bilan.en_trop.append(
                f"Fichier en trop dans l'archive : « {relatif} » (nom qui n'est pas une "
                "empreinte rangée à sa place)."
            )
            continue
        a_relire.append((entree.path, nom))
    return a_relire


def _constater(
    archive: Archive,
    bilan: BilanArchive,
    vus: set[str],
    chemin: str,
    nom: str,
    calcule: str | None,
    porteur: str | None,
) -> None:
    """Le verdict d'un fichier relu : illisible, modifié, orphelin, ou conforme."""
    if calcule is None:
        bilan.modifies.append(
            f"Fichier illisible dans l'archive : « {_relative(archive, chemin)} »"
            + (f" ({porteur})." if porteur else ".")
        )
        return
    if calcule != nom:
        bilan.modifies.append(
            f"{_majuscule(porteur) if porteur else 'Un fichier inconnu'} a été modifié "
            f"dans l'archive : « {_relative(archive, chemin)} » ne correspond plus à "
            "son empreinte."
        )
        if porteur:
            vus.add(nom)
        return
    if porteur is None:
        bilan.orphelins.append(
            f"« {_relative(archive, chemin)} », qu'aucun courrier du registre ne cite "
            "(dépôt d'une relève interrompue, repris à la prochaine relève, ou fichier "
            "ajouté à la main)"
        )
    vus.add(nom)


def _majuscule(texte: str) -> str:
    return texte[:1].upper() + texte[1:]
