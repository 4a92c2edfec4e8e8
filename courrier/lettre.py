"""La réponse papier : la lettre validée, mise en page en PDF A4 pour une enveloppe à fenêtre.

Pour un courrier arrivé scanné (ou sur demande), la secrétaire imprime la réponse, la plie en
trois et la glisse dans une enveloppe DL ou C5/6 à fenêtre à droite : l'adresse du destinataire
doit tomber dans la fenêtre. En-tête de la mairie, bloc adresse, lieu et date, références,
objet, corps, signature ; pages numérotées « Page 1/2 » quand la lettre déborde.

Les textes viennent de l'extérieur (analyse, brouillon relu) : caractères de contrôle retirés,
caractères absents de la police remplacés, rien ne déborde de la page ni de la fenêtre, et
rien ne fait échouer la mise en page.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Protocol

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos

from courrier.brouillons import mairie_de
from courrier.brouillons import signature as signature_commune
from noyau.analyse import Analyse, Commune
from noyau.calendrier import date_en_lettres

# Paquet Debian fonts-dejavu-core, installé par deploiement/installer-paquets.sh.
POLICES = Path("/usr/share/fonts/truetype/dejavu")
POLICE = "DejaVuSans.ttf"
POLICE_GRASSE = "DejaVuSans-Bold.ttf"

MM_EN_POINTS = 72 / 25.4
A_COMPLETER = "[adresse à compléter]"
LIGNES_ADRESSE = 6  # XP Z10-011 : six lignes au plus (38 caractères chacune)
TAILLE_MAX_CORPS = 200_000  # au-delà, plus une lettre : la mise en page resterait trop longue


@dataclass(frozen=True)
class Rectangle:
    """Un rectangle sur la page A4, en millimètres depuis le coin haut gauche."""

    x: float
    y: float
    largeur: float
    hauteur: float

    @property
    def droite(self) -> float:
        return self.x + self.largeur

    @property
    def bas(self) -> float:
        return self.y + self.hauteur

    def en_points(self) -> tuple[float, float, float, float]:
        """(x0, haut, x1, bas) en points PDF, origine en haut à gauche comme pdfplumber."""
        return (
            self.x * MM_EN_POINTS,
            self.y * MM_EN_POINTS,
            self.droite * MM_EN_POINTS,
            self.bas * MM_EN_POINTS,
        )


# La fenêtre, reportée sur la feuille A4 pliée en trois (volets de 99 mm).
# Enveloppes DL (110 × 220 mm) et C5/6 (114 × 229 mm) « fenêtre à droite » vendues en France :
# fenêtre de 100 × 45 mm à 20 mm du bord droit et 15 mm du bord bas de l'enveloppe, soit,
# une fois la feuille glissée (elle joue de quelques millimètres), la bande de 100 à 200 mm
# depuis le bord gauche de la feuille et de 45 à 90 mm depuis son bord haut. L'adresse est
# imprimée en retrait dans cette fenêtre, dans le cadre de 85 × 33 mm à 110 mm du bord gauche
# et 55 mm du bord haut que recommandent les routeurs de courrier (edics.fr, « Rédiger vos
# adresses : les bonnes pratiques », d'après les règles de La Poste) : 5 à 10 mm de jeu de
# chaque côté, la feuille peut glisser sans que l'adresse sorte de la fenêtre. Six lignes de
# 10 pt (la norme postale admet 9 à 12 pt) tiennent dans les 33 mm.
FENETRE = Rectangle(x=100, y=45, largeur=100, hauteur=45)
ZONE_ADRESSE = Rectangle(x=110, y=55, largeur=85, hauteur=33)

MARGE_GAUCHE = 20.0
MARGE_DROITE = 20.0
MARGE_HAUT = 20.0
MARGE_BAS = 22.0
LARGEUR_EN_TETE = 75.0  # l'en-tête reste à gauche de la fenêtre
PLIS = (99.0, 198.0)  # pli en trois d'une feuille de 297 mm

TAILLE_ADRESSE = 10.0
INTERLIGNE_ADRESSE = ZONE_ADRESSE.hauteur / LIGNES_ADRESSE
TAILLE_CORPS = 11.0
INTERLIGNE_CORPS = 5.4

_FAMILLE_DEJAVU = "DejaVu"
_FAMILLE_REPLI = "Helvetica"
# Les polices de base du PDF ne connaissent que cet encodage ; il a « œ », « € », « ’ », « … ».
_ENCODAGE_REPLI = "windows-1252"
_A_LA_LIGNE: dict[str, Any] = {"new_x": XPos.LMARGIN, "new_y": YPos.NEXT}
_SAUTS = {"\r\n": "\n", "\r": "\n", "\u2028": "\n", "\u2029": "\n\n", "\t": " "}


class LigneRegistre(Protocol):
    """Ce qu'`adresse_postale` lit d'une ligne du registre (registre.tables.Courrier)."""

    expediteur: str
    analyse: str


# ---------------------------------------------------------------------------------------------
# Nettoyage des textes venus d'ailleurs


def _nettoyer(texte: str) -> str:
    """Sans caractères de contrôle, de format (bidi, largeur nulle), privés ni orphelins."""
    for avant, apres in _SAUTS.items():
        texte = texte.replace(avant, apres)
    texte = unicodedata.normalize("NFC", texte)
    return "".join(
        c for c in texte if c == "\n" or unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co")
    )


def _une_ligne(texte: str, longueur: int = 300) -> str:
    propre = " ".join(_nettoyer(texte).split())
    return propre if len(propre) <= longueur else propre[: longueur - 1].rstrip() + "…"


def _lignes(texte: str) -> list[str]:
    return [ligne for ligne in (" ".join(x.split()) for x in _nettoyer(texte).split("\n")) if ligne]


# ---------------------------------------------------------------------------------------------
# Le document


class _Lettre(FPDF):
    """Une feuille A4 qui sait numéroter ses pages et écrire ce que sa police sait tracer."""

    def __init__(self, polices: Path, suite: str, total_pages: int | None) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.suite = suite
        self.total_pages = total_pages
        regular, grasse = polices / POLICE, polices / POLICE_GRASSE
        self.unicode = regular.is_file() and grasse.is_file()
        if self.unicode:
            self.add_font(_FAMILLE_DEJAVU, "", str(regular))
            self.add_font(_FAMILLE_DEJAVU, "B", str(grasse))
        else:
            self.core_fonts_encoding = _ENCODAGE_REPLI
        self.famille = _FAMILLE_DEJAVU if self.unicode else _FAMILLE_REPLI
        self.set_margins(MARGE_GAUCHE, MARGE_HAUT, MARGE_DROITE)
        self.c_margin = 0  # le texte commence au bord de sa zone, et `couper` mesure juste
        self.set_auto_page_break(True, margin=MARGE_BAS)

    def police(self, taille: float, grasse: bool = False) -> None:
        self.set_font(self.famille, "B" if grasse else "", taille)

    def _tracable(self, c: str) -> bool:
        if self.unicode:
            glyphes: dict[int, int] = getattr(self.current_font, "cmap", {})  # police TTF
            return ord(c) in glyphes
        try:
            c.encode(_ENCODAGE_REPLI)
        except UnicodeEncodeError:
            return False
        return True

    def lisible(self, texte: str) -> str:
        """Le texte, chaque caractère que la police ne sait pas tracer remplacé ou retiré."""
        sortie = []
        for c in texte:
            if c in "\n " or self._tracable(c):
                sortie.append(c)
                continue
            if unicodedata.combining(c) or unicodedata.category(c) == "Mn":
                continue  # accent isolé, sélecteur de variante d'un émoji
            decompose = unicodedata.normalize("NFKD", c)
            base = "".join(x for x in decompose if not unicodedata.combining(x))
            if base and base != c and all(self._tracable(x) for x in base):
                sortie.append(base)  # « ﬁ » → « fi », espace fine → espace, « ŀ » → « l·»…
            else:
                sortie.append("?")
        return "".join(sortie)

    def couper(self, texte: str, largeur: float, limite: int) -> list[str]:
        """Le texte en lignes d'au plus `largeur` mm ; un mot trop long est coupé où il faut."""
        lignes: list[str] = []
        courante = ""
        for mot in texte.split():
            essai = f"{courante} {mot}" if courante else mot
            if self.get_string_width(essai) <= largeur:
                courante = essai
                continue
            if courante:
                lignes.append(courante)
            while self.get_string_width(mot) > largeur and len(lignes) <= limite:
                n = self._tient(mot, largeur)
                lignes.append(mot[:n])
                mot = mot[n:]
            courante = mot
            if len(lignes) > limite:
                return lignes
        if courante:
            lignes.append(courante)
        return lignes

    def _tient(self, mot: str, largeur: float) -> int:
        """Le nombre de premiers caractères de `mot` qui tiennent dans `largeur` (au moins 1)."""
        bas, haut = 1, len(mot)
        while bas < haut:
            milieu = (bas + haut + 1) // 2
            if self.get_string_width(mot[:milieu]) <= largeur:
                bas = milieu
            else:
                haut = milieu - 1
        return bas

    def tronquer(self, ligne: str, largeur: float) -> str:
        """La ligne terminée par « … », raccourcie pour tenir dans `largeur` mm."""
        ligne = ligne[:200].rstrip()
        while ligne and self.get_string_width(ligne + "…") > largeur:
            ligne = ligne[:-1].rstrip()
        return ligne + "…"

    def header(self) -> None:
        if self.page_no() > 1 and self.suite:
            self.police(8)
            self.set_text_color(90, 90, 90)
            self.set_xy(MARGE_GAUCHE, 10)
            self.cell(self.epw, 4, self.lisible(self.suite))
            self.set_text_color(0, 0, 0)
            self.set_xy(MARGE_GAUCHE, MARGE_HAUT)

    def footer(self) -> None:
        if self.page_no() == 1:
            self._marques_de_pli()
        if self.total_pages and self.total_pages > 1:
            self.police(8)
            self.set_text_color(90, 90, 90)
            self.set_xy(MARGE_GAUCHE, -14)
            self.cell(self.epw, 4, f"Page {self.page_no()}/{self.total_pages}", align=Align.C)
            self.set_text_color(0, 0, 0)

    def _marques_de_pli(self) -> None:
        self.set_draw_color(150, 150, 150)
        self.set_line_width(0.2)
        for y in PLIS:
            self.line(4, y, 8, y)
        self.set_draw_color(0, 0, 0)


