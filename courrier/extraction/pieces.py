"""Pièces jointes : rangement dans l'archive, limites, et lecture selon le format reconnu."""

from __future__ import annotations

import email.errors
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message

from connecteurs.ocr import LecteurOCR
from courrier.extraction.archives import lister_zip
from courrier.extraction.bureautique import genre_bureautique, lire_bureautique
from courrier.extraction.commun import (
    FORMATS_ARCHIVE_FERMEE,
    FORMATS_IMAGE,
    NOMS_FORMATS,
    Lecture,
    format_par_signature,
    nom_affichable,
    nombre,
    taille_lisible,
    tronquer,
)
from courrier.extraction.documents import dimensions_image, lire_image
from courrier.extraction.parties import texte_de_partie
from courrier.extraction.pdf import lire_pdf
from courrier.extraction.texte import nettoyer_ligne
from noyau.domaine import Limites, PieceExtraite

SEUIL_IMAGE_OCR = 300  # px : en dessous (logo, puce, pixel espion), l'image n'est pas lue

EXTENSIONS_BUREAUTIQUE = {
    "doc": "Word",
    "docx": "Word",
    "docm": "Word",
    "dot": "Word",
    "dotx": "Word",
    "rtf": "RTF",
    "odt": "OpenDocument texte",
    "ott": "OpenDocument texte",
    "xls": "Excel",
    "xlsx": "Excel",
    "xlsm": "Excel",
    "ods": "OpenDocument tableur",
    "ppt": "PowerPoint",
    "pptx": "PowerPoint",
    "pps": "PowerPoint",
    "ppsx": "PowerPoint",
    "odp": "OpenDocument présentation",
    "pub": "Publisher",
    "vsd": "Visio",
    "vsdx": "Visio",
    "pages": "Pages",
    "numbers": "Numbers",
    "key": "Keynote",
}
TYPES_BUREAUTIQUE = {
    "application/msword": "Word",
    "application/rtf": "RTF",
    "text/rtf": "RTF",
    "application/vnd.ms-excel": "Excel",
    "application/vnd.ms-powerpoint": "PowerPoint",
    "application/vnd.ms-word": "Word",
}
PREFIXES_BUREAUTIQUE = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml": "Word",
    "application/vnd.openxmlformats-officedocument.spreadsheetml": "Excel",
    "application/vnd.openxmlformats-officedocument.presentationml": "PowerPoint",
    "application/vnd.oasis.opendocument.text": "OpenDocument texte",
    "application/vnd.oasis.opendocument.spreadsheet": "OpenDocument tableur",
    "application/vnd.oasis.opendocument.presentation": "OpenDocument présentation",
    "application/vnd.ms-": "Microsoft Office",
}
EXTENSIONS_ARCHIVE = {
    "rar": "RAR",
    "7z": "7-Zip",
    "gz": "gzip",
    "tgz": "tar/gzip",
    "bz2": "bzip2",
    "xz": "xz",
    "tar": "tar",
    "cab": "CAB",
    "arj": "ARJ",
    "lzh": "LZH",
}
EXTENSIONS_TEXTE = frozenset(
    {"txt", "text", "csv", "tsv", "log", "ics", "vcs", "vcf", "xml", "json", "md", "ini"}
)
TYPES_TEXTE = frozenset(
    {
        "application/txt",
        "application/text",
        "application/json",
        "application/xml",
        "application/csv",
        "application/ics",
    }
)
# Pièces qu'on reconnaît mais qu'on ne sait pas lire : la raison dit ce qu'elles sont.
PIECES_CONNUES = {
    "application/pkcs7-signature": "Signature électronique S/MIME : conservée, non vérifiée.",
    "application/x-pkcs7-signature": "Signature électronique S/MIME : conservée, non vérifiée.",
    "application/pkcs7-mime": "Contenu S/MIME chiffré ou signé (.p7m) : conservé, non lu.",
    "application/x-pkcs7-mime": "Contenu S/MIME chiffré ou signé (.p7m) : conservé, non lu.",
    "application/pgp-signature": "Signature PGP : conservée, non vérifiée.",
    "application/pgp-encrypted": "Contenu chiffré PGP : conservé, illisible sans la clé.",
    "application/ms-tnef": "Pièce Outlook winmail.dat (format TNEF) : conservée, non lue.",
    "application/vnd.ms-tnef": "Pièce Outlook winmail.dat (format TNEF) : conservée, non lue.",
}
EXTENSIONS_CONNUES = {
    "p7s": PIECES_CONNUES["application/pkcs7-signature"],
    "p7m": PIECES_CONNUES["application/pkcs7-mime"],
    "asc": "Signature ou clé PGP : conservée, non vérifiée.",
    "msg": "Message Outlook .msg (format propriétaire) : conservé, non lu.",
    "dat": "Fichier de données (.dat, souvent winmail.dat d'Outlook) : conservé, non lu.",
}
TYPES_MESSAGE_TEXTE = frozenset(
    {
        "message/delivery-status",
        "message/global-delivery-status",
        "message/rfc822-headers",
        "message/global-headers",
        "message/disposition-notification",
        "message/feedback-report",
        "text/rfc822-headers",
    }
)


