"""Le lot de scans d'une nuit d'essai : trois lettres et leurs feuilles séparatrices en un PDF.

La feuille vient de `connecteurs.lots.pdf_separateur` (celle que `courrier separateur` écrit), les
lettres ont une couche texte (pas d'OCR : c'est le découpage que le banc met à l'épreuve). Les
mêmes octets à chaque essai d'une campagne ; les lettres qu'en tire le découpage aussi
(pikepdf), si bien qu'on les reconnaît à leur sha256 au registre.
"""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime
from functools import cache

NOM_LOT = "pile-du-copieur.pdf"
_LETTRES = [
    "Madame le Maire, je demande une copie de mon acte de naissance. Salutations.",
    "Monsieur le Maire, le lampadaire de la rue des Tilleuls est en panne depuis lundi.",
    "Bonjour, l'association des parents souhaite réserver la salle des fêtes le 12 juin.",
]


@cache
def lot() -> bytes:
    """Séparatrice, lettre, séparatrice, lettre, séparatrice, lettre, séparatrice.

    Assemblé par pikepdf, sans date ni identifiant au hasard : les essais menés en parallèle
    (fils du même processus) fabriquent tous les mêmes octets."""
    import pikepdf
    from fpdf import FPDF

    from connecteurs.lots import pdf_separateur

    separateur = pikepdf.open(io.BytesIO(pdf_separateur()))
    with pikepdf.new() as document:
        document.pages.append(separateur.pages[0])
        for texte in _LETTRES:
            pdf = FPDF(format="A4")
            pdf.set_creation_date(datetime(2026, 11, 19, tzinfo=UTC))
            pdf.core_fonts_encoding = "windows-1252"
            pdf.add_page()
            pdf.set_font("Helvetica", size=14)
            pdf.multi_cell(0, 10, texte)
            lettre = pikepdf.open(io.BytesIO(bytes(pdf.output())))
            document.pages.append(lettre.pages[0])
            document.pages.append(separateur.pages[0])
        tampon = io.BytesIO()
        document.save(tampon, deterministic_id=True)
    return tampon.getvalue()


@cache
def empreintes_des_lettres() -> tuple[str, ...]:
    from connecteurs.lots import decouper

    decoupage = decouper(lot())
    assert decoupage is not None and len(decoupage.lettres) == len(_LETTRES)
    return tuple(hashlib.sha256(lettre.contenu).hexdigest() for lettre in decoupage.lettres)


def lettres() -> int:
    return len(_LETTRES)
