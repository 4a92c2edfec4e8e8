"""Connecteur OCR : Tesseract (via pytesseract) derrière une petite interface `LecteurOCR`.

Le moteur lit toujours un fichier : pytesseract, à qui l'on donne une image PIL, la
ré-encode en PNG avant d'appeler Tesseract (≈ 1 s par page perdue).
"""

from __future__ import annotations

import os

# Avec OpenMP par défaut, Tesseract met 5 à 6 s par page sur 2 cœurs contre 1,2 s avec un
# seul fil ; le parallélisme se fait par processus (voir ../shared/PLATFORM.md).
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from PIL import Image

from connecteurs import redressement
from noyau.erreurs import ConnecteurErreur

# En dessous de cette confiance moyenne, la page est peut-être tournée : on demande
# l'orientation à Tesseract (OSD) avant de conclure que le document est mauvais.
SEUIL_CONFIANCE_ORIENTATION = 40.0
# L'OSD se trompe sur les pages pauvres en texte ; sous ce score on ne tourne rien.
CONFIANCE_OSD_MIN = 1.5


def _pytesseract() -> Any:
    """pytesseract, chargé au premier OCR : il charge pandas avec lui (0,5 à 1 s), que la
    relève sans scan ni la page web n'ont pas à payer."""
    import pytesseract

    return pytesseract


class ErreurOCR(ConnecteurErreur):
    """Tesseract absent, trop lent ou en panne sur une image."""


@dataclass(frozen=True)
class LectureOCR:
    texte: str
    confiance: float | None  # moyenne 0–100 des mots reconnus (conf >= 0), None sans mot
    mots: int = 0
    angle: float = 0.0  # degrés (sens trigonométrique) dont la page a été tournée avant lecture


class LecteurOCR(Protocol):
    def lire(self, chemin: Path, dpi: int | None = None) -> LectureOCR: ...


class Tesseract:
    """Tesseract en sous-processus, une image (un fichier) par appel."""

    def __init__(self, langues: str = "fra", delai_s: int = 180, redresser: bool = True) -> None:
        self.langues = langues
        self.delai_s = delai_s
        self.redresser = redresser

    def lire(self, chemin: Path, dpi: int | None = None) -> LectureOCR:
        """Redresse une page posée de travers (petit angle), puis lit ; les quarts de tour
        sont rattrapés ensuite par l'OSD, qui se trompe moins sur une page droite."""
        if not self.redresser:
            return self._lire_orientee(chemin, dpi)
        with tempfile.TemporaryDirectory(prefix="courrier-redresse-") as dossier:
            redressee = Path(dossier) / "redressee.png"
            try:
                angle = redressement.redresser(chemin, redressee)
            except Exception:
                # Pillow lève des erreurs variées (OSError, SyntaxError, struct.error, bombe de
                # décompression…) ; ne pas redresser ne doit jamais empêcher de lire : Tesseract
                # (Leptonica) essaie seul, et rend sa propre erreur si l'image est vraiment cassée.
                angle = 0.0
            if not angle:
                return self._lire_orientee(chemin, dpi)
            lecture = self._lire_orientee(redressee, dpi)
        return replace(lecture, angle=round(lecture.angle + angle, 2))

    def _lire_orientee(self, chemin: Path, dpi: int | None) -> LectureOCR:
        lecture = self._lire_fichier(chemin, dpi)
        if lecture.confiance is None or lecture.confiance >= SEUIL_CONFIANCE_ORIENTATION:
            return lecture
        angle = self._angle_de_redressement(chemin, dpi)
        if not angle:
            return lecture
        with tempfile.TemporaryDirectory(prefix="courrier-ocr-") as dossier:
            redressee = Path(dossier) / "redressee.png"
            try:
                with Image.open(chemin) as image:
                    # OSD donne l'angle horaire qui redresse la page ; PIL tourne en sens inverse.
                    image.rotate(-angle, expand=True).save(redressee)
            except (OSError, ValueError) as e:
                raise ErreurOCR(f"Impossible de redresser l'image pour l'OCR : {e}") from e
            seconde = self._lire_fichier(redressee, dpi)
        if (seconde.confiance or 0.0) > lecture.confiance:
            # PIL tourne dans le sens trigonométrique : le quart de tour appliqué est -angle.
            return replace(seconde, angle=float(-angle % 360))
        return lecture

    def _config(self, dpi: int | None) -> str:
        return f"--dpi {int(dpi)}" if dpi else ""

    def _lire_fichier(self, chemin: Path, dpi: int | None) -> LectureOCR:
        try:
            # Sortie TSV brute : le format DICT de pytesseract tronque les confiances en
            # entiers et décale les colonnes quand un mot vide manque en fin de ligne.
            tsv = _pytesseract().image_to_data(
                str(chemin),
                lang=self.langues,
                config=self._config(dpi),
                output_type=_pytesseract().Output.STRING,
                timeout=self.delai_s,
            )
        except Exception as e:
            raise _traduire(e, self.delai_s) from e
        return lecture_depuis_tsv(str(tsv))

    def _angle_de_redressement(self, chemin: Path, dpi: int | None) -> int:
        """Angle (0, 90, 180, 270) selon l'OSD, 0 quand Tesseract n'en sait rien."""
        try:
            osd = _pytesseract().image_to_osd(
                str(chemin),
                config=self._config(dpi),
                output_type=_pytesseract().Output.DICT,
                timeout=self.delai_s,
            )
        except Exception:
            # Page sans assez de texte pour décider : ce n'est pas une panne.
            return 0
        try:
            angle = int(osd.get("rotate", 0)) % 360
            confiance = float(osd.get("orientation_conf", 0.0))
        except (TypeError, ValueError):
            return 0
        if angle not in (90, 180, 270) or confiance < CONFIANCE_OSD_MIN:
            return 0
        return angle


