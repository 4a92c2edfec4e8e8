"""La consigne d'un point de panne : tuer ou suspendre le processus à un endroit précis.

`apres_enregistrement:3` tue le processus (SIGKILL, comme une coupure de courant) au 3e passage
par ce point. `apres_enregistrement:3:pause` le suspend (SIGSTOP) à la place : le banc d'essai
fait alors tomber ce qu'il veut autour de lui (disque, base verrouillée ou arrêtée), puis le
réveille (SIGCONT).

Ici, et non dans courrier/, parce que le sous-processus de la recherche des séparatrices
(connecteurs/lots_isole.py) reçoit sa consigne de son lanceur et doit pouvoir l'appliquer.
Qui lit la consigne dans l'environnement : les points d'entrée (courrier/pannes.py).
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass

from noyau.pannes import PointDePanne, aucune


@dataclass
class Consigne:
    """Un point de panne armé ; il compte ses passages (un objet par processus)."""

    cible: str
    rang: int = 1
    pause: bool = False
    passages: int = 0

    @property
    def texte(self) -> str:
        return f"{self.cible}:{self.rang}" + (":pause" if self.pause else "")

    def __call__(self, nom: str) -> None:
        if nom != self.cible:
            return
        self.passages += 1
        if self.pause:
            if self.passages == self.rang:
                os.kill(os.getpid(), signal.SIGSTOP)
        elif self.passages >= self.rang:
            os.kill(os.getpid(), signal.SIGKILL)


def consigne(texte: str | None) -> PointDePanne:
    """`point:passage[:pause]` ; vide : aucun point de panne."""
    if not texte:
        return aucune
    cible, _, reste = texte.partition(":")
    rang, _, action = reste.partition(":")
    return Consigne(cible, int(rang or "1"), action == "pause")


def texte_de(panne: PointDePanne) -> str:
    """La consigne à transmettre à un sous-processus ; vide s'il n'y en a pas."""
    return panne.texte if isinstance(panne, Consigne) else ""
