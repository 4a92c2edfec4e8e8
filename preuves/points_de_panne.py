"""Les points de panne du banc (où la nuit meurt, et à quels passages) et le tirage des essais."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from preuves import jeu_lots
from preuves.jeu import courriels, scans
from preuves.nuit_d_essai import PROCESSUS_OCR


@dataclass(frozen=True)
class Point:
    """Un point de panne, et les passages où la nuit y meurt à coup sûr."""

    ou: str
    premier: int
    dernier: int
    tue_la_nuit: bool = True  # faux : seul un processus d'OCR meurt, la nuit doit survivre


def _points() -> dict[str, Point]:
    n_c = len(courriels())
    n = n_c + len(scans()) + jeu_lots.lettres()
    return {
        "pendant_releve": Point("message lu dans la boîte IMAP, pas encore archivé", 1, n_c),
        "apres_archive": Point("octets archivés, ligne du registre pas encore écrite", 1, n),
        "avant_validation": Point("dans la transaction du registre, avant la validation", 1, n),
        "apres_enregistrement": Point("ligne validée, pas encore rangée à la source", 1, n),
        "apres_acquittement": Point("rangée à la source (IMAP « Traité », traites/)", 1, n),
        # Chaque lettre du lot de scans passe par ce point avant d'être remise à la relève.
        "pendant_decoupage": Point(
            "lot de scans découpé, lettre suivante pas encore remise", 1, jeu_lots.lettres()
        ),
        "pendant_ocr": Point("lectures en cours dans les processus d'OCR", 1, n),
        # Chaque processus d'OCR compte ses passages ; un processus neuf repart de zéro. Au 1er
        # passage, la relecture à part mourrait aussi : c'est le document qui fait tomber son
        # lecteur, qu'`extraire_en_attente` marque en erreur, pas une panne dont on se relève.
        # Au-delà de ⌈n/P⌉, le point pourrait n'être jamais atteint.
        "pendant_extraction": Point(
            "un processus d'OCR tué seul, la nuit continue",
            2,
            math.ceil(n / PROCESSUS_OCR),
            tue_la_nuit=False,
        ),
        "apres_extraction": Point("texte lu et consigné", 1, n),
        "pendant_llm": Point("juste avant l'appel au LLM", 1, n),
        "apres_analyse": Point("analyse et brouillons consignés", 1, n),
        # L'envoi des réponses validées (la secrétaire simulée valide tout ce qui a une
        # adresse) : il y en a au moins REPONSES_MIN par nuit.
        "avant_smtp": Point("Message-ID et intention écrits, juste avant l'appel SMTP", 1, 3),
        "apres_smtp": Point("réponse acceptée par le serveur SMTP, rien d'autre noté", 1, 3),
        "apres_copie_envoyes": Point("copie dans « Envoyés », registre pas encore à jour", 1, 3),
    }


POINTS = _points()
POINTS_ENVOI = {"avant_smtp", "apres_smtp", "apres_copie_envoyes"}
# Une panne à l'un de ces points, tombée au milieu du lot de scans, laisse des lettres
# enregistrées et le fichier pas encore rangé : la nuit suivante les reconnaît (doublons).
POINTS_DU_LOT = {
    "apres_archive",
    "avant_validation",
    "apres_enregistrement",
    "apres_acquittement",
    "pendant_decoupage",
}
REPONSES_MIN = 3


@dataclass(frozen=True)
class Essai:
    numero: int
    point: str
    passage: int
    llm: bool  # faux : les règles seules analysent (le réglage par défaut)

    @property
    def panne(self) -> str:
        return f"{self.point}:{self.passage}"

    @property
    def doublons_attendus(self) -> int:
        # Seul un élément validé mais pas rangé revient à la relève suivante.
        return 1 if self.point == "apres_enregistrement" else 0


def tirer_essais(nombre: int, graine: int) -> list[Essai]:
    """Les points par tours mélangés (chacun revient aussi souvent), le passage et le moteur
    d'analyse au hasard."""
    rng = random.Random(graine)
    essais: list[Essai] = []
    while len(essais) < nombre:
        tour = sorted(POINTS)
        rng.shuffle(tour)
        for nom in tour:
            passage = rng.randint(POINTS[nom].premier, POINTS[nom].dernier)
            llm = nom == "pendant_llm" or rng.random() < 0.5
            essais.append(Essai(len(essais) + 1, nom, passage, llm))
    return essais[:nombre]
