"""Le rendu du digest : texte et HTML par deux gabarits Jinja2, puis le courriel
(`composer_message`) avec le graphique joint et désigné par `cid:`."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import jinja2

from courrier.digest_donnees import Digest
from courrier.digest_libelles import pluriel
from noyau.calendrier import PARIS

GABARITS = Path(__file__).resolve().parent / "gabarits"


def _environnement() -> jinja2.Environment:
    # Échappement HTML pour le seul gabarit HTML : objets, noms et résumés viennent du dehors.
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(GABARITS), encoding="utf-8"),
        autoescape=lambda nom: bool(nom and nom.endswith(".html.j2")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["pluriel"] = pluriel
    return env


_ENV = _environnement()


def rendre_texte(d: Digest) -> str:
    texte = _ENV.get_template("digest.txt.j2").render(d=d)
    lignes = [ligne.rstrip() for ligne in texte.splitlines()]
    # Les blocs conditionnels laissent des lignes vides en série : une seule suffit.
    propre: list[str] = []
    for ligne in lignes:
        if ligne or (propre and propre[-1]):
            propre.append(ligne)
    return "\n".join(propre).strip() + "\n"


def rendre_html(d: Digest, image: str | None = None) -> str:
    """`image` : la source du graphique (`cid:…` dans un courriel, `data:` dans un fichier)."""
    return _ENV.get_template("digest.html.j2").render(d=d, image=image)


def image_en_ligne(png: bytes) -> str:
    """Le graphique dans le HTML lui-même, pour un fichier ouvert dans un navigateur."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def identifiant(prefixe: str, domaine: str) -> str:
    """Un Message-ID court : un en-tête replié sur deux lignes gêne certains logiciels."""
    return f"<{prefixe}.{secrets.token_hex(8)}@{domaine}>"


def composer_message(
    d: Digest,
    expediteur: str,
    destinataires: Sequence[str],
    graphique_png: bytes | None,
    *,
    maintenant: datetime | None = None,
) -> EmailMessage:
    """multipart/alternative : texte, puis HTML (en multipart/related avec le graphique)."""
    domaine = expediteur.rpartition("@")[2] or "localhost"
    message = EmailMessage()
    message["Subject"] = d.objet
    message["From"] = Address(display_name=f"Courrier – {d.mairie}", addr_spec=expediteur)
    message["To"] = ", ".join(destinataires)
    message["Date"] = format_datetime((maintenant or datetime.now(UTC)).astimezone(PARIS))
    message["Message-ID"] = identifiant(f"digest.{d.jour:%Y%m%d}", domaine)
    message["Content-Language"] = "fr"
    # Les répondeurs automatiques (absences, Outlook) ne répondent pas à un envoi automatique.
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"

    cid = identifiant("graphique", domaine) if graphique_png else None
    message.set_content(rendre_texte(d), subtype="plain", cte="quoted-printable")
    message.add_alternative(
        rendre_html(d, f"cid:{cid[1:-1]}" if cid else None),
        subtype="html",
        cte="quoted-printable",
    )
    if graphique_png and cid:
        partie_html = next(p for p in message.iter_parts() if p.get_content_subtype() == "html")
        partie_html.add_related(
            graphique_png,
            maintype="image",
            subtype="png",
            cid=cid,
            disposition="inline",
            filename="volume-30-jours.png",
        )
    return message
