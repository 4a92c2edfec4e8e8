"""Les places de la limite globale des appels au LLM, gardées le temps de plusieurs appels.

Prendre une place de la limite « courrier-llm » coûte, à chaque fois, plusieurs allers-retours
vers l'API de Prefect (la prise, ses événements, un fil qui renouvelle le bail, le retour) :
20 à 80 ms de calcul chacun, pris aux cœurs de l'OCR ; et une place refusée n'est redemandée
qu'après le délai que le serveur impose (jusqu'à 30 s), même si une autre se libère entre-temps.
Par appel au LLM (0,2 à 2 s), c'était l'essentiel du temps d'une nuit de trente communes
(preuves/bench_communes.py).

Une relève garde donc une place prise pour `appels_par_place` appels au plus, et la rend dès
qu'elle ne s'en sert plus depuis `garde_s` secondes (ou à la fin de son analyse) : la somme des
appels de toutes les relèves reste sous la limite, puisque chaque appel se fait sous une place
tenue, et les autres communes la reprennent dès qu'elle est rendue.

Un seul fil d'une relève demande une place à la fois ; les autres attendent qu'elle arrive ou
qu'une place tenue se repose. Chaque refus fait grossir, chez le serveur, le délai imposé à tous
les suivants (les places « refusées » s'y accumulent) : quatre fils par relève qui frappaient
chacun à la porte allongeaient d'autant l'attente de toutes les communes.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass

logger = logging.getLogger("courrier.places")

Fabrique = Callable[[], AbstractContextManager[object]]


class PlaceIndisponible(RuntimeError):
    """La demande d'une place vient d'échouer pour un autre fil de la même relève."""


@dataclass(eq=False)
class _Place:
    tenue: AbstractContextManager[object]
    appels: int = 0
    generation: int = 0  # change à chaque reprise : un minuteur d'avant ne la rend pas


class PlacesGardees:
    """Une fabrique de places (comme `fabrique`) qui garde chaque place prise pour plusieurs
    appels ; `fermer()` rend celles qui restent."""

    def __init__(self, fabrique: Fabrique, appels_par_place: int = 25, garde_s: float = 1.0):
        self._fabrique = fabrique
        self.appels_par_place = appels_par_place
        self.garde_s = garde_s
        self._libres: list[_Place] = []
        self._attente = threading.Condition()
        self._demande_en_cours = False  # un seul fil de la relève demande une place à la fois
        self._echecs = 0  # demandes échouées ; qui les attendait échoue avec elles
        self._refus = ""  # la raison du dernier échec
        self.prises = 0  # places prises à l'orchestrateur (le banc et les tests le lisent)

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        place = self._prendre()
        try:
            yield None
        finally:
            self._reposer(place)

    def _prendre(self) -> _Place:
        with self._attente:
            echecs_vus = self._echecs
            while True:
                if self._libres:
                    place = self._libres.pop()
                    place.generation += 1
                    return place
                if self._echecs != echecs_vus:
                    # La demande qu'on attendait a échoué (orchestrateur injoignable) : pas la
                    # peine que chacun attende son tour pour échouer à son tour.
                    raise PlaceIndisponible(self._refus)
                if not self._demande_en_cours:
                    self._demande_en_cours = True
                    break
                # Un autre fil de la relève demande déjà une place : on attend la sienne ou
                # une place reposée, plutôt que d'aller tous frapper à l'orchestrateur.
                self._attente.wait()
        try:
            tenue = self._fabrique()
            tenue.__enter__()  # une panne de l'orchestrateur remonte (LimiteTolerante la gère)
        except Exception as e:
            with self._attente:
                self._echecs += 1
                self._refus = f"{e.__class__.__name__} : {e}"
                self._demande_en_cours = False
                self._attente.notify_all()
            raise
        with self._attente:
            self._demande_en_cours = False
            self.prises += 1
            self._attente.notify()  # au suivant de demander (ou de prendre une place reposée)
        return _Place(tenue)

    def _reposer(self, place: _Place) -> None:
        place.appels += 1
        if place.appels >= self.appels_par_place:
            self._rendre(place)  # chacun son tour : les autres relèves attendent peut-être
            return
        with self._attente:
            self._libres.append(place)
            generation = place.generation
            self._attente.notify()
        minuteur = threading.Timer(self.garde_s, self._expirer, (place, generation))
        minuteur.daemon = True
        minuteur.start()

    def _expirer(self, place: _Place, generation: int) -> None:
        with self._attente:
            if place.generation != generation or place not in self._libres:
                return  # reprise entre-temps
            self._libres.remove(place)
        self._rendre(place)

    def _rendre(self, place: _Place) -> None:
        try:
            place.tenue.__exit__(None, None, None)
        except Exception as e:
            # L'appel au LLM a réussi ; une place non rendue expire d'elle-même (son bail).
            logger.warning("place de la limite globale du LLM non rendue : %s", e)

    def fermer(self) -> None:
        with self._attente:
            libres, self._libres = self._libres, []
        for place in libres:
            self._rendre(place)
