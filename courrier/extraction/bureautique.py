"""Pièces bureautiques : docx, odt, rtf, xlsx, ods, et l'ancien .doc/.xls par LibreOffice.

Une lettre Word jointe est souvent tout le courrier : son texte rejoint celui de la pièce, donc
celui que l'analyse lit. Chaque format passe par une bibliothèque tenue à jour (python-docx,
odfpy, openpyxl, striprtf) ; l'ancien format binaire de Word et d'Excel par LibreOffice sans
écran (`libreoffice.py`). Les messages Outlook (.msg, winmail.dat) sont dans `outlook.py`.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
import warnings
import zipfile
from collections.abc import Iterator
from io import BytesIO
from typing import Any

from connecteurs.ocr import LecteurOCR
from courrier.extraction.commun import Lecture, nombre, taille_lisible
from noyau.domaine import Limites

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
TNEF = b"\x78\x9f\x3e\x22"

NOMS = {
    "docx": "Document Word",
    "odt": "Document OpenDocument texte",
    "rtf": "Document RTF",
    "xlsx": "Classeur Excel",
    "ods": "Classeur OpenDocument",
    "doc": "Document Word ancien format (.doc)",
    "xls": "Classeur Excel ancien format (.xls)",
    "msg": "Message Outlook .msg",
    "tnef": "Pièce Outlook winmail.dat (TNEF)",
}
PAR_EXTENSION = {
    "docx": "docx",
    "docm": "docx",
    "dotx": "docx",
    "odt": "odt",
    "ott": "odt",
    "rtf": "rtf",
    "xlsx": "xlsx",
    "xlsm": "xlsx",
    "ods": "ods",
    "doc": "doc",
    "dot": "doc",
    "xls": "xls",
    "msg": "msg",
}
PAR_TYPE = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.oasis.opendocument.text": "odt",
    "application/rtf": "rtf",
    "text/rtf": "rtf",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/msword": "doc",
    "application/vnd.ms-excel": "xls",
    "application/vnd.ms-outlook": "msg",
}
TYPES_ODF = {
    b"application/vnd.oasis.opendocument.text": "odt",
    b"application/vnd.oasis.opendocument.spreadsheet": "ods",
}
ENTREES_ZIP_MAX = 10_000


def genre_bureautique(octets: bytes, ext: str, type_: str) -> str | None:
    """docx, odt, rtf, xlsx, ods, doc, xls, msg, tnef : d'abord par les octets, puis par le nom.

    Un .dat sans la signature TNEF n'est pas un winmail.dat : il reste « non lu » comme avant.
    """
    if octets.startswith(TNEF):
        return "tnef"
    if octets.startswith(b"{\\rtf"):
        return "rtf"
    if octets.startswith(OLE2):
        # Les noms des flux d'un fichier OLE2 sont écrits en UTF-16 dans son annuaire.
        if "__substg1.0_".encode("utf-16-le") in octets:
            return "msg"
        if "WordDocument".encode("utf-16-le") in octets:
            return "doc"
        if "Workbook".encode("utf-16-le") in octets or "Book".encode("utf-16-le") in octets:
            return "xls"
        genre = PAR_EXTENSION.get(ext) or PAR_TYPE.get(type_)
        return genre if genre in ("doc", "xls", "msg") else None
    if octets.startswith(b"PK\x03\x04"):
        par_contenu = _genre_zip(octets)
        if par_contenu:
            return par_contenu
    genre = PAR_EXTENSION.get(ext) or PAR_TYPE.get(type_)
    return genre


def _genre_zip(octets: bytes) -> str | None:
    try:
        with zipfile.ZipFile(BytesIO(octets)) as archive:
            noms = set(archive.namelist()[:ENTREES_ZIP_MAX])
            if "word/document.xml" in noms:
                return "docx"
            if "xl/workbook.xml" in noms:
                return "xlsx"
            if "mimetype" in noms and archive.getinfo("mimetype").file_size < 200:
                return TYPES_ODF.get(archive.read("mimetype").strip())
    except Exception:
        # Zip abîmé : le nom de la pièce décidera, et la lecture dira pourquoi elle échoue.
        return None
    return None


def lire_bureautique(
    octets: bytes, genre: str, limites: Limites, ocr: LecteurOCR, profondeur: int = 0
) -> Lecture:
    """Le texte d'un document bureautique ; jamais d'exception, une raison écrite à la place."""
    nom = NOMS[genre]
    try:
        if genre in ("msg", "tnef"):
            from courrier.extraction.outlook import lire_msg, lire_tnef

            lecteur = lire_msg if genre == "msg" else lire_tnef
            return lecteur(octets, limites, ocr, profondeur)
        if genre in ("docx", "odt", "xlsx", "ods"):
            refus = controler_zip(octets, nom, limites)
            if refus:
                return Lecture(echec=True, erreurs=[refus])
        if genre in ("doc", "xls"):
            # LibreOffice a son propre délai, tenu par `convertir`.
            from courrier.extraction.libreoffice import lire_par_libreoffice

            return lire_par_libreoffice(octets, genre, NOMS[genre], limites)
        with warnings.catch_warnings(), delai(limites.bureautique_delai_s):
            warnings.simplefilter("ignore")
            return _lire_en_python(octets, genre, limites)
    except DelaiDepasse:
        return Lecture(
            echec=True,
            erreurs=[
                f"{nom} trop long à lire (plus de {limites.bureautique_delai_s} secondes) : "
                "lecture arrêtée ; conservé, non lu."
            ],
        )
    except MemoryError:
        return Lecture(
            echec=True,
            erreurs=[f"{nom} trop lourd : la lecture a dépassé la mémoire permise ; conservé."],
        )
    except Exception as e:
        # Chaque bibliothèque lève ses propres erreurs (KeyError, lxml, BadZipFile…) sur un
        # fichier abîmé : toutes disent la même chose à la secrétaire.
        return illisible(nom, e)


def _lire_en_python(octets: bytes, genre: str, limites: Limites) -> Lecture:
    """Les formats que lit une bibliothèque Python, sous la minuterie de l'appelant."""
    if genre == "docx":
        return _lire_docx(octets)
    if genre == "odt":
        return _lire_odt(octets)
    if genre == "ods":
        return _lire_ods(octets, limites)
    if genre == "xlsx":
        return _lire_xlsx(octets, limites)
    return _lire_rtf(octets)