def _signature(commune: Commune, signataire: str) -> list[str]:
    """Le signataire donné, sinon celui des brouillons de la commune (les mêmes lignes : la
    signature recopiée à la fin d'un brouillon se reconnaît, voir `decouper_brouillon`)."""
    choisi = _lignes(signataire) or [_une_ligne(ligne) for ligne in signature_commune(commune)]
    return choisi[:6]


def _en_tete(pdf: _Lettre, commune: Commune) -> None:
    largeur = LARGEUR_EN_TETE
    lignes: list[tuple[str, float, bool]] = [(_une_ligne(commune.nom, 120) or "Commune", 12, True)]
    lignes.append((mairie_de(commune.nom), 10, False))
    lignes += [(ligne, 9, False) for ligne in _lignes(commune.adresse)[:4]]
    if tel := _une_ligne(commune.telephone, 60):
        lignes.append((f"Tél. : {tel}", 9, False))
    if email := _une_ligne(commune.email, 120):
        lignes.append((f"Courriel : {email}", 9, False))
    y = 15.0
    for texte, taille, grasse in lignes:
        pdf.police(taille, grasse)
        for morceau in pdf.couper(pdf.lisible(texte), largeur, 2)[:2]:
            pdf.set_xy(MARGE_GAUCHE, y)
            pdf.cell(largeur, taille * 0.45, morceau)
            y += taille * 0.45
        if y > FENETRE.bas - 5:  # l'en-tête ne descend pas jusqu'à la date
            break


