"""Les reprises : quelles pannes méritent une nouvelle tentative, combien de fois, après quelles
attentes. Une seule définition, pour les tâches Prefect (flows/reprises.py en fait leurs
options) comme pour la relève lancée à la main, sans orchestrateur (`executer`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from noyau.erreurs import ErreurEntreeSortie

logger = logging.getLogger("courrier.reprises")

T = TypeVar("T")


def est_passagere(erreur: BaseException) -> bool:
    """Les seules erreurs qui méritent une nouvelle tentative : réseau, serveur, disque."""
    return isinstance(erreur, ErreurEntreeSortie)


@dataclass(frozen=True)
class Reprise:
    """`attentes_s` : l'attente avant chaque nouvelle tentative (autant de tentatives en plus) ;
    `retenter` : l'erreur en vaut-elle une ?"""

    attentes_s: tuple[float, ...]
    retenter: Callable[[BaseException], bool] = est_passagere

    def avec_attentes(self, attentes_s: tuple[float, ...]) -> Reprise:
        return replace(self, attentes_s=attentes_s)

    def executer(self, etape: Callable[[], T], dormir: Callable[[float], None] = time.sleep) -> T:
        """Comme les reprises d'une tâche Prefect : seules les erreurs retenues sont retentées,
        la dernière tentative laisse remonter la sienne."""
        for attente in self.attentes_s:
            try:
                return etape()
            except Exception as e:
                if not self.retenter(e):
                    raise
                logger.info("panne passagère (%s), nouvel essai dans %s s", e, attente)
                dormir(attente)
        return etape()


# Une source en panne passagère (réseau, serveur), le digest que le serveur n'a pas pris :
# deux nouvelles tentatives, après 5 s puis 30 s.
PANNES_PASSAGERES = Reprise((5, 30))
