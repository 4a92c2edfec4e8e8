"""Confiance OCR page par page : mise en JSON pour le registre, et le signalement
« lecture à vérifier » quand une page lue est sous le seuil réglé.

Le seuil s'applique à l'affichage (file, page du courrier, digest) et non à l'extraction :
changer `COURRIER_OCR_SEUIL_CONFIANCE` vaut aussi pour les courriers déjà lus.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from noyau.domaine import PageOCR

LIBELLE = "lecture à vérifier"
SEUIL_PAR_DEFAUT = 60.0  # le défaut de COURRIER_OCR_SEUIL_CONFIANCE (courrier/config.py)


def pages_en_json(pages: Sequence[PageOCR]) -> str:
    if not pages:
        return ""
    return json.dumps(
        [
            {"page": p.numero, "confiance": p.confiance, "angle": p.angle, "mots": p.mots}
            for p in pages
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def pages_depuis_json(texte: str | None) -> list[PageOCR]:
    """Jamais d'exception : une colonne abîmée se lit comme « aucune page OCR »."""
    if not texte:
        return []
    try:
        donnees = json.loads(texte)
        return [
            PageOCR(
                numero=int(d["page"]),
                confiance=None if d.get("confiance") is None else float(d["confiance"]),
                angle=float(d.get("angle") or 0.0),
                mots=int(d.get("mots") or 0),
            )
            for d in donnees
        ]
    except (ValueError, TypeError, KeyError, AttributeError):
        return []


def _liste(numeros: Sequence[int]) -> str:
    if len(numeros) == 1:
        return f"page {numeros[0]}"
    return "pages " + ", ".join(str(n) for n in numeros)


def signalement(
    pages_courrier: str | None, pieces: Iterable[tuple[str, str | None]], seuil: float
) -> str:
    """« lecture à vérifier (page 2 ; pièce scan.pdf : page 1) », ou "" si tout est au-dessus
    du seuil. `pieces` : (nom, pages_ocr en JSON) de chaque pièce jointe."""
    morceaux = []
    basses = [p.numero for p in pages_depuis_json(pages_courrier) if p.a_verifier(seuil)]
    if basses:
        morceaux.append(_liste(basses))
    for nom, pages in pieces:
        basses = [p.numero for p in pages_depuis_json(pages) if p.a_verifier(seuil)]
        if basses:
            morceaux.append(f"pièce {nom} : {_liste(basses)}")
    if not morceaux:
        return ""
    return f"{LIBELLE} ({' ; '.join(morceaux)})"


def signalement_du_courrier(courrier: object, seuil: float) -> str:
    """`signalement` d'une ligne du registre (attributs `pages_ocr` et `pieces`), sans
    importer le modèle ORM ici."""
    pieces = [(str(p.nom), p.pages_ocr) for p in getattr(courrier, "pieces", ()) or ()]
    return signalement(getattr(courrier, "pages_ocr", ""), pieces, seuil)


def description(page: PageOCR, seuil: float) -> str:
    """« page 2 : confiance 54 %, redressée de 3,5° — à vérifier » pour `courrier montrer`."""
    if page.confiance is None or not page.mots:
        texte = f"page {page.numero} : aucun mot reconnu"
    else:
        texte = f"page {page.numero} : confiance {page.confiance:.0f} %"
    if page.angle:
        texte += f", redressée de {page.angle:.1f}°".replace(".", ",")
    if page.a_verifier(seuil):
        texte += " — à vérifier"
    return texte
