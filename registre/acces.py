"""Le droit d'accès (RGPD, art. 15) : tout ce que le registre garde d'une personne, en une page
HTML autonome, lisible dans n'importe quel navigateur et imprimable.

Une personne est cherchée par son adresse électronique (égalité, sans la casse) ou par son nom
(contenu dans l'expéditeur, sans accents ni casse). Le texte vient du registre : il est échappé
(jamais de HTML d'un courrier rendu tel quel).
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from pathlib import Path

import jinja2

from noyau.calendrier import PARIS
from noyau.erreurs import CourrierErreur, raison_systeme
from noyau.fiches import FicheCourrier, FicheEvenement
from registre.registre import Registre

GABARITS = Path(__file__).resolve().parents[1] / "courrier" / "gabarits"


def _simple(texte: str) -> str:
    decompose = unicodedata.normalize("NFKD", texte or "")
    return "".join(c for c in decompose if not unicodedata.combining(c)).casefold().strip()


def courriers_de(registre: Registre, personne: str) -> list[FicheCourrier]:
    cle = _simple(personne)
    if len(cle) < 3:
        raise CourrierErreur(
            "Indiquez l'adresse électronique ou le nom de la personne (3 lettres au moins)."
        )
    if "@" in cle:
        return [c for c in registre.courriers() if _simple(c.expediteur_adresse) == cle]
    return [c for c in registre.courriers() if cle in _simple(c.expediteur)]


def ecrire_acces(
    registre: Registre, personne: str, commune: str, sortie: Path
) -> list[FicheCourrier]:
    courriers = courriers_de(registre, personne)
    numeros = {c.numero for c in courriers}
    evenements: dict[str, list[FicheEvenement]] = {n: [] for n in numeros}
    for ev in registre.evenements():
        if ev.numero in numeros:
            evenements[ev.numero].append(ev)

    def heure(moment: datetime | None) -> str:
        return moment.astimezone(PARIS).strftime("%d/%m/%Y %H:%M") if moment else ""

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(GABARITS), autoescape=True, undefined=jinja2.StrictUndefined
    )
    page = env.get_template("acces.html.j2").render(
        personne=personne,
        commune=commune,
        edite_le=heure(registre.horloge()),
        courriers=courriers,
        evenements=evenements,
        heure=heure,
    )
    try:
        sortie.write_text(page, encoding="utf-8")
    except OSError as e:
        raise CourrierErreur(f"Impossible d'écrire {sortie} : {raison_systeme(e)}.") from e
    return courriers
