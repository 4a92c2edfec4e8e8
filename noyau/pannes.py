"""Points de panne pour les preuves de robustesse : tuer ou suspendre le processus à un endroit
précis.

`COURRIER_PANNE=apres_enregistrement:3` tue le processus (SIGKILL, comme une coupure de
courant) au 3e passage par ce point. `COURRIER_PANNE=apres_enregistrement:3:pause` le suspend
(SIGSTOP) à la place : le banc d'essai fait alors tomber ce qu'il veut autour de lui (disque,
base verrouillée ou arrêtée), puis le réveille (SIGCONT). Sans la variable, un point ne coûte
qu'une lecture de dictionnaire.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

# Ce que reçoit le code de production (paramètre explicite) : un point de panne nommé.
PointDePanne = Callable[[str], None]


def aucune(nom: str) -> None:
    """La production : aucun point de panne ne fait rien."""


_passages: dict[str, int] = {}


def point(nom: str) -> None:
    consigne = os.environ.get("COURRIER_PANNE")
    if not consigne:
        return
    cible, _, reste = consigne.partition(":")
    if cible != nom:
        return
    rang, _, action = reste.partition(":")
    _passages[nom] = _passages.get(nom, 0) + 1
    if _passages[nom] == int(rang or "1") and action == "pause":
        os.kill(os.getpid(), signal.SIGSTOP)
    elif _passages[nom] >= int(rang or "1") and action != "pause":
        os.kill(os.getpid(), signal.SIGKILL)
