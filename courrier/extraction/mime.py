"""Courriels MIME : en-têtes, corps, pièces jointes, messages transférés.

Les en-têtes sont lus sur leur valeur brute (`raw_items`) et décodés ici : l'analyse
« moderne » du paquet `email` lève des exceptions ou rend des caractères de remplacement sur
les en-têtes abîmés que le courrier réel contient (octets 8 bits bruts, mots encodés coupés).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import email
import email.errors
import email.policy
import email.utils
import re
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.generator import BytesGenerator
from email.message import Message
from io import BytesIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connecteurs.ocr import MoteurOCR
from courrier.domaine import EntetesCourrier, Limites, PieceExtraite, ResultatExtraction
from courrier.extraction.automatiques import reconnaitre
from courrier.extraction.bureautique import genre_bureautique, lire_bureautique
from courrier.extraction.commun import (
    FORMATS_ARCHIVE_FERMEE,
    FORMATS_IMAGE,
    NOMS_FORMATS,
    Lecture,
    assainir,
    assainir_entetes,
    extension,
    format_par_signature,
    nom_affichable,
    nombre,
    taille_lisible,
    tronquer,
)
from courrier.extraction.documents import dimensions_image, lire_image
from courrier.extraction.outlook import entetes_msg, est_un_msg, extraire_msg
from courrier.extraction.pdf import lire_pdf
from courrier.extraction.texte import (
    charset_html,
    decoder_octets,
    html_en_texte,
    nettoyer,
    nettoyer_ligne,
)

POLITIQUE = email.policy.default
# Pour ré-écrire un message transféré tel qu'il est arrivé : en-têtes bruts non repliés,
# octets 8 bits rendus tels quels.
POLITIQUE_SERIALISATION = email.policy.default.clone(refold_source="none", utf8=True)

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# Une ligne d'en-tête telle que l'entend le parseur de Python (feedparser.headerRE), avec au
# moins un caractère de nom.
_LIGNE_ENTETE = re.compile(rb"From |[\x21-\x39\x3b-\x7e]+:|[ \t]")
# Au-delà, une ligne d'en-tête est coupée avant l'analyse : l'analyseur d'en-têtes structurés
# de Python devient très lent sur des valeurs géantes.
LIGNE_ENTETE_MAX = 64 * 1024
VALEUR_ENTETE_MAX = 64 * 1024
NIVEAUX_MIME_MAX = 40

LONGUEURS = {
    "expediteur": 500,
    "destinataires": 4000,
    "objet": 1000,
    "message_id": 998,
    "references": 8000,
}

ENTETES_CONNUS = frozenset(
    {
        "from", "to", "cc", "subject", "date", "message-id", "received", "mime-version",
        "content-type", "return-path", "delivered-to", "sender", "reply-to", "in-reply-to",
        "references", "x-mailer",
    }
)  # fmt: skip

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

# Archives : rapport de compression au-delà duquel l'archive est signalée, et taille
# décompressée minimale pour que ce rapport ait un sens (un petit fichier très répétitif
# se comprime aussi très bien).
RAPPORT_ZIP_SUSPECT = 100
TAILLE_ZIP_SUSPECTE = 50 * 1024 * 1024
TAILLE_ZIP_ABSURDE = 10 * 1024 * 1024 * 1024


# --- En-têtes ------------------------------------------------------------------------------


def lire_entetes(contenu: bytes) -> EntetesCourrier:
    """Les en-têtes décodés d'un courriel ; ne lève jamais d'exception, quels que soient les octets.

    Seul le bloc d'en-têtes est analysé : c'est appelé à l'enregistrement, avant toute lecture.
    """
    try:
        if est_un_msg(contenu):
            return entetes_msg(contenu)
        if not contenu or not _commence_par_un_entete(contenu):
            return EntetesCourrier()
        tete, _ = _separer(contenu)
        tete, _ = _reparer_entetes(tete)
        message = email.message_from_bytes(tete + b"\n", policy=POLITIQUE)
        return assainir_entetes(_entetes_depuis(message))
    except Exception:
        # Promesse du contrat : l'enregistrement ne doit jamais tomber sur un en-tête.
        return EntetesCourrier()


def _debut(contenu: bytes) -> bytes:
    """Sans BOM UTF-8 (fichiers .eml enregistrés sous Windows) ni lignes vides de tête."""
    return contenu.removeprefix(b"\xef\xbb\xbf").lstrip(b"\r\n")


def _commence_par_un_entete(contenu: bytes) -> bool:
    return bool(_LIGNE_ENTETE.match(_debut(contenu[:1000])))


def _separer(contenu: bytes) -> tuple[bytes, bytes]:
    """(bloc d'en-têtes, reste) ; les lignes vides de tête sont sautées."""
    contenu = _debut(contenu)
    # Groupe atomique : « \r\n » suivi d'une ligne non vide n'est pas une ligne vide.
    fin = re.search(rb"(?>\r\n|\n|\r)(?:\r\n|\n|\r)", contenu)
    if fin is None:
        return contenu, b""
    return contenu[: fin.start()], contenu[fin.start() :]


def _reparer_entetes(tete: bytes) -> tuple[bytes, list[str]]:
    """Retire les lignes qui ne sont pas des en-têtes et coupe les lignes géantes.

    Le parseur de Python arrête les en-têtes à la première ligne invalide (corpus : une ligne
    « quite Delivered-To: … », des suites de DKIM sans espace initial) et range le reste,
    Subject et From compris, dans le corps.
    """
    lignes = tete.splitlines(keepends=True)
    remarques: list[str] = []
    gardees: list[bytes] = []
    modifie = False
    for ligne in lignes:
        if len(ligne) > LIGNE_ENTETE_MAX:
            remarques.append(
                f"Un en-tête anormalement long ({taille_lisible(len(ligne))}) a été coupé "
                f"à {taille_lisible(LIGNE_ENTETE_MAX)}."
            )
            fin = b"\r\n" if ligne.endswith(b"\r\n") else b"\n"
            ligne = ligne[:LIGNE_ENTETE_MAX].rstrip(b"\r\n") + fin
            modifie = True
        if _LIGNE_ENTETE.match(ligne) or (not gardees and ligne.startswith(b"From ")):
            gardees.append(ligne)
        else:
            modifie = True
    if not modifie:
        return tete, remarques
    return b"".join(gardees), remarques


def _valeurs_brutes(message: Message) -> dict[str, list[str]]:
    valeurs: dict[str, list[str]] = {}
    for nom, valeur in message.raw_items():
        valeurs.setdefault(str(nom).strip().lower(), []).append(str(valeur))
    return valeurs


def _brut(message: Message, nom: str) -> str | None:
    nom = nom.lower()
    for cle, valeur in message.raw_items():
        if str(cle).strip().lower() == nom:
            return str(valeur)
    return None


def _a_surrogates(texte: str) -> bool:
    return any("\udc80" <= c <= "\udcff" for c in texte)


def _deplier(valeur: str) -> str:
    valeur = valeur[:VALEUR_ENTETE_MAX]
    return re.sub(r"(?:\r\n|\n|\r)(?=[ \t])", "", valeur)


def _sans_octets_bruts(valeur: str, indice: str | None) -> str:
    """Les octets 8 bits bruts d'un en-tête (surrogateescape) redevenus du texte."""
    if not _a_surrogates(valeur):
        return valeur
    return decoder_octets(valeur.encode("utf-8", "surrogateescape"), indice)


_MOT_ENCODE = re.compile(r"=\?([^?\s]{1,60})\?([qQbB])\?([^?\s]*)\?=")


def _base64_tolerant(brut: bytes) -> bytes | None:
    """Base64 décodé malgré les caractères parasites et le remplissage manquant."""
    brut = re.sub(rb"[^A-Za-z0-9+/]", b"", brut)
    if len(brut) % 4 == 1:
        brut = brut[:-1]
    try:
        return base64.b64decode(brut + b"=" * (-len(brut) % 4))
    except (binascii.Error, ValueError):
        return None


def _octets_mot(encodage: str, donnees: str) -> bytes | None:
    brut = donnees.encode("ascii", "ignore")
    if encodage in "bB":
        return _base64_tolerant(brut)
    try:
        return binascii.a2b_qp(brut, header=True)
    except (binascii.Error, ValueError):
        return None


def decoder_mots_encodes(valeur: str) -> str:
    """Décode les mots encodés RFC 2047, y compris un caractère coupé entre deux mots.

    Les mots adjacents de même charset sont réunis avant décodage : certains logiciels coupent
    une séquence UTF-8 au milieu.
    """
    morceaux: list[str] = []
    position = 0
    en_attente: list[bytes] = []
    charset_attente: str | None = None

    def vider() -> None:
        nonlocal en_attente, charset_attente
        if en_attente:
            morceaux.append(decoder_octets(b"".join(en_attente), charset_attente))
        en_attente, charset_attente = [], None

    for mot in _MOT_ENCODE.finditer(valeur):
        entre = valeur[position : mot.start()]
        charset = mot.group(1).split("*", 1)[0].lower()
        octets = _octets_mot(mot.group(2), mot.group(3))
        if octets is None:
            vider()
            morceaux.append(entre + mot.group(0))
            position = mot.end()
            continue
        if entre and not (entre.isspace() and en_attente):
            vider()
            morceaux.append(entre)
        elif entre and charset != charset_attente:
            vider()
        if en_attente and charset != charset_attente:
            vider()
        en_attente.append(octets)
        charset_attente = charset
        position = mot.end()
    vider()
    morceaux.append(valeur[position:])
    return "".join(morceaux)


def decoder_entete(valeur: str, indice: str | None = None, longueur: int = 1000) -> str:
    """Valeur d'en-tête brute → texte affichable d'une ligne."""
    texte = _sans_octets_bruts(_deplier(valeur), indice)
    if "=?" in texte:
        texte = decoder_mots_encodes(texte)
    return nettoyer_ligne(texte, longueur)


def _adresses(valeurs: list[str], indice: str | None) -> list[tuple[str, str]]:
    """(nom décodé, adresse) ; les mots encodés sont décodés après découpage des adresses."""
    bruts = [_sans_octets_bruts(_deplier(v), indice) for v in valeurs]
    try:
        paires = email.utils.getaddresses(bruts)
    except Exception:
        paires = []
    resultat = []
    for nom, adresse in paires:
        adresse = nettoyer_ligne(adresse, 320)
        nom = nettoyer_ligne(decoder_mots_encodes(nom), 300)
        if (adresse and "@" in adresse) or nom:
            resultat.append((nom, adresse))
    return resultat


def _affiche(nom: str, adresse: str) -> str:
    if nom and adresse:
        return f"{nom} <{adresse}>"
    return adresse or nom


def _charset_indice(valeurs: dict[str, list[str]]) -> str | None:
    for valeur in valeurs.get("content-type", []):
        trouve = re.search(r"charset\s*=\s*\"?([A-Za-z0-9_.:-]{1,40})", valeur, re.I)
        if trouve:
            return trouve.group(1)
    return None


def _date(valeur: str | None) -> datetime | None:
    if not valeur:
        return None
    texte = nettoyer_ligne(_sans_octets_bruts(_deplier(valeur), None), 200)
    try:
        date = email.utils.parsedate_to_datetime(texte)
        if date.tzinfo is None:
            # « -0000 » : heure UTC sans fuseau d'origine connu (RFC 5322 §3.3).
            date = date.replace(tzinfo=UTC)
        date = date.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError, AttributeError):
        return None
    if not 1970 <= date.year <= 2200:
        return None
    return date