class DelaiDepasse(Exception):
    pass


RESONNE_S = 0.25  # l'alarme d'un délai dépassé resonne à ce rythme tant que la lecture dure
SONNERIES_MAX = 8  # puis se tait : une lecture qui les avale toutes est jugée à sa fin


@contextlib.contextmanager
def delai(secondes: int) -> Iterator[None]:
    """Arrête une lecture en Python pur qui dépasse `secondes` (minuterie SIGALRM).

    Une minuterie déjà armée (celle de pytest-timeout, par exemple) est remise en place ensuite
    avec le temps qui lui restait. Seul le fil principal reçoit les signaux : ailleurs, la
    lecture n'est bornée que par les tailles (décompressée, cellules).

    L'alarme resonne toutes les `RESONNE_S` secondes jusqu'à la sortie : une exception levée
    pendant un rappel du ramasse-miettes est ignorée par Python, et la lecture continuerait
    sans borne si la première alarme y tombait. Une sonnerie tombée à la sortie du bloc
    n'empêche pas l'arrêt de la minuterie ; et l'alarme se tait d'elle-même après
    `SONNERIES_MAX` sonneries, pour ne jamais resonner sans fin dans la suite du programme.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    restant, intervalle = signal.getitimer(signal.ITIMER_REAL)
    if restant and restant <= secondes:
        yield  # la minuterie déjà armée sonnera avant la nôtre
        return

    sonne = 0

    def sonner(signum: int, frame: object) -> None:
        nonlocal sonne
        sonne += 1
        if sonne >= SONNERIES_MAX:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, precedent)
        raise DelaiDepasse

    precedent = signal.signal(signal.SIGALRM, sonner)
    debut = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, max(secondes, 0.001), RESONNE_S)
    try:
        yield
    finally:
        while True:
            try:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, precedent)
                break
            except DelaiDepasse:
                pass  # une sonnerie tombée à la sortie du bloc : la minuterie s'arrête quand même
        if restant:
            ecoule = time.monotonic() - debut
            signal.setitimer(signal.ITIMER_REAL, max(restant - ecoule, 0.001), intervalle)
    if sonne:
        # L'alarme a sonné mais la lecture a fini quand même : l'exception est tombée dans un
        # rappel du ramasse-miettes (un weakref de SQLAlchemy, vu en CI), où Python l'ignore,
        # ou une bibliothèque l'a avalée, avant que l'alarme ne resonne. La lecture reste hors
        # délai.
        raise DelaiDepasse


def illisible(nom: str, erreur: BaseException) -> Lecture:
    detail = str(erreur).strip().splitlines()[0][:200] if str(erreur).strip() else ""
    detail = detail or erreur.__class__.__name__
    return Lecture(echec=True, erreurs=[f"{nom} illisible ou abîmé ({detail}) : conservé, non lu."])


def controler_zip(octets: bytes, nom: str, limites: Limites) -> str | None:
    """Refus d'un docx/odt/xlsx/ods trop gros une fois décompressé, lu sur l'annuaire du zip.

    zipfile ne rend jamais plus d'octets qu'une entrée n'en annonce (au-delà, erreur de CRC) :
    les tailles annoncées bornent donc ce que les bibliothèques décompresseront.
    """
    try:
        with zipfile.ZipFile(BytesIO(octets)) as archive:
            entrees = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as e:
        return f"{nom} illisible ou abîmé (archive interne invalide : {e}) : conservé, non lu."
    if len(entrees) > ENTREES_ZIP_MAX:
        return f"{nom} anormal ({nombre(len(entrees))} fichiers internes) : conservé, non lu."
    total = sum(max(e.file_size, 0) for e in entrees)
    if total > limites.decompresse_max_bureautique:
        return (
            f"{nom} trop volumineux une fois décompressé ({taille_lisible(total)} pour "
            f"{taille_lisible(len(octets))}, limite "
            f"{taille_lisible(limites.decompresse_max_bureautique)}), peut-être une bombe de "
            "décompression : conservé, non lu."
        )
    if any(e.flag_bits & 0x1 for e in entrees):
        return f"{nom} protégé par un mot de passe : conservé, non lu."
    return None


def lecture_normalisee(texte: str, erreurs: list[str] | None = None) -> Lecture:
    texte = "\n".join(ligne.rstrip() for ligne in texte.splitlines()).strip()
    lecture = Lecture(texte=texte, methode="bureautique", erreurs=list(erreurs or []))
    if not texte:
        lecture.erreurs.append("Le document ne contient aucun texte.")
    return lecture


# --- Traitement de texte --------------------------------------------------------------------


def _lire_docx(octets: bytes) -> Lecture:
    import docx
    from docx.table import Table

    document = docx.Document(BytesIO(octets))
    lignes: list[str] = []
    # L'en-tête d'une lettre (la mairie, l'administré) est souvent dans l'en-tête de page.
    for section in document.sections:
        for partie in (section.header, section.first_page_header):
            if not partie.is_linked_to_previous:
                lignes += [p.text for p in partie.paragraphs if p.text.strip()]
    for bloc in document.iter_inner_content():
        if isinstance(bloc, Table):
            lignes += _lignes_de_tableau(bloc)
        else:
            lignes.append(bloc.text)
    for section in document.sections:
        if not section.footer.is_linked_to_previous:
            lignes += [p.text for p in section.footer.paragraphs if p.text.strip()]
    return lecture_normalisee("\n".join(lignes))


def _lignes_de_tableau(tableau: Any) -> list[str]:
    lignes = []
    for rangee in tableau.rows:
        cellules: list[str] = []
        for cellule in rangee.cells:
            texte = " ".join(cellule.text.split())
            if texte and (not cellules or cellules[-1] != texte):  # cellules fusionnées
                cellules.append(texte)
        if cellules:
            lignes.append(" | ".join(cellules))
    return lignes


def _paragraphes_odf(noeud: Any) -> Iterator[Any]:
    from odf.namespaces import TEXTNS

    for enfant in noeud.childNodes:
        if getattr(enfant, "qname", None) in ((TEXTNS, "p"), (TEXTNS, "h")):
            yield enfant
        elif getattr(enfant, "childNodes", None):
            yield from _paragraphes_odf(enfant)


def _lire_odt(octets: bytes) -> Lecture:
    from odf import teletype
    from odf.opendocument import load

    document = load(BytesIO(octets))
    lignes = [teletype.extractText(p) for p in _paragraphes_odf(document.text)]
    return lecture_normalisee("\n".join(lignes))


def _lire_rtf(octets: bytes) -> Lecture:
    from striprtf.striprtf import rtf_to_text

    # Le RTF est de l'ASCII ; les accents y sont des échappements que striprtf décode.
    texte = rtf_to_text(octets.decode("cp1252", errors="replace"), errors="replace")
    erreurs = []
    if octets.count(b"{") - octets.count(b"\\{") > octets.count(b"}") - octets.count(b"\\}"):
        erreurs.append(
            "Document RTF incomplet (fichier tronqué ?) : le texte lu peut n'en être qu'une partie."
        )
    return lecture_normalisee(texte, erreurs)


# --- Tableurs -------------------------------------------------------------------------------


def _lire_xlsx(octets: bytes, limites: Limites) -> Lecture:
    import openpyxl

    classeur = openpyxl.load_workbook(BytesIO(octets), read_only=True, data_only=True)
    lignes: list[str] = []
    vues = 0
    total_connu = True
    try:
        for feuille in classeur.worksheets:
            lignes.append(f"[Feuille {feuille.title}]")
            for rangee in feuille.iter_rows(values_only=True):
                vues += len(rangee)
                valeurs = [str(v).strip() for v in rangee if v is not None and str(v).strip()]
                if valeurs:
                    lignes.append(" | ".join(valeurs))
                if vues >= limites.cellules_max:
                    total_connu = False
                    break
            if not total_connu:
                break
    finally:
        classeur.close()
    erreurs = []
    if not total_connu:
        erreurs.append(
            f"Seules les {nombre(limites.cellules_max)} premières cellules du classeur ont été "
            "lues ; le fichier est conservé en entier."
        )
    return lecture_normalisee("\n".join(lignes), erreurs)


def _lire_ods(octets: bytes, limites: Limites) -> Lecture:
    from odf import teletype
    from odf.namespaces import TABLENS
    from odf.opendocument import load
    from odf.table import Table, TableCell, TableRow

    document = load(BytesIO(octets))
    lignes: list[str] = []
    vues = 0
    coupe = False
    for feuille in document.spreadsheet.getElementsByType(Table):
        lignes.append(f"[Feuille {feuille.getAttrNS(TABLENS, 'name') or ''}]")
        for rangee in feuille.getElementsByType(TableRow):
            valeurs = []
            for cellule in rangee.getElementsByType(TableCell):
                vues += 1
                texte = " ".join(teletype.extractText(cellule).split())
                if texte:
                    valeurs.append(texte)
            if valeurs:
                lignes.append(" | ".join(valeurs))
            if vues >= limites.cellules_max:
                coupe = True
                break
        if coupe:
            break
    erreurs = []
    if coupe:
        erreurs.append(
            f"Seules les {nombre(limites.cellules_max)} premières cellules du classeur ont été "
            "lues ; le fichier est conservé en entier."
        )
    return lecture_normalisee("\n".join(lignes), erreurs)
