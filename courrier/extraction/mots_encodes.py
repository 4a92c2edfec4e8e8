"""Valeurs d'en-tête brutes → texte : lignes dépliées, octets 8 bits bruts, mots encodés RFC 2047.

Fait à la main plutôt que par `email.header.decode_header`, qui rend le même texte sur les
20 valeurs à mots encodés du corpus mais lève `HeaderParseError` pour tout l'en-tête dès qu'un
seul mot base64 a une longueur impossible, et rend les caractères hors Latin-1 du texte non
encodé (un « € » venu d'octets 8 bits bruts) en échappements `\\u20ac`.
"""

from __future__ import annotations

import base64
import binascii
import re

from courrier.extraction.texte import decoder_octets, nettoyer_ligne

VALEUR_ENTETE_MAX = 64 * 1024


def a_surrogates(texte: str) -> bool:
    return any("\udc80" <= c <= "\udcff" for c in texte)


def deplier(valeur: str) -> str:
    valeur = valeur[:VALEUR_ENTETE_MAX]
    return re.sub(r"(?:\r\n|\n|\r)(?=[ \t])", "", valeur)


def sans_octets_bruts(valeur: str, indice: str | None) -> str:
    """Les octets 8 bits bruts d'un en-tête (surrogateescape) redevenus du texte."""
    if not a_surrogates(valeur):
        return valeur
    return decoder_octets(valeur.encode("utf-8", "surrogateescape"), indice)


_MOT_ENCODE = re.compile(r"=\?([^?\s]{1,60})\?([qQbB])\?([^?\s]*)\?=")


def base64_tolerant(brut: bytes) -> bytes | None:
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
        return base64_tolerant(brut)
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
    texte = sans_octets_bruts(deplier(valeur), indice)
    if "=?" in texte:
        texte = decoder_mots_encodes(texte)
    return nettoyer_ligne(texte, longueur)