def _identifiant(valeur: str | None) -> str:
    if not valeur:
        return ""
    texte = nettoyer_ligne(_sans_octets_bruts(_deplier(valeur), None), LONGUEURS["message_id"])
    trouve = re.search(r"<[^<>\s]+>", texte)
    return trouve.group(0) if trouve else texte


def _entetes_depuis(message: Message) -> EntetesCourrier:
    valeurs = _valeurs_brutes(message)
    indice = _charset_indice(valeurs)

    def premier(*noms: str) -> list[str]:
        for nom in noms:
            if valeurs.get(nom):
                return valeurs[nom][:1]
        return []

    bruts_expediteur = premier("from", "sender")
    expediteurs = _adresses(bruts_expediteur, indice)
    if expediteurs:
        nom, adresse = expediteurs[0]
        expediteur = nettoyer_ligne(_affiche(nom, adresse), LONGUEURS["expediteur"])
        expediteur_adresse = adresse.lower()
    else:
        expediteur = decoder_entete(bruts_expediteur[0], indice) if bruts_expediteur else ""
        expediteur = nettoyer_ligne(expediteur, LONGUEURS["expediteur"])
        trouve = re.search(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", expediteur)
        expediteur_adresse = trouve.group(0).lower() if trouve else ""

    bruts_destinataires = valeurs.get("to", []) + valeurs.get("cc", [])
    destinataires = ", ".join(_affiche(n, a) for n, a in _adresses(bruts_destinataires, indice))
    if not destinataires and bruts_destinataires:
        destinataires = ", ".join(decoder_entete(v, indice) for v in bruts_destinataires)
    destinataires = nettoyer_ligne(destinataires, LONGUEURS["destinataires"])

    objets = premier("subject")
    references = premier("references")
    return EntetesCourrier(
        expediteur=expediteur,
        expediteur_adresse=nettoyer_ligne(expediteur_adresse, 320),
        destinataires=destinataires,
        objet=decoder_entete(objets[0], indice, LONGUEURS["objet"]) if objets else "",
        message_id=_identifiant(next(iter(premier("message-id")), None)),
        in_reply_to=_identifiant(next(iter(premier("in-reply-to")), None)),
        references=nettoyer_ligne(
            _sans_octets_bruts(_deplier(references[0]), None) if references else "",
            LONGUEURS["references"],
        ),
        date=_date(next(iter(premier("date")), None)),
    )


# --- Courriel complet ----------------------------------------------------------------------


@dataclass
class _Contexte:
    deposer: Callable[[bytes], str]
    limites: Limites
    ocr: MoteurOCR
    pieces: list[PieceExtraite] = field(default_factory=list)
    erreurs: list[str] = field(default_factory=list)
    analysees: int = 0
    non_analysees: int = 0

    def signaler(self, raison: str) -> None:
        if raison not in self.erreurs:
            self.erreurs.append(raison)


def extraire_courriel(
    contenu: bytes,
    deposer: Callable[[bytes], str],
    limites: Limites,
    ocr: MoteurOCR,
) -> ResultatExtraction:
    """Texte, pièces jointes et en-têtes d'un courriel.

    Jamais d'exception pour un mauvais fichier : chaque problème devient une raison écrite.
    """
    if est_un_msg(contenu):
        return extraire_msg(contenu, deposer, limites, ocr)
    refus = _refus_non_mime(contenu)
    if refus is not None:
        return assainir(ResultatExtraction(echec=True, erreurs=[refus], entetes=EntetesCourrier()))
    message, remarques = _analyser(contenu)
    if message is None:
        return assainir(
            ResultatExtraction(echec=True, erreurs=remarques, entetes=EntetesCourrier())
        )
    if not _a_des_entetes(message):
        return assainir(
            ResultatExtraction(
                echec=True,
                erreurs=[
                    "Le fichier ne ressemble pas à un courriel (aucun en-tête de message "
                    "reconnu) : conservé tel quel, texte non lu."
                ],
                entetes=EntetesCourrier(),
            )
        )
    contexte = _Contexte(deposer=deposer, limites=limites, ocr=ocr, erreurs=list(remarques))
    if b"\x00" in _separer(contenu)[0]:
        contexte.signaler(
            "Les en-têtes du courriel contiennent des octets nuls (NUL) : ils sont retirés des "
            "valeurs lues ; l'original est conservé tel quel."
        )
    resultat = ResultatExtraction(
        entetes=_entetes_depuis(message), automatique=reconnaitre(message)
    )
    destinataires = resultat.entetes.destinataires if resultat.entetes else ""
    if destinataires.endswith("…") and len(destinataires) >= LONGUEURS["destinataires"] - 50:
        contexte.signaler(
            "La liste des destinataires est anormalement longue : seul son début est gardé "
            "dans le registre ; l'original complet est conservé."
        )
    texte, methode = _lire_message(message, contexte, 0)
    texte, raison = tronquer(texte, limites)
    resultat.texte = texte
    resultat.methode = methode if texte.strip() else "aucune"
    if raison:
        contexte.signaler(raison)
    if not texte.strip():
        if contexte.pieces:
            contexte.signaler(
                "Le courriel n'a pas de texte propre : son contenu est dans les pièces jointes."
            )
        else:
            contexte.signaler("Le courriel est vide : ni texte ni pièce jointe.")
    if contexte.non_analysees:
        contexte.signaler(
            f"Le courriel compte {nombre(contexte.analysees + contexte.non_analysees)} pièces "
            f"jointes : seules les {nombre(limites.pieces_max)} premières ont été analysées, "
            "les autres sont conservées sans être lues."
        )
    resultat.pieces = contexte.pieces
    resultat.erreurs = contexte.erreurs
    return assainir(resultat)


def _refus_non_mime(contenu: bytes) -> str | None:
    if not contenu or not contenu.strip():
        return "Le fichier est vide : rien à lire."
    if contenu.startswith(OLE2):
        # Un .msg Outlook (OLE2 lui aussi) a été lu plus haut par `extraire_msg`.
        return (
            "Document Microsoft Office de l'ancien format (OLE2), pas un courriel : "
            "conservé tel quel, texte non lu."
        )
    if _commence_par_un_entete(contenu):
        return None
    format_ = format_par_signature(contenu[:1024])
    if format_ is not None:
        return (
            "Ce fichier n'est pas un courriel mais un fichier "
            f"{NOMS_FORMATS.get(format_, format_)} : conservé tel quel, texte non lu."
        )
    return None


def _analyser(contenu: bytes) -> tuple[Message | None, list[str]]:
    tete, reste = _separer(contenu)
    tete, remarques = _reparer_entetes(tete)
    try:
        return email.message_from_bytes(tete + reste, policy=POLITIQUE), remarques
    except RecursionError:
        raison = "Structure MIME trop imbriquée pour être analysée : conservé tel quel, non lu."
    except Exception as e:
        # Le parseur de Python est tolérant ; ce filet couvre un cas qu'il ne saurait pas rendre.
        raison = f"Le courriel n'a pas pu être analysé ({type(e).__name__}) : conservé, non lu."
    return None, [*remarques, raison]


def _a_des_entetes(message: Message) -> bool:
    return any(str(nom).strip().lower() in ENTETES_CONNUS for nom, _ in message.raw_items())


def _type(partie: Message) -> str:
    try:
        return str(partie.get_content_type()).lower()
    except Exception:
        return "application/octet-stream"


def _disposition(partie: Message) -> str | None:
    try:
        return partie.get_content_disposition()
    except Exception:
        brut = (_brut(partie, "content-disposition") or "").strip().lower()
        return brut.split(";", 1)[0].strip() or None


def _charset(partie: Message) -> str | None:
    try:
        charset = partie.get_content_charset()
    except Exception:
        charset = None
    if charset:
        return str(charset)
    trouve = re.search(
        r"charset\s*=\s*\"?([A-Za-z0-9_.:-]{1,40})", _brut(partie, "content-type") or "", re.I
    )
    return trouve.group(1) if trouve else None


def _nom_declare(partie: Message) -> str | None:
    try:
        nom = partie.get_filename()
    except Exception:
        nom = None
        for entete in ("content-disposition", "content-type"):
            brut = _brut(partie, entete) or ""
            trouve = re.search(r"(?:file)?name\*?\s*=\s*(\"[^\"]*\"|[^;\s]+)", brut, re.I)
            if trouve:
                nom = decoder_entete(trouve.group(1).strip('"'))
                break
    if nom is None:
        return None
    nom = str(nom)
    if _a_surrogates(nom):
        nom = decoder_octets(nom.encode("utf-8", "surrogateescape"))
    if "=?" in nom:
        nom = decoder_mots_encodes(nom)
    return nom


def _encodage_transfert(partie: Message) -> str:
    return (_brut(partie, "content-transfer-encoding") or "").strip().lower()


def _serialiser(message: Message) -> bytes:
    tampon = BytesIO()
    try:
        generateur = BytesGenerator(tampon, mangle_from_=False, policy=POLITIQUE_SERIALISATION)
        generateur.flatten(message)  # type: ignore[arg-type]  # Message ou EmailMessage : égal
        return tampon.getvalue()
    except Exception:
        # Le générateur refuse certaines structures abîmées ; la forme texte suffit à archiver.
        try:
            return str(message).encode("utf-8", "surrogateescape")
        except Exception:
            return b""


def _octets(partie: Message) -> bytes:
    charge = partie.get_payload()
    if isinstance(charge, list):
        return b"\n".join(_serialiser(m) for m in charge if isinstance(m, Message))
    try:
        octets = partie.get_payload(decode=True)
    except Exception:
        octets = None
    if isinstance(octets, bytes):
        return octets
    if isinstance(charge, str):
        return charge.encode("utf-8", "surrogateescape")
    return b""


def _texte_de_partie(partie: Message, octets: bytes, html: bool) -> str:
    charset = _charset(partie)
    if html and not charset:
        charset = charset_html(octets)
    texte = nettoyer(decoder_octets(octets, charset))
    return html_en_texte(texte) if html else texte


def _lire_message(message: Message, contexte: _Contexte, profondeur: int) -> tuple[str, str]:
    segments = []
    vus: set[str] = set()
    for texte_segment, methode_segment in _rendre(message, contexte, profondeur, 0, False):
        # Une structure cassée met côte à côte le texte et le HTML d'une même alternative.
        cle = " ".join(texte_segment.split())
        if cle and cle not in vus:
            vus.add(cle)
            segments.append((texte_segment, methode_segment))
    texte = "\n\n".join(t.strip("\n") for t, _ in segments)
    methodes = {m for _, m in segments}
    methode = "texte" if "plain" in methodes else "html" if "html" in methodes else "aucune"
    return texte.strip(), methode


def _rendre(
    partie: Message, contexte: _Contexte, profondeur: int, niveau: int, dans_related: bool
) -> list[tuple[str, str]]:
    """Les morceaux de corps (texte, méthode) de `partie` ; les pièces vont dans le contexte."""
    if niveau > NIVEAUX_MIME_MAX:
        contexte.signaler(
            f"Structure MIME imbriquée sur plus de {NIVEAUX_MIME_MAX} niveaux : "
            "les parties plus profondes sont ignorées."
        )
        return []
    type_ = _type(partie)
    if type_ in ("message/rfc822", "message/global", "message/news"):
        _piece_message(partie, contexte, profondeur)
        return []
    if type_.startswith("message/") and partie.is_multipart():
        _piece(partie, type_, contexte, profondeur, dans_related)
        return []
    if partie.is_multipart():
        enfants = [e for e in partie.get_payload() if isinstance(e, Message)]
        related = dans_related or type_ == "multipart/related"
        rendus = [_rendre(e, contexte, profondeur, niveau + 1, related) for e in enfants]
        epilogue = partie.epilogue or ""
        if len(epilogue) > 20 and "\n--" in epilogue:
            # Corpus (07) : une sous-partie réutilise la frontière de sa mère et la ferme trop
            # tôt ; la pièce jointe suivante atterrit dans l'épilogue, où Python l'ignore.
            perdues = _recuperer_multipart(epilogue, "multipart/mixed")
            if perdues is not None:
                rendus.append(_rendre(perdues, contexte, profondeur, niveau + 1, related))
        if type_ == "multipart/alternative":
            return _choisir_alternative(rendus)
        return [segment for rendu in rendus for segment in rendu]
    if type_.startswith("multipart/"):
        return _rendre_multipart_casse(partie, type_, contexte, profondeur, niveau, dans_related)
    if type_ in ("text/plain", "text/html") and not _est_jointe(partie):
        return [(_texte_de_partie(partie, _octets(partie), type_ == "text/html"), type_[5:])]
    _piece(partie, type_, contexte, profondeur, dans_related)
    return []


def _est_jointe(partie: Message) -> bool:
    return _disposition(partie) == "attachment" or bool(_nom_declare(partie))


def _choisir_alternative(rendus: list[list[tuple[str, str]]]) -> list[tuple[str, str]]:
    """Le texte brut d'abord ; le HTML quand la version texte manque ou est vide."""
    non_vides = [r for r in rendus if any(t.strip() for t, _ in r)]
    for rendu in non_vides:
        if any(m == "plain" and t.strip() for t, m in rendu):
            return rendu
    return non_vides[0] if non_vides else []


def _rendre_multipart_casse(
    partie: Message,
    type_: str,
    contexte: _Contexte,
    profondeur: int,
    niveau: int,
    dans_related: bool,
) -> list[tuple[str, str]]:
    charge = partie.get_payload()
    if not isinstance(charge, str) or not charge.strip():
        return []
    recupere = _recuperer_multipart(charge, type_)
    if recupere is not None:
        return _rendre(recupere, contexte, profondeur, niveau + 1, dans_related)
    contexte.signaler(
        "Structure MIME cassée (frontière entre les parties introuvable) : le contenu est lu "
        "tel quel, sans découpage ; des pièces jointes peuvent y être mêlées."
    )
    return [(nettoyer(decoder_octets(charge.encode("utf-8", "surrogateescape"))), "plain")]


def _recuperer_multipart(charge: str, type_: str) -> Message | None:
    """Retrouve la frontière réellement utilisée quand celle annoncée n'apparaît pas.

    Corpus : frontière annoncée « --=_HsWzsKVZkho », utilisée « --=_GlSzQZUbRbpVOpy » ;
    frontière non protégée contenant « = », que Python coupe.
    """
    lignes = charge.splitlines()
    candidates: Counter[str] = Counter()
    for i, ligne in enumerate(lignes[:200_000]):
        if (
            ligne.startswith("--")
            and 3 <= len(ligne) <= 200
            and i + 1 < len(lignes)
            and lignes[i + 1].lower().startswith("content-")
        ):
            candidates[ligne[2:].rstrip()] += 1
    if not candidates:
        return None
    frontiere = candidates.most_common(1)[0][0]
    if not frontiere or '"' in frontiere or "\\" in frontiere:
        return None
    type_sur = re.sub(r"[^a-z0-9/.+-]", "", type_) or "multipart/mixed"
    entete = f'Content-Type: {type_sur}; boundary="{frontiere}"\n\n'.encode("ascii", "replace")
    try:
        message = email.message_from_bytes(
            entete + charge.encode("utf-8", "surrogateescape"), policy=POLITIQUE
        )
    except Exception:
        return None
    if not message.is_multipart() or not message.get_payload():
        return None
    return message


# --- Pièces jointes ------------------------------------------------------------------------


def _nouvelle_piece(
    partie: Message | None, octets: bytes, type_: str, nom: str | None, contexte: _Contexte
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


def _ajouter_erreur(piece: PieceExtraite, raison: str) -> None:
    piece.erreur = f"{piece.erreur} {raison}" if piece.erreur else raison


def _appliquer(piece: PieceExtraite, lecture: Lecture, limites: Limites) -> None:
    texte, raison = tronquer(lecture.texte, limites)
    piece.texte = texte
    piece.methode = lecture.methode if (texte.strip() or lecture.methode == "ocr") else "aucune"
    piece.confiance_ocr = lecture.confiance
    piece.pages_ocr = list(lecture.pages_ocr)
    piece.pages = lecture.pages
    for r in [*lecture.erreurs, *([raison] if raison else [])]:
        _ajouter_erreur(piece, r)


def _piece(
    partie: Message, type_: str, contexte: _Contexte, profondeur: int, dans_related: bool
) -> None:
    octets = _octets(partie)
    nom = _nom_declare(partie)
    piece, analyser = _nouvelle_piece(partie, octets, type_, nom, contexte)
    if not analyser:
        return
    ext = extension(nom or "")
    if ext == "eml" and _commence_par_un_entete(octets):
        message, _ = _analyser(octets)
        if message is not None and _a_des_entetes(message):
            _lire_message_joint(piece, message, contexte, profondeur)
            return
    en_ligne = dans_related and bool(_brut(partie, "content-id"))
    _analyser_octets(piece, octets, type_, ext, en_ligne, partie, contexte)


def _analyser_octets(
    piece: PieceExtraite,
    octets: bytes,
    type_: str,
    ext: str,
    en_ligne: bool,
    partie: Message,
    contexte: _Contexte,
) -> None:
    limites = contexte.limites
    format_ = format_par_signature(octets)
    principal = type_.split("/", 1)[0]
    bureautique = _bureautique(type_, ext, format_)

    if format_ == "pdf" or (format_ is None and (type_ == "application/pdf" or ext == "pdf")):
        _appliquer(piece, lire_pdf(octets, limites, contexte.ocr), limites)
    elif format_ in FORMATS_IMAGE or (format_ is None and principal == "image"):
        _piece_image(piece, octets, format_, en_ligne, contexte)
    elif (genre := genre_bureautique(octets, ext, type_)) is not None:
        _appliquer(piece, lire_bureautique(octets, genre, limites, contexte.ocr), limites)
    elif ext in EXTENSIONS_CONNUES and format_ in (None, "ole2"):
        _ajouter_erreur(piece, EXTENSIONS_CONNUES[ext])
    elif bureautique:
        _ajouter_erreur(piece, f"Document bureautique conservé, non lu ({bureautique}).")
    elif format_ == "zip" or ext == "zip" or type_ in ("application/zip", "application/x-zip"):
        _appliquer(piece, lister_zip(octets, limites), limites)
    elif format_ in FORMATS_ARCHIVE_FERMEE or ext in EXTENSIONS_ARCHIVE:
        genre = FORMATS_ARCHIVE_FERMEE.get(format_ or "") or EXTENSIONS_ARCHIVE.get(ext, ext)
        _ajouter_erreur(piece, f"Archive {genre} conservée, non ouverte.")
    elif type_ in PIECES_CONNUES:
        _ajouter_erreur(piece, PIECES_CONNUES[type_])
    elif ext in EXTENSIONS_CONNUES:
        _ajouter_erreur(piece, EXTENSIONS_CONNUES[ext])
    elif (
        principal == "text"
        or type_ in TYPES_MESSAGE_TEXTE
        or type_ in TYPES_TEXTE
        or ext in EXTENSIONS_TEXTE
        or ext in ("htm", "html")
        or (format_ is None and _ressemble_a_du_texte(octets))
    ):
        html = type_ == "text/html" or ext in ("htm", "html")
        texte = _texte_de_partie(partie, octets, html)
        _appliquer(piece, Lecture(texte=texte, methode="html" if html else "texte"), limites)
    else:
        description = NOMS_FORMATS.get(format_ or "") or (f".{ext}" if ext else type_)
        _ajouter_erreur(piece, f"Type de fichier non lu ({description}) : conservé.")


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
    piece: PieceExtraite, octets: bytes, format_: str | None, en_ligne: bool, contexte: _Contexte
) -> None:
    if format_ not in FORMATS_IMAGE or format_ is None:
        _ajouter_erreur(piece, "Image illisible ou abîmée : conservée, non lue.")
        return
    dimensions = dimensions_image(octets)
    if dimensions is None:
        _ajouter_erreur(piece, "Image illisible ou abîmée : conservée, non lue.")
        return
    if en_ligne or min(dimensions) < SEUIL_IMAGE_OCR:
        # Logo, signature, image d'une infolettre : pas un document à lire.
        piece.en_ligne = True
        return
    _appliquer(piece, lire_image(octets, format_, contexte.limites, contexte.ocr), contexte.limites)


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


# --- Messages transférés -------------------------------------------------------------------


def _piece_message(partie: Message, contexte: _Contexte, profondeur: int) -> None:
    charge = partie.get_payload()
    interne = charge[0] if isinstance(charge, list) and charge else None
    if not isinstance(interne, Message):
        interne = None
    if interne is not None and _encodage_transfert(partie) in ("base64", "quoted-printable"):
        # Interdit par la RFC 2046 mais produit par certains logiciels : Python a pris le
        # texte encodé pour un message ; on le décode et on relit.
        encode = _serialiser(interne)
        if _encodage_transfert(partie) == "base64":
            octets = _base64_tolerant(encode) or b""
        else:
            octets = binascii.a2b_qp(encode)
        interne, _ = _analyser(octets) if octets.strip() else (None, [])
    else:
        octets = _serialiser(interne) if interne is not None else _octets(partie)
    nom = _nom_declare(partie)
    if not nom and interne is not None:
        objet = decoder_entete(_brut(interne, "subject") or "", None, 100)
        nom = f"{objet}.eml" if objet else None
    piece, analyser = _nouvelle_piece(partie, octets, "message/rfc822", nom, contexte)
    if not octets and interne is not None:
        # Le générateur d'email a renoncé (imbrication extrême) : rien de sûr à relire.
        piece.erreur = "Message transféré trop imbriqué pour être relu : conservé, non lu."
        return
    if not analyser:
        return
    if interne is None or not _a_des_entetes(interne):
        _ajouter_erreur(piece, "Message transféré illisible : conservé, non lu.")
        return
    _lire_message_joint(piece, interne, contexte, profondeur)


def _heure_locale(date: datetime) -> str:
    try:
        return f"{date.astimezone(ZoneInfo('Europe/Paris')):%d/%m/%Y %H:%M}"
    except (ZoneInfoNotFoundError, ValueError, OverflowError):
        return f"{date:%d/%m/%Y %H:%M} UTC"


def _lire_message_joint(
    piece: PieceExtraite, message: Message, contexte: _Contexte, profondeur: int
) -> None:
    if profondeur + 1 > contexte.limites.profondeur_max:
        _ajouter_erreur(
            piece,
            f"Message transféré imbriqué sur plus de {contexte.limites.profondeur_max} niveaux : "
            "conservé, non lu.",
        )
        return
    entetes = _entetes_depuis(message)
    premier_rang = len(contexte.pieces) + 1
    corps, methode = _lire_message(message, contexte, profondeur + 1)
    lignes = [
        f"De : {entetes.expediteur}" if entetes.expediteur else "",
        f"À : {entetes.destinataires}" if entetes.destinataires else "",
        f"Date : {_heure_locale(entetes.date)}" if entetes.date else "",
        f"Objet : {entetes.objet}" if entetes.objet else "",
    ]
    jointes = [p.nom for p in contexte.pieces[premier_rang - 1 :]]
    if jointes:
        lignes.append("Pièces jointes : " + ", ".join(jointes[:50]))
    texte = "\n".join(ligne for ligne in lignes if ligne) + "\n\n" + corps
    _appliquer(piece, Lecture(texte=texte.strip(), methode=methode), contexte.limites)
    if methode == "aucune":
        piece.methode = "texte"
