"""Pseudonymisation : les données personnelles d'un courrier remplacées avant un LLM extérieur.

Noms, adresses électroniques, téléphones, adresses postales, NIR et IBAN deviennent des
marques stables (`[PERSONNE_1]`, `[EMAIL_1]`…) : la même valeur garde la même marque pour tout
le courrier, si bien que la réponse du LLM peut être restaurée mot pour mot. Pur : aucune I/O.

Choix documentés (voir aussi tests/test_pseudonymisation.py) :
- un code postal seul (« 76000 ») n'est pas masqué ; une ligne « 76000 Rouen » l'est, avec la
  ville, parce qu'elle complète une adresse ;
- les dates, montants (« 2 566,80 € »), numéros de dossier courts restent lisibles : le LLM
  en a besoin pour l'échéance et le résumé ;
- un nom n'est reconnu que s'il est connu de l'appelant (nom affiché de l'expéditeur,
  signature), s'il suit une civilité (« Mme Durand ») ou « soussigné(e) », ou s'il signe le
  courrier sous une formule de politesse ; un nom cité nu au milieu d'une phrase passe.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from annotated_types import MaxLen
from pydantic import BaseModel

from connecteurs.reperage_coordonnees import (
    RE_BOITE_POSTALE,
    RE_EMAIL,
    RE_LIEU_DIT,
    RE_NIR,
    RE_TEL,
    RE_VOIE,
    trouver_iban,
    trouver_villes,
    valider_iban,
    valider_nir,
)
from connecteurs.reperage_noms import MOTIFS_DE_NOM, noms_a_chercher, span_nom

# `valider_iban` et `valider_nir` restent importables d'ici, comme avant le découpage.
__all__ = [
    "ADRESSE",
    "EMAIL",
    "GENRES",
    "IBAN",
    "NIR",
    "PERSONNE",
    "TEL",
    "M",
    "Pseudonymiseur",
    "pseudonymiser_par_defaut",
    "valider_iban",
    "valider_nir",
]

# Les genres de marques, dans l'ordre où on les cherche : un IBAN contient des suites de
# chiffres qu'on prendrait sinon pour un téléphone, une adresse électronique contient un nom.
PERSONNE = "PERSONNE"
EMAIL = "EMAIL"
TEL = "TEL"
ADRESSE = "ADRESSE"
NIR = "NIR"
IBAN = "IBAN"
GENRES = (PERSONNE, EMAIL, TEL, ADRESSE, NIR, IBAN)

# Le LLM recopie parfois une marque sans ses crochets : on restaure aussi « PERSONNE_1 ».
_MARQUE = re.compile(r"\[?\b(" + "|".join(GENRES) + r")_(\d+)\b\]?")

_ESPACES = re.compile("[\u00a0\u2007\u202f]")


class Pseudonymiseur:
    """Masque les données personnelles d'un courrier et les restaure dans les réponses.

    Un pseudonymiseur par courrier : les marques ne valent que pour lui. `noms_connus` : les
    noms que l'appelant sait personnels (nom affiché de l'expéditeur, signature) ; `exclus` :
    des mots à ne jamais masquer comme noms (le nom de la commune, celui du maire).
    """

    def __init__(self, noms_connus: Iterable[str] = (), exclus: Iterable[str] = ()) -> None:
        self._marques: dict[str, str] = {}  # valeur -> marque
        self._valeurs: dict[str, str] = {}  # marque -> valeur
        self._compteurs = dict.fromkeys(GENRES, 0)
        self._exclus = {e.strip().casefold() for e in exclus if e.strip()}
        self._noms_connus = noms_a_chercher(noms_connus, self._exclus)

    @property
    def correspondances(self) -> dict[str, str]:
        """Marque -> valeur d'origine (pour les tests et le débogage, jamais pour un journal)."""
        return dict(self._valeurs)

    def masquer(self, texte: str) -> str:
        """Le texte, données personnelles remplacées par leurs marques.

        Les fins de ligne CRLF et les espaces insécables (typographie française, HTML)
        deviennent des sauts de ligne et des espaces simples : le LLM n'y perd rien et les
        motifs n'ont pas à les prévoir tous.
        """
        texte = _ESPACES.sub(" ", texte.replace("\r\n", "\n").replace("\r", "\n"))
        texte = self._remplacer_spans(texte, IBAN, trouver_iban(texte))
        texte = self._remplacer(texte, NIR, RE_NIR)
        texte = self._remplacer(texte, EMAIL, RE_EMAIL)
        texte = self._remplacer(texte, TEL, RE_TEL)
        texte = self._remplacer(texte, ADRESSE, RE_VOIE)
        texte = self._remplacer(texte, ADRESSE, RE_LIEU_DIT)
        texte = self._remplacer(texte, ADRESSE, RE_BOITE_POSTALE)
        texte = self._remplacer_spans(texte, ADRESSE, trouver_villes(texte))
        texte = self._masquer_noms(texte)
        return texte

    def restaurer(self, texte: str) -> str:
        def remplacer(m: re.Match[str]) -> str:
            return self._valeurs.get(f"[{m.group(1)}_{m.group(2)}]", m.group(0))

        return _MARQUE.sub(remplacer, texte)

    def restaurer_modele(self, modele: M) -> M:
        """Restaure chaque chaîne d'un modèle pydantic (une `Analyse`), récursivement.

        Une valeur restaurée peut être plus longue que sa marque : elle est coupée à la
        longueur maximale du champ plutôt que de rendre le modèle invalide.
        """
        return _transformer_modele(modele, self.restaurer)

    # -- interne -----------------------------------------------------------------------------

    def _marque(self, genre: str, valeur: str) -> str:
        marque = self._marques.get(valeur)
        if marque is None:
            self._compteurs[genre] += 1
            marque = f"[{genre}_{self._compteurs[genre]}]"
            self._marques[valeur] = marque
            self._valeurs[marque] = valeur
        return marque

    def _remplacer(self, texte: str, genre: str, motif: re.Pattern[str]) -> str:
        return self._remplacer_spans(texte, genre, [m.span() for m in motif.finditer(texte)])

    def _remplacer_spans(self, texte: str, genre: str, spans: Iterable[tuple[int, int]]) -> str:
        morceaux: list[str] = []
        fin_precedente = 0
        for debut, fin in sorted(spans):
            if debut < fin_precedente:
                continue
            valeur = texte[debut:fin].rstrip(" \t.,")
            fin = debut + len(valeur)
            if not valeur or _MARQUE.fullmatch(valeur):
                continue
            morceaux.append(texte[fin_precedente:debut])
            morceaux.append(self._marque(genre, valeur))
            fin_precedente = fin
        morceaux.append(texte[fin_precedente:])
        return "".join(morceaux)

    def _masquer_noms(self, texte: str) -> str:
        spans: list[tuple[int, int]] = []
        for motif in MOTIFS_DE_NOM:
            for m in motif.finditer(texte):
                debut, fin = span_nom(m.group("nom"), m.start("nom"), self._exclus)
                if debut < fin:
                    spans.append((debut, fin))
        # Un nom trouvé après une civilité est cherché aussi seul ailleurs (« Mme Durand …
        # Durand »), dans ce texte comme dans les suivants du même courrier.
        nouveaux = [texte[d:f] for d, f in spans]
        texte = self._remplacer_spans(texte, PERSONNE, _sans_chevauchement(spans))
        if nouveaux:
            self._noms_connus = noms_a_chercher([*self._noms_connus, *nouveaux], self._exclus)
        # Les noms connus en dernier : « Jean Dupont » entier d'abord, puis « Dupont » seul.
        for nom in self._noms_connus:
            # « _ » sépare aussi : un nom de fichier « CNI_Dupont.pdf » ne doit rien laisser voir.
            motif = re.compile(rf"(?<![^\W_]|[\[-]){re.escape(nom)}(?![^\W_]|[\]-])", re.IGNORECASE)
            spans = [m.span() for m in motif.finditer(texte) if m.group(0)[0].isupper()]
            texte = self._remplacer_spans(texte, PERSONNE, spans)
        return texte


