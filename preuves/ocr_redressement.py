"""Banc du redressement : ce que coûte `deskew` par page, rapporté à l'OCR de la même page.

    .venv/bin/python -m preuves.ocr_redressement [--tours 3]

Pages mesurées, toutes à 300 dpi : une lettre générée droite (le cas courant : la détection
tourne, rien n'est tourné), la même penchée de 4°, et les deux pages inclinées du corpus
(../shared/corpus/scans/ocrmypdf__skew.pdf et ocrmypdf__rotated_skew.pdf, rendues par
pypdfium2 comme le fait l'extraction). Pour chacune, dans le même passage et en alternance :
- la détection seule (`inclinaison`, sur la vignette) ;
- la lecture sans redressement, `Tesseract(redresser=False).lire` (la base) ;
- la lecture avec redressement, `Tesseract().lire` (détection + rotation + OCR).
Il imprime la médiane de chaque temps et les ratios contre la base. Il n'affirme rien : les
temps dépendent de la machine et de ce qui tourne à côté (OMP_THREAD_LIMIT=1, comme la relève).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

from PIL import Image, ImageDraw, ImageFont

from connecteurs.ocr import Tesseract
from connecteurs.redressement import inclinaison

SCANS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "scans"
LIGNES = [
    "Mairie de Saint-Étienne-du-Bois",
    "Objet : demande d'acte de naissance",
    "Madame la maire, je vous prie de bien vouloir m'adresser",
    "une copie intégrale de mon acte de naissance.",
    "Veuillez agréer mes salutations distinguées.",
] * 6


def lettre_a4() -> Image.Image:
    image = Image.new("L", (2480, 3508), 255)
    dessin = ImageDraw.Draw(image)
    police = ImageFont.truetype("DejaVuSans.ttf", 42)
    for i, ligne in enumerate(LIGNES):
        dessin.text((200, 250 + i * 95), ligne, font=police, fill=0)
    return image


def pages(dossier: Path) -> list[tuple[str, Path]]:
    droite = lettre_a4()
    rendues = [("lettre droite", droite), ("lettre penchée de 4°", droite.rotate(4, fillcolor=255))]
    for nom in ("ocrmypdf__skew.pdf", "ocrmypdf__rotated_skew.pdf"):
        chemin = SCANS / nom
        if chemin.exists():
            import pypdfium2 as pdfium

            document = pdfium.PdfDocument(chemin)
            rendues.append((nom, document[0].render(scale=300 / 72, grayscale=True).to_pil()))
            document.close()
    sorties = []
    for i, (nom, image) in enumerate(rendues):
        sortie = dossier / f"page-{i}.pgm"
        image.convert("L").save(sortie)
        sorties.append((nom, sortie))
    return sorties


def chrono(fonction: Callable[..., object], *arguments: object) -> float:
    debut = time.perf_counter()
    fonction(*arguments)
    return time.perf_counter() - debut


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tours", type=int, default=3, help="mesures par page (médiane)")
    args = parser.parse_args(argv)
    sans, avec = Tesseract(redresser=False), Tesseract()
    with tempfile.TemporaryDirectory(prefix="banc-redressement-") as nom_dossier:
        liste = pages(Path(nom_dossier))
        inclinaison(Image.open(liste[0][1]))  # imports de scikit-image hors de la mesure
        print(
            f"{'page':28} {'angle':>7} {'détection':>10} {'OCR seul':>9} {'OCR redressé':>13}"
            f" {'détection/OCR':>14} {'redressé/OCR':>13} {'confiance':>15}"
        )
        for nom, chemin in liste:
            t_detection, t_sans, t_avec = [], [], []
            for _ in range(max(1, args.tours)):
                with Image.open(chemin) as image:
                    t_detection.append(chrono(inclinaison, image))
                t_sans.append(chrono(sans.lire, chemin, 300))
                t_avec.append(chrono(avec.lire, chemin, 300))
            lu_sans, lu_avec = sans.lire(chemin, 300), avec.lire(chemin, 300)
            d, s, a = (statistics.median(t) for t in (t_detection, t_sans, t_avec))
            print(
                f"{nom:28} {lu_avec.angle:>6.2f}° {d:>9.2f}s {s:>8.2f}s {a:>12.2f}s"
                f" {d / s:>13.2f}× {a / s:>12.2f}×"
                f"  {lu_sans.confiance or 0:>5.1f} → {lu_avec.confiance or 0:>5.1f}"
            )


if __name__ == "__main__":
    main()