@dataclass
class Contexte:
    """L'état d'une lecture de courriel, partagé par le parcours du corps et les pièces :
    pièces rangées, raisons signalées (sans doublon), pièces analysées ou laissées."""

    deposer: Callable[[bytes], str]
    limites: Limites
    ocr: LecteurOCR
    pieces: list[PieceExtraite] = field(default_factory=list)
    erreurs: list[str] = field(default_factory=list)
    analysees: int = 0
    non_analysees: int = 0

    def signaler(self, raison: str) -> None:
        if raison not in self.erreurs:
            self.erreurs.append(raison)


def nouvelle_piece(
    partie: Message | None, octets: bytes, type_: str, nom: str | None, contexte: Contexte
) -> tuple[PieceExtraite, bool]:
    """Range les octets dans l'archive et crée la pièce ; le booléen dit s'il faut l'analyser."""
    rang = len(contexte.pieces) + 1
    piece = PieceExtraite(
        rang=rang,
        nom=nom_affichable(nom, rang),
        type_mime=nettoyer_ligne(type_, 100) or "application/octet-stream",
        taille=len(octets),
        empreinte=contexte.deposer(octets),
    )
    contexte.pieces.append(piece)
    if nom and (re.search(r"[/\\]", nom) or any(ord(c) < 32 or ord(c) == 127 for c in nom)):
        contexte.signaler(
            f"Le nom annoncé de la pièce jointe {rang} contenait un chemin ou des caractères "
            f"de contrôle : il a été réduit à « {piece.nom} »."
        )
    limites = contexte.limites
    if contexte.analysees >= limites.pieces_max:
        contexte.non_analysees += 1
        piece.erreur = (
            f"Pièce non analysée : le courriel dépasse {nombre(limites.pieces_max)} pièces "
            "jointes ; elle est conservée."
        )
        return piece, False
    contexte.analysees += 1
    if len(octets) > limites.taille_max_piece:
        piece.erreur = (
            f"Pièce trop volumineuse pour être analysée ({taille_lisible(len(octets))}, "
            f"limite {taille_lisible(limites.taille_max_piece)}) : conservée, non lue."
        )
        return piece, False
    if not octets:
        piece.erreur = "Pièce jointe vide (0 octet)."
        return piece, False
    if partie is not None and any(
        isinstance(d, email.errors.InvalidBase64LengthDefect) for d in partie.defects
    ):
        piece.erreur = "Encodage base64 abîmé : la fin de la pièce peut manquer."
    return piece, True


def ajouter_erreur(piece: PieceExtraite, raison: str) -> None:
    piece.erreur = f"{piece.erreur} {raison}" if piece.erreur else raison


def appliquer(piece: PieceExtraite, lecture: Lecture, limites: Limites) -> None:
    texte, raison = tronquer(lecture.texte, limites)
    piece.texte = texte
    piece.methode = lecture.methode if (texte.strip() or lecture.methode == "ocr") else "aucune"
    piece.confiance_ocr = lecture.confiance
    piece.pages_ocr = list(lecture.pages_ocr)
    piece.pages = lecture.pages
    for r in [*lecture.erreurs, *([raison] if raison else [])]:
        ajouter_erreur(piece, r)


