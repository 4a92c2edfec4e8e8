"""Les briques des courriels de démonstration, construits octet par octet pour maîtriser jeux
de caractères et encodages (en-têtes, parties MIME, encodages de transfert)."""

from __future__ import annotations

import base64
import quopri
from collections.abc import Iterable
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr

from courrier.demo.catalogue import CET, CRLF, MAIRIE, Attendu


def date(jour: int, heure: int, minute: int, seconde: int) -> str:
    return format_datetime(datetime(2026, 11, jour, heure, minute, seconde, tzinfo=CET))


def mot_encode(texte: str, nom: str, charset: str = "utf-8") -> str:
    """Valeur d'en-tête en ASCII : mots encodés RFC 2047 si le texte n'est pas ASCII."""
    if texte.isascii():
        return texte
    return Header(texte, charset, header_name=nom).encode(linesep="\r\n")


def adresse(nom: str, adresse: str, charset: str = "utf-8") -> str:
    return formataddr((nom, adresse), charset=charset)


def entetes(paires: Iterable[tuple[str, str]]) -> bytes:
    return b"".join(f"{nom}: {valeur}".encode("ascii") + CRLF for nom, valeur in paires)


def partie(paires: Iterable[tuple[str, str]], corps: bytes) -> bytes:
    return entetes(paires) + CRLF + corps


def multipart(frontiere: str, parties: Iterable[bytes], preambule: bool = True) -> bytes:
    sortie = b"This is a multi-part message in MIME format." + CRLF if preambule else b""
    for partie in parties:
        sortie += CRLF + b"--" + frontiere.encode() + CRLF + partie.rstrip(b"\r\n")
    return sortie + CRLF + b"--" + frontiere.encode() + b"--" + CRLF


def qp(texte: str, charset: str = "utf-8") -> bytes:
    return quopri.encodestring(texte.encode(charset)).replace(b"\n", CRLF)


def b64(donnees: bytes) -> bytes:
    return base64.encodebytes(donnees).replace(b"\n", CRLF)


def huit_bits(texte: str, charset: str) -> bytes:
    return texte.replace("\n", "\r\n").encode(charset)


def recu(depuis: str, ip: str, ident: str, date: str) -> str:
    return (
        f"from {depuis} ({depuis} [{ip}])\r\n\tby mx.saint-aubin-sur-loire.example (Postfix)"
        f" with ESMTPS id {ident}\r\n\tfor <{MAIRIE}>; {date}"
    )


def communs(
    a: Attendu, date: str, message_id: str, relais: str, ip: str, ident: str, charset: str = "utf-8"
) -> list[tuple[str, str]]:
    assert a.adresse is not None
    return [
        ("Return-Path", f"<{a.adresse}>"),
        ("Received", recu(relais, ip, ident, date)),
        ("From", adresse(a.expediteur, a.adresse, charset)),
        ("To", adresse("Mairie de Saint-Aubin-sur-Loire", MAIRIE)),
        ("Subject", mot_encode(a.objet, "Subject", charset)),
        ("Date", date),
        ("Message-ID", message_id),
        ("MIME-Version", "1.0"),
    ]
