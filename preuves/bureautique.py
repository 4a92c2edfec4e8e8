"""Banc de la lecture bureautique : ce que coûte une lettre jointe selon son format.

La base, mesurée dans le même passage : le même texte joint en .txt. Chaque format est fabriqué
ici par LibreOffice sans écran, puis lu par `extraire_courriel` (le chemin de la relève) ; le
banc imprime la durée médiane et le rapport à la base. Les hostiles (classeur d'un million de
cellules, bombe déguisée en docx) donnent le coût de leur refus.

    .venv/bin/python -m preuves.bureautique [--tours 5]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import statistics
import subprocess
import tempfile
import time
import zipfile
from email.message import EmailMessage
from pathlib import Path

import openpyxl

from connecteurs.ocr import Tesseract
from courrier.extraction import extraire_courriel
from noyau.domaine import Limites

LETTRE = (
    "Madame, Monsieur,\n\nJe sollicite la réfection du trottoir de la rue de l’Église, "
    "devant le numéro 12, abîmé depuis l’hiver.\n\nVeuillez agréer mes salutations.\n"
) * 20
FILTRES = {"docx": "docx:MS Word 2007 XML", "odt": "odt", "rtf": "rtf", "doc": "doc:MS Word 97"}


def fabriquer(dossier: Path) -> dict[str, bytes]:
    source = dossier / "lettre.txt"
    source.write_text(LETTRE, encoding="utf-8")
    faits = {"txt": source.read_bytes()}
    for genre, filtre in FILTRES.items():
        subprocess.run(
            [
                "soffice",
                f"-env:UserInstallation={(dossier / 'profil').as_uri()}",
                "--headless",
                "--infilter=Text (encoded):UTF8",
                "--convert-to",
                filtre,
                "--outdir",
                str(dossier),
                str(source),
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
        faits[genre] = (dossier / f"lettre.{genre}").read_bytes()
    return faits


def bombe_deguisee_en_docx(taille_mo: int = 200) -> bytes:
    tampon = io.BytesIO()
    with (
        zipfile.ZipFile(tampon, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("word/document.xml", "w", force_zip64=True) as fichier,
    ):
        for _ in range(taille_mo):
            fichier.write(bytes(1024 * 1024))
    return tampon.getvalue()


def classeur_d_un_million_de_cellules() -> bytes:
    classeur = openpyxl.Workbook(write_only=True)
    feuille = classeur.create_sheet("Grand")
    for ligne in range(1000):
        feuille.append([ligne * 1000 + colonne for colonne in range(1000)])
    tampon = io.BytesIO()
    classeur.save(tampon)
    return tampon.getvalue()


def courriel(octets: bytes, nom: str) -> bytes:
    message = EmailMessage()
    message["From"] = "banc@exemple.example"
    message["Subject"] = "Banc"
    message.set_content("Voir la pièce jointe.")
    message.add_attachment(octets, maintype="application", subtype="octet-stream", filename=nom)
    return message.as_bytes()


def mesurer(contenu: bytes, tours: int, ocr: Tesseract) -> float:
    durees = []
    for _ in range(tours):
        debut = time.perf_counter()
        extraire_courriel(contenu, lambda o: hashlib.sha256(o).hexdigest(), Limites(), ocr)
        durees.append(time.perf_counter() - debut)
    return statistics.median(durees)


def main() -> None:
    parseur = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parseur.add_argument("--tours", type=int, default=5)
    tours = parseur.parse_args().tours
    ocr = Tesseract()
    with tempfile.TemporaryDirectory(prefix="banc-bureautique-") as nom:
        faits = fabriquer(Path(nom))
    faits["xlsx-1M-cellules"] = classeur_d_un_million_de_cellules()
    faits["bombe-docx"] = bombe_deguisee_en_docx()
    noms = {"xlsx-1M-cellules": "grand.xlsx", "bombe-docx": "lettre.docx"}
    base = mesurer(courriel(faits["txt"], "lettre.txt"), tours, ocr)
    print(f"base : la lettre jointe en .txt, {base * 1000:.1f} ms (médiane de {tours})")
    for genre, octets in faits.items():
        if genre == "txt":
            continue
        nombre_tours = 1 if genre == "xlsx-1M-cellules" else tours
        duree = mesurer(courriel(octets, noms.get(genre, f"lettre.{genre}")), nombre_tours, ocr)
        print(f"{genre:18} {duree * 1000:9.1f} ms   ×{duree / base:8.1f} la base")


if __name__ == "__main__":
    main()