def analyser_octets(
    piece: PieceExtraite,
    octets: bytes,
    type_: str,
    ext: str,
    en_ligne: bool,
    partie: Message,
    contexte: Contexte,
) -> None:
    limites = contexte.limites
    format_ = format_par_signature(octets)
    principal = type_.split("/", 1)[0]

    if format_ == "pdf" or (format_ is None and (type_ == "application/pdf" or ext == "pdf")):
        appliquer(piece, lire_pdf(octets, limites, contexte.ocr), limites)
    elif format_ in FORMATS_IMAGE or (format_ is None and principal == "image"):
        _piece_image(piece, octets, format_, en_ligne, contexte)
    elif (genre := genre_bureautique(octets, ext, type_)) is not None:
        appliquer(piece, lire_bureautique(octets, genre, limites, contexte.ocr), limites)
    elif (raison := _bureautique_non_lue(type_, ext, format_)) is not None:
        ajouter_erreur(piece, raison)
    elif _est_un_zip(type_, ext, format_):
        appliquer(piece, lister_zip(octets, limites), limites)
    elif (raison := _connue_non_lue(type_, ext, format_)) is not None:
        ajouter_erreur(piece, raison)
    elif _se_lit_comme_du_texte(octets, type_, ext, format_):
        html = type_ == "text/html" or ext in ("htm", "html")
        texte = texte_de_partie(partie, octets, html)
        appliquer(piece, Lecture(texte=texte, methode="html" if html else "texte"), limites)
    else:
        description = NOMS_FORMATS.get(format_ or "") or (f".{ext}" if ext else type_)
        ajouter_erreur(piece, f"Type de fichier non lu ({description}) : conservé.")


def _bureautique_non_lue(type_: str, ext: str, format_: str | None) -> str | None:
    """La raison écrite pour un document bureautique qu'aucun lecteur ne prend."""
    if ext in EXTENSIONS_CONNUES and format_ in (None, "ole2"):
        return EXTENSIONS_CONNUES[ext]
    bureautique = _bureautique(type_, ext, format_)
    if bureautique:
        return f"Document bureautique conservé, non lu ({bureautique})."
    return None


def _connue_non_lue(type_: str, ext: str, format_: str | None) -> str | None:
    """La raison écrite pour une archive fermée ou un type connu qu'on ne lit pas."""
    if format_ in FORMATS_ARCHIVE_FERMEE or ext in EXTENSIONS_ARCHIVE:
        genre = FORMATS_ARCHIVE_FERMEE.get(format_ or "") or EXTENSIONS_ARCHIVE.get(ext, ext)
        return f"Archive {genre} conservée, non ouverte."
    if type_ in PIECES_CONNUES:
        return PIECES_CONNUES[type_]
    if ext in EXTENSIONS_CONNUES:
        return EXTENSIONS_CONNUES[ext]
    return None


def _est_un_zip(type_: str, ext: str, format_: str | None) -> bool:
    return format_ == "zip" or ext == "zip" or type_ in ("application/zip", "application/x-zip")


def _se_lit_comme_du_texte(octets: bytes, type_: str, ext: str, format_: str | None) -> bool:
    """Annoncé comme du texte, ou sans format reconnu mais qui en a l'air."""
    return (
        type_.split("/", 1)[0] == "text"
        or type_ in TYPES_MESSAGE_TEXTE
        or type_ in TYPES_TEXTE
        or ext in EXTENSIONS_TEXTE
        or ext in ("htm", "html")
        or (format_ is None and _ressemble_a_du_texte(octets))
    )


def _bureautique(type_: str, ext: str, format_: str | None) -> str | None:
    if ext in EXTENSIONS_BUREAUTIQUE:
        return EXTENSIONS_BUREAUTIQUE[ext]
    if type_ in TYPES_BUREAUTIQUE:
        return TYPES_BUREAUTIQUE[type_]
    for prefixe, genre in PREFIXES_BUREAUTIQUE.items():
        if type_.startswith(prefixe):
            return genre
    if format_ == "ole2":
        return "Microsoft Office, ancien format"
    if format_ == "rtf":
        return "RTF"
    return None


def _ressemble_a_du_texte(octets: bytes) -> bool:
    """Un octet-stream sans signature connue qui est en fait du texte (corpus : « attach01 »)."""
    debut = octets[:8192]
    if b"\x00" in debut:
        return False
    controles = sum(1 for o in debut if o < 32 and o not in (9, 10, 12, 13))
    return controles <= len(debut) // 100


def _piece_image(
    piece: PieceExtraite, octets: bytes, format_: str | None, en_ligne: bool, contexte: Contexte
) -> None:
    if format_ not in FORMATS_IMAGE or format_ is None:
        ajouter_erreur(piece, "Image illisible ou abîmée : conservée, non lue.")
        return
    dimensions = dimensions_image(octets)
    if dimensions is None:
        ajouter_erreur(piece, "Image illisible ou abîmée : conservée, non lue.")
        return
    if en_ligne or min(dimensions) < SEUIL_IMAGE_OCR:
        # Logo, signature, image d'une infolettre : pas un document à lire.
        piece.en_ligne = True
        return
    appliquer(piece, lire_image(octets, format_, contexte.limites, contexte.ocr), contexte.limites)
