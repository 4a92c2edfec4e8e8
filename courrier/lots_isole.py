"""La recherche des feuilles séparatrices, dans un processus à part.

Elle rend chaque page d'un PDF déposé par pdfium (code C) avant toute extraction : dans le
processus de la relève, un PDF piégé qui ferait tomber pdfium, ou l'emballerait, ferait tomber
la relève de la nuit, puis de chaque nuit suivante tant que le fichier reste dans le dossier.
Ici il ne fait tomber qu'un processus de service, à la mémoire et à la durée bornées ; le
fichier est alors enregistré entier, comme un scan ordinaire, et sa lecture (elle aussi isolée)
dira ce qui ne va pas. Un seul processus sert toute une relève : les bibliothèques n'y sont
chargées qu'une fois.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import resource
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as DelaiDepasse
from concurrent.futures.process import BrokenProcessPool

from courrier.lots import Decoupage, decouper, ressemble_a_un_pdf

journal = logging.getLogger("courrier.lots")

# Comme un processus d'extraction (courrier/releve.py) : assez pour rendre un lot de 500 pages
# à 100 dpi, une page après l'autre.
MEMOIRE_MAX = 3 * 1024**3
# Un lot de 200 pages se découpe en ~15 s sur 2 cœurs chargés ; 500 pages en ~40 s.
DELAI_S = 300.0


def _borner() -> None:
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (MEMOIRE_MAX, MEMOIRE_MAX))


class DecoupeurIsole:
    """`decouper` dans un processus de service ; None (PDF ordinaire) s'il tombe ou traîne."""

    def __init__(self, delai_s: float = DELAI_S) -> None:
        self.delai_s = delai_s
        self._service: ProcessPoolExecutor | None = None

    def __enter__(self) -> DecoupeurIsole:
        return self

    def __exit__(self, *exc: object) -> None:
        self.fermer()

    def __call__(self, contenu: bytes, page_blanche: bool) -> Decoupage | None:
        if not ressemble_a_un_pdf(contenu):
            return None  # une image, un fichier vide : rien à rendre, pas de processus
        if self._service is None:
            self._service = ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context("forkserver"), initializer=_borner
            )
        try:
            return self._service.submit(decouper, contenu, page_blanche).result(self.delai_s)
        except (BrokenProcessPool, DelaiDepasse, MemoryError) as e:
            journal.warning(
                "Recherche des feuilles séparatrices abandonnée (%s) : fichier enregistré entier.",
                type(e).__name__,
            )
            self._abattre()
            return None

    def _abattre(self) -> None:
        """Le processus de service est tombé ou ne répond plus : il est tué, le suivant
        repartira d'un processus neuf."""
        service, self._service = self._service, None
        if service is None:
            return
        # L'exécuteur ne sait pas tuer un travail en cours : ses processus, si.
        for processus in list(getattr(service, "_processes", {}).values()):
            with contextlib.suppress(OSError):
                processus.kill()
        service.shutdown(wait=False, cancel_futures=True)

    def fermer(self) -> None:
        service, self._service = self._service, None
        if service is not None:
            service.shutdown(wait=True, cancel_futures=True)
