"""Des PDF hostiles pour les tests et les preuves, tirés d'un PDF ordinaire
(`courrier.fabrique_pdf`, fpdf2) : chiffré pour de vrai par pikepdf, multiplié en milliers de
pages par pikepdf, ou abîmé octet par octet. Aucun PDF n'est écrit à la main."""

from __future__ import annotations

import io
import secrets
from typing import Literal

import pikepdf


def chiffre(pdf: bytes, r: Literal[2, 3, 4, 6] = 6) -> bytes:
    """`pdf` chiffré (R 2 : RC4 40 bits ; R 3 : RC4 128 bits ; R 6 : AES-256) avec des mots de
    passe tirés au sort et jetés : personne ne sait l'ouvrir, pas même avec un mot de passe
    vide. Les octets changent d'un appel à l'autre (sels et vecteurs d'initialisation)."""
    proprietaire, utilisateur = secrets.token_hex(16), secrets.token_hex(16)
    # L'AES et le chiffrement à part des métadonnées n'existent qu'à partir de R 4.
    moderne = r >= 4
    chiffrement = pikepdf.Encryption(
        owner=proprietaire, user=utilisateur, R=r, aes=moderne, metadata=moderne
    )
    sortie = io.BytesIO()
    with pikepdf.open(io.BytesIO(pdf)) as document:
        document.save(sortie, encryption=chiffrement)
    return sortie.getvalue()


def premiere_page_repetee(pdf: bytes, pages: int) -> bytes:
    """Un PDF de `pages` pages qui montrent toutes la première page de `pdf` : un seul flux de
    contenu partagé, donc un petit fichier qui annonce beaucoup de pages."""
    sortie = io.BytesIO()
    with pikepdf.open(io.BytesIO(pdf)) as document:
        arbre = document.Root.Pages
        modele = arbre.Kids[0]
        copies = [document.make_indirect(modele.copy()) for _ in range(pages - 1)]
        arbre.Kids = pikepdf.Array([modele, *copies])
        arbre.Count = pages
        document.save(sortie, deterministic_id=True)
    return sortie.getvalue()


def tronque(pdf: bytes, fraction: float = 0.5) -> bytes:
    """Le début du fichier seulement, comme un transfert interrompu."""
    return pdf[: int(len(pdf) * fraction)]