def _bloc_adresse(pdf: _Lettre, destinataire: str) -> None:
    pdf.police(TAILLE_ADRESSE)
    largeur = ZONE_ADRESSE.largeur
    lignes: list[str] = []
    for ligne in _lignes(destinataire)[: LIGNES_ADRESSE + 1]:
        lignes += pdf.couper(pdf.lisible(ligne[:500]), largeur, LIGNES_ADRESSE)
        if len(lignes) > LIGNES_ADRESSE:
            break
    if len(lignes) > LIGNES_ADRESSE:
        lignes = [*lignes[: LIGNES_ADRESSE - 1], pdf.tronquer(lignes[LIGNES_ADRESSE - 1], largeur)]
    if not lignes:
        pdf.set_text_color(180, 0, 0)  # la secrétaire doit le voir avant d'imprimer
        lignes = [pdf.lisible(A_COMPLETER)]
    for rang, ligne in enumerate(lignes):
        pdf.set_xy(ZONE_ADRESSE.x, ZONE_ADRESSE.y + rang * INTERLIGNE_ADRESSE)
        pdf.cell(largeur, INTERLIGNE_ADRESSE, ligne)
    pdf.set_text_color(0, 0, 0)


def _rendre(
    commune: Commune,
    destinataire: str,
    objet: str,
    corps: str,
    le: date,
    reference: str,
    signataire: str,
    polices: Path,
    total_pages: int | None,
) -> _Lettre:
    mairie = mairie_de(commune.nom)
    objet_propre = _une_ligne(objet, 300)
    date_lettre = date_en_lettres(le)
    pdf = _Lettre(polices, f"{mairie} — lettre du {date_lettre} (suite)", total_pages)
    pdf.set_title(objet_propre or "Lettre")
    pdf.set_author(mairie)
    pdf.set_creator("Courrier")
    pdf.set_lang("fr-FR")
    # La date de la lettre, pas l'heure de l'impression : mêmes entrées, mêmes octets.
    pdf.set_creation_date(datetime(le.year, le.month, le.day, tzinfo=UTC))
    pdf.add_page()

    _en_tete(pdf, commune)
    _bloc_adresse(pdf, destinataire)

    pdf.police(TAILLE_CORPS)
    lieu = _une_ligne(commune.nom, 120) or "Commune"
    pdf.set_xy(MARGE_GAUCHE, FENETRE.bas + 10)  # sous la fenêtre : jamais visible au travers
    pdf.multi_cell(
        pdf.epw,
        INTERLIGNE_CORPS,
        pdf.lisible(f"À {lieu}, le {date_lettre}"),
        align=Align.R,
        **_A_LA_LIGNE,
    )

    pdf.set_y(pdf.get_y() + 6)
    if ref := _une_ligne(reference, 120):
        pdf.multi_cell(
            pdf.epw,
            INTERLIGNE_CORPS,
            pdf.lisible(f"Nos réf. : {ref}"),
            align=Align.L,
            **_A_LA_LIGNE,
        )
    pdf.police(TAILLE_CORPS, grasse=True)
    pdf.multi_cell(
        pdf.epw,
        INTERLIGNE_CORPS,
        pdf.lisible(f"Objet : {objet_propre}"),
        align=Align.L,
        **_A_LA_LIGNE,
    )

    pdf.police(TAILLE_CORPS)
    pdf.set_y(pdf.get_y() + 8)
    texte = _nettoyer(corps[:TAILLE_MAX_CORPS]).strip("\n")
    for paragraphe in texte.split("\n"):
        if not paragraphe.strip():
            pdf.ln(INTERLIGNE_CORPS * 0.6)
            continue
        pdf.multi_cell(
            pdf.epw,
            INTERLIGNE_CORPS,
            pdf.lisible(paragraphe.rstrip()),
            align=Align.J,
            **_A_LA_LIGNE,
        )

    signature = [pdf.lisible(ligne) for ligne in _signature(commune, signataire)]
    hauteur = 12 + len(signature) * INTERLIGNE_CORPS
    if pdf.get_y() + hauteur > pdf.h - MARGE_BAS:
        pdf.add_page()  # la signature ne part jamais seule sur une page… ni coupée en deux
    pdf.set_y(pdf.get_y() + 12)
    for ligne in signature:
        pdf.set_x(ZONE_ADRESSE.x)
        pdf.multi_cell(
            pdf.w - MARGE_DROITE - ZONE_ADRESSE.x,
            INTERLIGNE_CORPS,
            ligne,
            align=Align.L,
            **_A_LA_LIGNE,
        )
    return pdf


