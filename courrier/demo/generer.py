"""Fabrique le courrier de démonstration de Saint-Aubin-sur-Loire (commune fictive, 380 habitants).

    .venv/bin/python -m courrier.demo.generer [--dest DOSSIER]

Écrit `courriels/*.eml` (7 courriels) et `scans/*` (4 lettres papier passées au copieur) à côté de
ce fichier, ou dans DOSSIER. Tout est fictif et déterministe (graines fixes, dates fixes) : relancer
le script redonne les mêmes octets. Pillow dessine les pages, fpdf2 écrit les PDF
(`courrier.fabrique_pdf`) ; les polices DejaVu (paquet `fonts-dejavu-core`) ne sont nécessaires
que pour régénérer les fichiers, qui sont livrés avec le code.

`CATALOGUE` décrit chaque fichier (objet exact, expéditeur, catégorie et urgence attendues) pour les
tests et la démonstration ; `texte_attendu(nom)` rend le texte imprimé sur un scan (pour mesurer
l'OCR), sans police ni dessin.

Le reste vit à côté : `catalogue` (les attendus), `courriels_mime`, `courriels_usagers` et
`courriels_organismes` (les courriels), `papier` (la feuille et le copieur), `lettres_papier` et
`documents_papier` (ce qui est imprimé), `documents_pdf` (les PDF).
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Callable
from pathlib import Path

from courrier.demo.catalogue import CATALOGUE, ICI, Attendu
from courrier.demo.courriels_organismes import courriel_prefecture, courriel_publicite
from courrier.demo.courriels_usagers import (
    courriel_cantine,
    courriel_etat_civil,
    courriel_salle_des_fetes,
    courriel_urbanisme,
    courriel_voirie,
)
from courrier.demo.documents_papier import facture_page1, facture_page2
from courrier.demo.documents_pdf import pdf_lettre_aide_sociale
from courrier.demo.lettres_papier import LETTRES, mettre_en_page, scan_lettre
from courrier.demo.papier import Feuille, numeriser

__all__ = [
    "CATALOGUE",
    "Attendu",
    "generer",
    "main",
    "texte_attendu",
]


def texte_attendu(fichier: str) -> str:
    """Le texte imprimé sur un scan (`scans/…`), dans l'ordre de lecture, sans rien dessiner."""
    for lettre in LETTRES:
        if lettre.fichier == fichier:
            feuille = Feuille(dessiner=False)
            mettre_en_page(lettre, feuille, 0)
            return "\n".join(feuille.trace)
    if fichier == "scans/facture-entreprise.tif":
        pages = []
        for page in (facture_page1, facture_page2):
            feuille = Feuille(dessiner=False)
            page(feuille)
            pages.append("\n".join(feuille.trace))
        return "\n\n".join(pages)
    raise KeyError(fichier)


def generer(dest: Path = ICI) -> list[Path]:
    """Écrit tous les fichiers de démonstration sous `dest` et rend leurs chemins."""
    (dest / "courriels").mkdir(parents=True, exist_ok=True)
    (dest / "scans").mkdir(parents=True, exist_ok=True)
    ecrits: list[Path] = []

    def ecrire(nom: str, donnees: bytes) -> None:
        chemin = dest / nom
        chemin.write_bytes(donnees)
        ecrits.append(chemin)

    fabriques: tuple[Callable[[], bytes], ...] = (
        courriel_etat_civil,
        courriel_voirie,
        courriel_salle_des_fetes,
        courriel_urbanisme,
        courriel_prefecture,
        courriel_cantine,
        courriel_publicite,
    )
    for attendu, fabrique in zip(CATALOGUE[:7], fabriques, strict=True):
        ecrire(attendu.fichier, fabrique())

    cimetiere, bruit, aide = LETTRES
    sortie = io.BytesIO()
    scan_lettre(cimetiere, 11, 0.35).save(sortie, "PNG", optimize=True, dpi=(300, 300))
    ecrire(cimetiere.fichier, sortie.getvalue())

    sortie = io.BytesIO()
    scan_lettre(bruit, 23, -0.3).save(sortie, "JPEG", quality=85, dpi=(300, 300))
    ecrire(bruit.fichier, sortie.getvalue())

    ecrire(aide.fichier, pdf_lettre_aide_sociale())

    pages = []
    for rang, (page, angle) in enumerate(((facture_page1, -0.25), (facture_page2, 0.2))):
        feuille = Feuille()
        page(feuille)
        gris = numeriser(feuille.image, 47 + rang, angle)
        pages.append(gris.point(lambda v: 255 if v > 150 else 0).convert("1", dither=None))
    sortie = io.BytesIO()
    pages[0].save(
        sortie,
        "TIFF",
        save_all=True,
        append_images=pages[1:],
        compression="group4",
        dpi=(300, 300),
    )
    ecrire("scans/facture-entreprise.tif", sortie.getvalue())
    return ecrits


def main(argv: list[str] | None = None) -> None:
    analyseur = argparse.ArgumentParser(
        prog="python -m courrier.demo.generer",
        description="Régénère le courrier de démonstration (courriels et scans fictifs).",
    )
    analyseur.add_argument(
        "--dest", type=Path, default=ICI, help="dossier de sortie (par défaut : courrier/demo)"
    )
    arguments = analyseur.parse_args(argv)
    for chemin in generer(arguments.dest):
        print(f"{chemin}  ({chemin.stat().st_size // 1024} Kio)")


if __name__ == "__main__":
    main()
