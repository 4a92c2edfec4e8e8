"""Ce que les lecteurs (courriel, PDF, image) partagent : résultat interne, limites, formats."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace

from noyau.domaine import EntetesCourrier, Limites, PageOCR, PieceExtraite, ResultatExtraction


@dataclass
class Lecture:
    """Ce qu'un lecteur tire d'un contenu (document entier ou pièce jointe)."""

    texte: str = ""
    methode: str = "aucune"
    confiance: float | None = None
    pages: int | None = None
    erreurs: list[str] = field(default_factory=list)
    echec: bool = False
    pages_ocr: list[PageOCR] = field(default_factory=list)


def nombre(n: float) -> str:
    """Un entier à la française : « 5 000 » (espace insécable)."""
    return f"{int(n):,}".replace(",", "\u00a0")


def seules_les_premieres(lues: int, total: int, nom: str, verbe: str, contenant: str) -> str:
    """« Seules les 30 premières pages ont été lues (le document en compte 5 000). »

    `nom` est au singulier féminin (page, image, pièce…), `verbe` au participe féminin.
    """
    if lues == 1:
        debut = f"Seule la première {nom} a été {verbe}"
    else:
        debut = f"Seules les {nombre(lues)} premières {nom}s ont été {verbe}s"
    return f"{debut} ({contenant} en compte {nombre(total)})."


def taille_lisible(octets: int) -> str:
    if octets >= 1024 * 1024:
        return f"{octets / (1024 * 1024):.1f} Mo".replace(".", ",")
    if octets >= 1024:
        return f"{octets / 1024:.0f} Ko"
    return f"{octets} octets"


def tronquer(texte: str, limites: Limites) -> tuple[str, str | None]:
    if len(texte) <= limites.caracteres_max:
        return texte, None
    raison = (
        f"Texte tronqué à {nombre(limites.caracteres_max)} caractères "
        f"(il en comptait {nombre(len(texte))})."
    )
    return texte[: limites.caracteres_max], raison


# --- Reconnaissance des formats par les octets ---------------------------------------------

SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),
    (b"MM\x00+", "tiff"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "jp2"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole2"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"Rar!\x1a\x07", "rar"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"\x1f\x8b", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"BZh", "bzip2"),
    (b"{\\rtf", "rtf"),
)


def format_par_signature(octets: bytes) -> str | None:
    """Le format réel d'après les premiers octets ; None si inconnu."""
    if b"%PDF-" in octets[:1024]:
        return "pdf"
    if octets[:4] == b"RIFF" and octets[8:12] == b"WEBP":
        return "webp"
    if octets[:2] == b"BM" and len(octets) > 26:
        return "bmp"
    for signature, nom in SIGNATURES:
        if octets.startswith(signature):
            return nom
    return None


FORMATS_IMAGE = frozenset({"png", "jpeg", "tiff", "gif", "jp2", "webp", "bmp"})
FORMATS_ARCHIVE_FERMEE = {
    "rar": "RAR",
    "7z": "7-Zip",
    "gzip": "gzip",
    "xz": "xz",
    "bzip2": "bzip2",
}

NOMS_FORMATS = {
    "pdf": "PDF",
    "png": "PNG",
    "jpeg": "JPEG",
    "tiff": "TIFF",
    "gif": "GIF",
    "jp2": "JPEG 2000",
    "webp": "WebP",
    "bmp": "BMP",
    "ole2": "document Microsoft Office ancien format ou Outlook .msg",
    "zip": "archive ZIP ou document Office récent",
    "rtf": "RTF",
    **FORMATS_ARCHIVE_FERMEE,
}


def extension(nom: str) -> str:
    """Extension en minuscules sans le point ('' si aucune)."""
    base = re.split(r"[/\\]", nom)[-1]
    if "." not in base.strip("."):
        return ""
    return base.rsplit(".", 1)[-1].strip().lower()[:10]


# --- Nettoyage de ce qui est rendu -------------------------------------------------------------

_INVISIBLES = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def nom_affichable(nom: str | None, rang: int) -> str:
    """Nom de pièce sûr à afficher : jamais de chemin, de contrôle, de saut de ligne.

    Les caractères d'inversion bidirectionnelle sont retirés : « facture\u202efdp.exe »
    s'afficherait « factureexe.pdf ».
    """
    if not nom:
        return f"piece-{rang}"
    nom = unicodedata.normalize("NFC", str(nom))
    nom = re.split(r"[/\\]", nom)[-1]
    nom = re.sub(r"[\r\n\t]+", " ", nom)
    nom = "".join(c for c in nom if unicodedata.category(c)[0] != "C" or c == " ")
    nom = _INVISIBLES.sub("", nom)
    while ".." in nom:
        nom = nom.replace("..", ".")
    nom = re.sub(r"\s+", " ", nom).strip(" .")
    if len(nom) > 150:
        ext = extension(nom)
        if ext and len(ext) < 12:
            nom = nom[: 150 - len(ext) - 2].rstrip() + "…." + ext
        else:
            nom = nom[:149].rstrip() + "…"
    return nom or f"piece-{rang}"


def _propre(texte: str) -> str:
    return texte.replace("\x00", "")


def _propre_opt(texte: str | None) -> str | None:
    return None if texte is None else _propre(texte)


def assainir(resultat: ResultatExtraction) -> ResultatExtraction:
    """Dernier passage : aucun NUL dans ce qui part vers la base (PostgreSQL les refuse)."""
    resultat.texte = _propre(resultat.texte)
    resultat.erreurs = [_propre(e) for e in resultat.erreurs]
    for piece in resultat.pieces:
        assainir_piece(piece)
    if resultat.entetes is not None:
        resultat.entetes = assainir_entetes(resultat.entetes)
    return resultat


def assainir_piece(piece: PieceExtraite) -> PieceExtraite:
    piece.nom = _propre(piece.nom)
    piece.type_mime = _propre(piece.type_mime)
    piece.texte = _propre(piece.texte)
    piece.erreur = _propre_opt(piece.erreur)
    return piece


def assainir_entetes(entetes: EntetesCourrier) -> EntetesCourrier:
    return replace(
        entetes,
        expediteur=_propre(entetes.expediteur),
        expediteur_adresse=_propre(entetes.expediteur_adresse),
        destinataires=_propre(entetes.destinataires),
        objet=_propre(entetes.objet),
        message_id=_propre(entetes.message_id),
        in_reply_to=_propre(entetes.in_reply_to),
        references=_propre(entetes.references),
    )


def resultat_depuis(lecture: Lecture, limites: Limites) -> ResultatExtraction:
    texte, raison = tronquer(lecture.texte, limites)
    erreurs = list(lecture.erreurs)
    if raison:
        erreurs.append(raison)
    return ResultatExtraction(
        texte=texte,
        methode=lecture.methode,
        confiance_ocr=lecture.confiance,
        pages=lecture.pages,
        pages_ocr=list(lecture.pages_ocr),
        erreurs=erreurs,
        echec=lecture.echec,
    )