def composer_lettre(
    commune: Commune,
    destinataire: str,
    objet: str,
    corps: str,
    *,
    le: date,
    reference: str = "",
    signataire: str = "",
    polices: Path = POLICES,
) -> bytes:
    """La lettre en PDF A4, prête à imprimer et à glisser dans une enveloppe à fenêtre.

    `destinataire` : nom et adresse postale, une ligne par saut. Vide, la fenêtre porte
    « [adresse à compléter] ». Sans les polices DejaVu, la lettre sort en Helvetica.
    """
    args = (commune, destinataire, objet, corps, le, reference, signataire, polices)
    brouillon = _rendre(*args, total_pages=None)
    total = brouillon.page_no()
    # Le pied de page ne change pas la mise en page : le second rendu a le même nombre de pages.
    pdf = _rendre(*args, total_pages=total) if total > 1 else brouillon
    return bytes(pdf.output())


def decouper_brouillon(texte: str, commune: Commune) -> tuple[str, str]:
    """(objet, corps) d'un brouillon écrit comme une lettre complète (regles/gabarits/_lettre).

    Les gabarits mettent en tête, date, adresse, « Objet : » et références dans le texte ; la
    lettre PDF les place elle-même (l'adresse dans la fenêtre) : on ne garde que ce qui suit
    les références, sans la signature finale, que la lettre ajoute aussi. Un texte sans
    « Objet : » en tête (réécrit à la main) est gardé entier.
    """
    lignes = _nettoyer(texte).splitlines()
    objet = ""
    debut = 0
    for rang, ligne in enumerate(lignes[:40]):
        trouve = re.match(r"\s*Objet\s*:\s*(.*)", ligne)
        if trouve:
            objet = trouve.group(1).strip()
            debut = rang + 1
            while debut < len(lignes) and (
                not lignes[debut].strip()
                or re.match(r"\s*(Réf\.|Nos réf|Vos réf|Dossier suivi par)", lignes[debut])
            ):
                debut += 1
            break
    corps = lignes[debut:]
    while corps and not corps[-1].strip():
        corps.pop()
    # La signature finale (entière, ou son début : « Le Maire » tapé à la main) : la lettre
    # ajoute la sienne.
    signature = [_signe(ligne) for ligne in _signature(commune, "")]
    for k in range(len(signature), 0, -1):
        if len(corps) >= k and [_signe(ligne) for ligne in corps[-k:]] == signature[:k]:
            corps = corps[:-k]
            break
    return objet, "\n".join(corps).strip()