def lecture_depuis_tsv(tsv: str) -> LectureOCR:
    lignes = tsv.splitlines()
    if not lignes:
        return LectureOCR(texte="", confiance=None)
    entete = lignes[0].split("\t")
    donnees: dict[str, list[str]] = {nom: [] for nom in entete}
    for ligne in lignes[1:]:
        cellules = ligne.split("\t")
        if len(cellules) > len(entete):
            # Un mot ne contient pas de tabulation, mais une sortie étrange ne doit rien décaler.
            cellules = [*cellules[: len(entete) - 1], " ".join(cellules[len(entete) - 1 :])]
        cellules += [""] * (len(entete) - len(cellules))
        for nom, cellule in zip(entete, cellules, strict=True):
            donnees[nom].append(cellule)
    return lecture_depuis_donnees(donnees)


def lecture_depuis_donnees(donnees: Mapping[str, Sequence[str | float]]) -> LectureOCR:
    """Recompose le texte ligne à ligne depuis la sortie TSV de Tesseract.

    Les lignes d'un même paragraphe sont séparées par un saut de ligne, les paragraphes
    et les blocs par une ligne vide, comme le fait la sortie texte de Tesseract.
    """
    lignes: dict[tuple[int, int, int, int], list[str]] = {}
    confiances: list[float] = []
    textes = donnees.get("text", [])
    for i, mot in enumerate(textes):
        mot = str(mot).strip()
        if not mot:
            continue
        try:
            conf = float(donnees["conf"][i])
            cle = (
                int(donnees["page_num"][i]),
                int(donnees["block_num"][i]),
                int(donnees["par_num"][i]),
                int(donnees["line_num"][i]),
            )
        except (KeyError, IndexError, TypeError, ValueError):
            continue
        if conf < 0:
            continue
        confiances.append(conf)
        lignes.setdefault(cle, []).append(mot)

    morceaux: list[str] = []
    precedent: tuple[int, int, int] | None = None
    for cle in sorted(lignes):
        paragraphe = cle[:3]
        if precedent is not None:
            morceaux.append("\n\n" if paragraphe != precedent else "\n")
        morceaux.append(" ".join(lignes[cle]))
        precedent = paragraphe
    confiance = sum(confiances) / len(confiances) if confiances else None
    return LectureOCR(texte="".join(morceaux), confiance=confiance, mots=len(confiances))


def _traduire(e: Exception, delai_s: int) -> ErreurOCR:
    pytesseract = _pytesseract()
    if isinstance(e, pytesseract.TesseractNotFoundError):
        return ErreurOCR("Tesseract n'est pas installé sur ce serveur : l'OCR est impossible.")
    if isinstance(e, pytesseract.TesseractError):
        detail = str(getattr(e, "message", "") or e).strip()[:300]
        return ErreurOCR(f"Tesseract n'a pas pu lire l'image : {detail}")
    if isinstance(e, RuntimeError) and "timeout" in str(e).lower():
        return ErreurOCR(f"L'OCR a dépassé le délai de {delai_s} s pour une page : abandonné.")
    if isinstance(e, OSError):
        return ErreurOCR(f"Tesseract n'a pas pu être lancé : {e}")
    return ErreurOCR(f"Erreur inattendue de Tesseract : {e}")
