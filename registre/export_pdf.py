"""Le registre annuel imprimable : PDF/A-2B (fpdf2), A4 paysage, paginé, avec la preuve.

Une ligne par courrier de l'année (numéro, dates, canal, expéditeur, objet, catégorie, suite
donnée), les en-têtes de colonnes répétés à chaque page, « page n / N » en pied de page. La
dernière page porte la preuve : l'empreinte de tête du journal au moment de l'export et, s'il y
en a, le dernier jeton d'horodatage RFC 3161 qui couvre la chaîne (date, autorité, empreinte du
jeton), pour qu'un registre imprimé puisse être rapproché du registre électronique.

PDF/A-2B : fpdf2 incorpore les polices (DejaVu, paquet fonts-dejavu-core), ajoute le profil de
couleur sRGB et les métadonnées XMP ; il refuse ce que la norme interdit (polices non
incorporées, chiffrement). Aucun validateur tiers (veraPDF) ne s'installe ici : la conformité
repose sur fpdf2, et les tests relisent le fichier (pdfplumber) et le regardent en image.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from noyau.calendrier import PARIS
from noyau.erreurs import CourrierErreur, raison_systeme
from noyau.fiches import FicheCourrier
from registre.tables import Courrier

POLICES = Path("/usr/share/fonts/truetype/dejavu")  # comme la lettre (courrier/lettre.py)
LIBELLES_STATUT = {
    "enregistre": "enregistré",
    "extrait": "lu",
    "analyse": "analysé",
    "repondu": "répondu",
    "erreur": "en erreur",
}
# (titre, largeur en mm) ; la page A4 paysage offre 277 mm entre les marges.
COLONNES = (
    ("N°", 24),
    ("Reçu le", 26),
    ("Enregistré le", 26),
    ("Canal", 16),
    ("Expéditeur", 58),
    ("Objet", 75),
    ("Catégorie", 26),
    ("Suite", 26),
)


@dataclass(frozen=True)
class Preuve:
    """Ce que la dernière page imprime pour rattacher le papier au registre électronique."""

    dernier_evenement: int
    tete: str
    ancre: str = ""  # la phrase de la dernière ancre RFC 3161 qui tient, ou vide
    jeton: bytes = b""  # son jeton (DER), imprimé en base64


def _jour(moment: datetime | None) -> str:
    return moment.astimezone(PARIS).strftime("%d/%m/%Y %H:%M") if moment else ""


def _court(texte: str, taille: int) -> str:
    texte = " ".join((texte or "").split())
    return texte if len(texte) <= taille else texte[: taille - 1] + "…"


class _Registre(FPDF):
    def __init__(self, titre: str, tete: str) -> None:
        super().__init__(orientation="L", format="A4", enforce_compliance="PDF/A-2B")
        self.titre_page = titre
        self.tete = tete
        self.add_font("DejaVu", "", str(POLICES / "DejaVuSans.ttf"))
        self.add_font("DejaVu", "B", str(POLICES / "DejaVuSans-Bold.ttf"))
        self.set_auto_page_break(auto=True, margin=15)
        self.set_margins(10, 12, 10)
        self.alias_nb_pages()

    def header(self) -> None:
        self.set_font("DejaVu", "B", 11)
        self.cell(0, 7, self.titre_page, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)

    def footer(self) -> None:
        self.set_y(-11)
        self.set_font("DejaVu", "", 7)
        self.cell(0, 5, f"Empreinte de tête : {self.tete}", new_x=XPos.RIGHT)
        self.set_x(self.l_margin)
        self.cell(0, 5, f"page {self.page_no()} / {{nb}}", align="R")


def exporter_pdf(
    courriers: Sequence[Courrier | FicheCourrier],
    sortie: Path,
    commune: str,
    annee: int,
    preuve: Preuve,
    edite_le: datetime,
) -> int:
    """Écrit le registre de `annee` ; rend le nombre de lignes."""
    de_l_annee = [c for c in courriers if c.annee == annee]
    pdf = _Registre(f"Registre du courrier arrivé — {commune} — année {annee}", preuve.tete)
    pdf.set_title(f"Registre du courrier arrivé {annee} — {commune}")
    pdf.set_author(commune)
    pdf.set_creator("Courrier")
    pdf.set_lang("fr-FR")
    pdf.set_creation_date(edite_le)
    pdf.add_page()
    pdf.set_font("DejaVu", "", 7.5)
    with pdf.table(
        col_widths=tuple(largeur for _, largeur in COLONNES),
        headings_style=FontFace(emphasis="BOLD", fill_color=(230, 233, 237)),
        line_height=4.2,
        text_align="LEFT",
        repeat_headings=1,
    ) as table:
        table.row([titre for titre, _ in COLONNES])
        for c in de_l_annee:
            suite = LIBELLES_STATUT.get(c.statut, c.statut)
            if c.repondu_le:
                suite = f"répondu le {c.repondu_le.astimezone(PARIS):%d/%m/%Y}"
            table.row(
                [
                    c.numero,
                    _jour(c.recu_le),
                    _jour(c.enregistre_le),
                    c.canal,
                    _court(c.expediteur, 70),
                    _court(c.objet, 110),
                    c.categorie or "",
                    suite,
                ]
            )
    pdf.ln(6)
    pdf.set_font("DejaVu", "B", 10)
    pdf.cell(0, 6, "Preuve d'intégrité", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 8.5)
    lignes = [
        f"{len(de_l_annee)} courrier(s) enregistré(s) en {annee}. "
        f"Registre édité le {edite_le.astimezone(PARIS):%d/%m/%Y à %H:%M}.",
        f"Empreinte de tête du journal (événement n°{preuve.dernier_evenement}) : {preuve.tete}",
        preuve.ancre
        or "Aucun jeton d'horodatage : la chaîne n'est pas ancrée hors de la base "
        "(COURRIER_HORODATAGE_URL).",
        "« courrier registre verifier » recalcule la chaîne et doit retrouver cette empreinte.",
    ]
    for texte in lignes:
        pdf.multi_cell(0, 4.5, texte, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if preuve.jeton:
        pdf.ln(2)
        pdf.set_font("DejaVu", "B", 8)
        pdf.cell(0, 5, "Jeton d'horodatage RFC 3161 (DER en base64)", new_x=XPos.LMARGIN,
                 new_y=YPos.NEXT)  # fmt: skip
        pdf.set_font("DejaVu", "", 5.5)
        pdf.multi_cell(0, 2.6, base64.b64encode(preuve.jeton).decode("ascii"),
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
    try:
        sortie.parent.mkdir(parents=True, exist_ok=True)
        pdf.output(str(sortie))
    except OSError as e:
        raise CourrierErreur(
            f"Impossible d'écrire le registre dans {sortie} : {raison_systeme(e)}."
        ) from e
    return len(de_l_annee)