def _signe(ligne: str) -> str:
    return ligne.strip().rstrip(",.;").strip().casefold()


# ---------------------------------------------------------------------------------------------
# Depuis le registre


def _nom_de(entete: str) -> str:
    """Le nom d'un en-tête From (« Jean Dupont <j@x.example> ») ou le nom saisi pour un scan."""
    entete = _une_ligne(entete, 200)
    if "<" in entete or "@" in entete:
        return _une_ligne(parseaddr(entete)[0], 200)
    return entete


def _cle(texte: str) -> str:
    decompose = unicodedata.normalize("NFKD", texte.casefold())
    return " ".join("".join(c for c in decompose if not unicodedata.combining(c)).split())


def adresse_postale(courrier: LigneRegistre) -> str:
    """Le bloc adresse d'une ligne du registre : nom, puis adresse postale lue par l'analyse.

    Vide quand l'analyse ne connaît pas d'adresse postale (un nom seul n'en est pas une).
    """
    try:
        analyse = Analyse.model_validate(json.loads(courrier.analyse or "null"))
    except ValueError:  # JSON illisible ou hors du modèle : pas d'adresse sûre
        return ""
    adresse = _lignes(analyse.expediteur.adresse)
    if not adresse:
        return ""
    nom = _une_ligne(analyse.expediteur.nom, 200) or _nom_de(courrier.expediteur or "")
    if nom and _cle(adresse[0]) != _cle(nom):
        adresse.insert(0, nom)
    return "\n".join(adresse)
