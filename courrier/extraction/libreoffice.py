"""L'ancien format binaire de Word et d'Excel (.doc, .xls) : LibreOffice sans écran.

Aucune bibliothèque Python tenue à jour ne lit le .doc : LibreOffice le convertit en texte, avec
un profil jetable et un délai borné ; absent du serveur, la pièce est gardée avec la raison.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from courrier.extraction.bureautique import OLE2, lecture_normalisee
from courrier.extraction.commun import Lecture
from courrier.extraction.texte import decoder_octets
from noyau.domaine import Limites

FILTRES = {
    "doc": ("doc", "txt:Text (encoded):UTF8", "txt"),
    # 44,34,76 : séparateur virgule, guillemets, UTF-8 ; seule la première feuille sort.
    "xls": ("xls", "csv:Text - txt - csv (StarCalc):44,34,76", "csv"),
}


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def lire_par_libreoffice(octets: bytes, genre: str, nom: str, limites: Limites) -> Lecture:
    """Un .doc ou un .xls converti en texte ; jamais d'exception, une raison à la place."""
    if not octets.startswith(OLE2):
        return Lecture(
            echec=True,
            erreurs=[
                f"{nom} illisible : ce n'est pas un fichier Office de l'ancien format "
                "(signature OLE2 absente) ; conservé, non lu."
            ],
        )
    refus = _controler_ole2(octets, genre, nom)
    if refus:
        return Lecture(echec=True, erreurs=[refus])
    programme = soffice()
    if programme is None:
        return Lecture(
            echec=True,
            erreurs=[
                f"{nom} conservé, non lu : LibreOffice n'est pas installé sur ce serveur "
                "(paquets libreoffice-writer-nogui et libreoffice-calc-nogui)."
            ],
        )
    suffixe, filtre, sortie = FILTRES[genre]
    with tempfile.TemporaryDirectory(prefix="courrier-bureautique-") as nom_dossier:
        dossier = Path(nom_dossier)
        source = dossier / f"piece.{suffixe}"
        source.write_bytes(octets)
        resultat = convertir(programme, source, filtre, dossier / "sortie", limites)
        if isinstance(resultat, str):
            return Lecture(echec=True, erreurs=[f"{nom} conservé, non lu : {resultat}"])
        converti = resultat / f"piece.{sortie}"
        if not converti.is_file():
            return Lecture(
                echec=True,
                erreurs=[
                    f"{nom} illisible ou abîmé (LibreOffice n'a pas su le convertir) : "
                    "conservé, non lu."
                ],
            )
        texte = decoder_octets(converti.read_bytes()[: limites.caracteres_max * 4], "utf-8")
    lecture = lecture_normalisee(texte)
    if genre == "xls":
        lecture.erreurs.append("Seule la première feuille du classeur est lue.")
    return lecture


def _controler_ole2(octets: bytes, genre: str, nom: str) -> str | None:
    """Refus d'un faux .doc/.xls avant LibreOffice, qui lirait n'importe quoi comme du texte."""
    import olefile

    flux = ("WordDocument",) if genre == "doc" else ("Workbook", "Book")
    try:
        with olefile.OleFileIO(octets) as ole:
            if any(ole.exists(nom) for nom in flux):
                return None
            detail = f"flux {flux[0]} absent"
    except Exception:
        # Les messages d'olefile sur un fichier forgé sont techniques (entiers géants…).
        detail = "structure OLE2 invalide"
    return f"{nom} illisible ou abîmé ({detail}) : conservé, non lu."


def convertir(
    programme: str, source: Path, filtre: str, sortie: Path, limites: Limites
) -> Path | str:
    """Conversion par LibreOffice sans écran, profil jetable, délai borné ; la raison sinon."""
    profil = source.parent / "profil"
    commande = [
        programme,
        f"-env:UserInstallation={profil.as_uri()}",
        "--headless",
        "--invisible",
        "--norestore",
        "--nolockcheck",
        "--nodefault",
        "--nologo",
        "--convert-to",
        filtre,
        "--outdir",
        str(sortie),
        str(source),
    ]
    env = {**os.environ, "HOME": str(source.parent), "SAL_USE_VCLPLUGIN": "svp"}
    # Groupe de processus à part : soffice lance soffice.bin, qu'il faut tuer avec lui.
    processus = subprocess.Popen(
        commande,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    try:
        processus.wait(timeout=limites.bureautique_delai_s)
    except subprocess.TimeoutExpired:
        _tuer(processus)
        return (
            f"la conversion par LibreOffice a dépassé {limites.bureautique_delai_s} secondes "
            "et a été arrêtée."
        )
    finally:
        _tuer(processus)
    if processus.returncode != 0:
        return f"LibreOffice a échoué (code {processus.returncode})."
    return sortie


def _tuer(processus: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(processus.pid, signal.SIGKILL)
    processus.wait()