M = TypeVar("M", bound=BaseModel)


def pseudonymiser_par_defaut(url: str) -> bool:
    """Vrai sauf quand le point d'accès est sur cette machine (localhost, 127.0.0.0/8, ::1)."""
    try:
        hote = urlsplit(url).hostname
    except ValueError:
        return True
    if not hote:
        return True
    if hote == "localhost" or hote.endswith(".localhost"):
        return False
    try:
        return not ipaddress.ip_address(hote).is_loopback
    except ValueError:
        return True


# -- fonctions internes ----------------------------------------------------------------------


def _sans_chevauchement(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    gardes: list[tuple[int, int]] = []
    for debut, fin in sorted(spans):
        if gardes and debut < gardes[-1][1]:
            if fin > gardes[-1][1]:
                gardes[-1] = (gardes[-1][0], fin)
            continue
        gardes.append((debut, fin))
    return gardes


def _longueur_max(info: Any) -> int | None:
    for contrainte in getattr(info, "metadata", ()):
        if isinstance(contrainte, MaxLen):
            return int(contrainte.max_length)
    return None


def _transformer_valeur(valeur: Any, f: Callable[[str], str]) -> Any:
    # `type(...) is str` : une StrEnum (Alerte, Urgence) est une str mais ne se restaure pas.
    if type(valeur) is str:
        return f(valeur)
    if isinstance(valeur, BaseModel):
        return _transformer_modele(valeur, f)
    if isinstance(valeur, list):
        return [_transformer_valeur(v, f) for v in valeur]
    if isinstance(valeur, tuple):
        return tuple(_transformer_valeur(v, f) for v in valeur)
    if isinstance(valeur, dict):
        return {k: _transformer_valeur(v, f) for k, v in valeur.items()}
    return valeur


def _transformer_modele(modele: M, f: Callable[[str], str]) -> M:
    changements: dict[str, Any] = {}
    for nom, info in type(modele).model_fields.items():
        valeur = getattr(modele, nom)
        nouvelle = _transformer_valeur(valeur, f)
        if type(nouvelle) is str and (maxi := _longueur_max(info)) is not None:
            nouvelle = nouvelle[:maxi]
        if nouvelle is not valeur and nouvelle != valeur:
            changements[nom] = nouvelle
    return modele.model_copy(update=changements) if changements else modele
