"""Le service d'horodatage (RFC 3161, « TSA ») : il signe, à une date qu'il atteste, une empreinte.

La requête et la lecture du jeton passent par `rfc3161-client` (tenu par Trail of Bits, utilisé
par sigstore) ; le transport est un POST HTTP (`application/timestamp-query`, RFC 3161 §3.4)
par httpx. Le jeton reçu est gardé tel quel (DER) : c'est lui, pas notre lecture, qui fait foi.

La vérification d'un jeton demande le certificat racine de l'autorité (un fichier PEM fourni
par l'intégrateur) : sans lui, on sait lire le jeton, pas prouver qui l'a signé.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from cryptography import x509
from rfc3161_client import (
    HashAlgorithm,
    PKIStatus,
    TimestampRequestBuilder,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

from noyau.erreurs import ConnecteurErreur


class ErreurHorodatage(ConnecteurErreur):
    """Le service d'horodatage est injoignable, refuse, ou rend un jeton qui ne tient pas."""


@dataclass(frozen=True)
class Jeton:
    der: bytes  # la réponse TimeStampResp complète, telle que reçue
    horodate_le: datetime  # genTime, en UTC


# Les condensats qu'un jeton peut annoncer (OID de NIST) ; nos demandes sont en sha256.
_CONDENSATS = {
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}


def lire_jeton(der: bytes, donnees: bytes) -> Jeton:
    """Décode un jeton et vérifie qu'il porte bien sur `donnees` (sans juger la signature)."""
    try:
        reponse = decode_timestamp_response(der)
    except (ValueError, TypeError) as e:
        raise ErreurHorodatage("Le jeton d'horodatage est illisible (DER invalide).") from e
    if PKIStatus(reponse.status) not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        raise ErreurHorodatage(
            f"Le service d'horodatage a refusé la demande (statut {reponse.status})."
        )
    info = reponse.tst_info
    algorithme = _CONDENSATS.get(info.message_imprint.hash_algorithm.dotted_string)
    if algorithme is None:
        raise ErreurHorodatage("Le jeton d'horodatage utilise un condensat inconnu.")
    if info.message_imprint.message != hashlib.new(algorithme, donnees).digest():
        raise ErreurHorodatage("Le jeton d'horodatage porte sur une autre empreinte.")
    horodate = info.gen_time
    if horodate.tzinfo is None:
        horodate = horodate.replace(tzinfo=UTC)
    return Jeton(der, horodate.astimezone(UTC))


def charger_racines(chemin: Path) -> list[x509.Certificate]:
    try:
        pem = chemin.read_bytes()
    except OSError as e:
        raise ErreurHorodatage(
            f"Le fichier des certificats de l'autorité d'horodatage ({chemin}) est illisible."
        ) from e
    try:
        certificats = x509.load_pem_x509_certificates(pem)
    except ValueError as e:
        raise ErreurHorodatage(
            f"Le fichier {chemin} ne contient pas de certificat PEM lisible."
        ) from e
    return certificats


def verifier_signature(der: bytes, donnees: bytes, racines: list[x509.Certificate]) -> None:
    """Vérifie que le jeton est signé par une autorité issue de `racines` et porte sur
    `donnees` ; lève ErreurHorodatage sinon."""
    reponse = decode_timestamp_response(der)
    constructeur = VerifierBuilder()
    for racine in racines:
        constructeur = constructeur.add_root_certificate(racine)
    try:
        constructeur.build().verify_message(reponse, donnees)
    except VerificationError as e:
        raise ErreurHorodatage(f"La signature du jeton d'horodatage ne tient pas ({e}).") from e


class ClientHorodatage:
    def __init__(self, url: str, delai_s: float = 30.0) -> None:
        self.url = url
        self.delai_s = delai_s

    def horodater(self, donnees: bytes) -> Jeton:
        requete = TimestampRequestBuilder().data(donnees).hash_algorithm(HashAlgorithm.SHA256)
        requete = requete.nonce(nonce=True)
        requete = requete.cert_request(cert_request=True)
        demande = requete.build()
        try:
            reponse = httpx.post(
                self.url,
                content=demande.as_bytes(),
                headers={"Content-Type": "application/timestamp-query"},
                timeout=self.delai_s,
            )
        except httpx.HTTPError as e:
            raise ErreurHorodatage(
                f"Le service d'horodatage {self.url} ne répond pas ({e.__class__.__name__})."
            ) from e
        if reponse.status_code != 200:
            raise ErreurHorodatage(
                f"Le service d'horodatage {self.url} a répondu {reponse.status_code}."
            )
        jeton = lire_jeton(reponse.content, donnees)
        nonce = decode_timestamp_response(jeton.der).tst_info.nonce
        if nonce != demande.nonce:
            raise ErreurHorodatage("Le jeton d'horodatage ne répond pas à notre demande (nonce).")
        return jeton
