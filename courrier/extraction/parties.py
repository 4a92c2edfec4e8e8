"""Ce qu'on lit d'une partie MIME sans jamais lever : type, nom, jeu de caractères, octets."""

from __future__ import annotations

import email.policy
import re
from email.generator import BytesGenerator
from email.message import Message
from io import BytesIO

from courrier.extraction.entetes import valeur_brute
from courrier.extraction.mots_encodes import a_surrogates, decoder_entete, decoder_mots_encodes
from courrier.extraction.texte import charset_html, decoder_octets, html_en_texte, nettoyer

# Pour ré-écrire un message transféré tel qu'il est arrivé : en-têtes bruts non repliés,
# octets 8 bits rendus tels quels.
POLITIQUE_SERIALISATION = email.policy.default.clone(refold_source="none", utf8=True)


def type_de_partie(partie: Message) -> str:
    try:
        return str(partie.get_content_type()).lower()
    except Exception:
        return "application/octet-stream"


def disposition(partie: Message) -> str | None:
    try:
        return partie.get_content_disposition()
    except Exception:
        brut = (valeur_brute(partie, "content-disposition") or "").strip().lower()
        return brut.split(";", 1)[0].strip() or None


def charset_de_partie(partie: Message) -> str | None:
    try:
        charset = partie.get_content_charset()
    except Exception:
        charset = None
    if charset:
        return str(charset)
    trouve = re.search(
        r"charset\s*=\s*\"?([A-Za-z0-9_.:-]{1,40})",
        valeur_brute(partie, "content-type") or "",
        re.I,
    )
    return trouve.group(1) if trouve else None


def nom_declare(partie: Message) -> str | None:
    try:
        nom = partie.get_filename()
    except Exception:
        nom = None
        for entete in ("content-disposition", "content-type"):
            brut = valeur_brute(partie, entete) or ""
            trouve = re.search(r"(?:file)?name\*?\s*=\s*(\"[^\"]*\"|[^;\s]+)", brut, re.I)
            if trouve:
                nom = decoder_entete(trouve.group(1).strip('"'))
                break
    if nom is None:
        return None
    nom = str(nom)
    if a_surrogates(nom):
        nom = decoder_octets(nom.encode("utf-8", "surrogateescape"))
    if "=?" in nom:
        nom = decoder_mots_encodes(nom)
    return nom


def encodage_transfert(partie: Message) -> str:
    return (valeur_brute(partie, "content-transfer-encoding") or "").strip().lower()


def serialiser(message: Message) -> bytes:
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


def octets_de_partie(partie: Message) -> bytes:
    charge = partie.get_payload()
    if isinstance(charge, list):
        return b"\n".join(serialiser(m) for m in charge if isinstance(m, Message))
    try:
        octets = partie.get_payload(decode=True)
    except Exception:
        octets = None
    if isinstance(octets, bytes):
        return octets
    if isinstance(charge, str):
        return charge.encode("utf-8", "surrogateescape")
    return b""


def texte_de_partie(partie: Message, octets: bytes, html: bool) -> str:
    charset = charset_de_partie(partie)
    if html and not charset:
        charset = charset_html(octets)
    texte = nettoyer(decoder_octets(octets, charset))
    return html_en_texte(texte) if html else texte


def est_jointe(partie: Message) -> bool:
    return disposition(partie) == "attachment" or bool(nom_declare(partie))
