"""Les places de relève d'une machine : combien de relèves y travaillent à la fois.

Sous Prefect, chaque relève est un processus neuf qui met 5 à 15 s à démarrer (le worker le
lance, Prefect et Courrier s'importent, l'exécution s'annonce au serveur) avant de travailler ;
pendant ce temps, la place que le worker lui a donnée ne lit ni n'analyse rien. Sur une nuit de
trente communes, c'était le premier surcoût de Prefect (preuves/bench_communes.py).

Avec `COURRIER_RELEVES_SIMULTANEES=N` et des workers qui lancent une relève de plus que cela
(`prefect worker start --limit`, voir deploiement/README.md), la relève suivante démarre pendant
que les autres travaillent ; elle attend ici sa place et la prend dès qu'une autre finit.

Une place est un verrou `flock` sur un fichier de la machine (dans son dossier temporaire, pas
dans le dossier partagé des données) : le noyau la rend quand le processus meurt, même tué, et
l'attente ne passe par aucun serveur. Toutes les relèves de la machine se partagent ses places,
quel que soit leur worker : ce sont ses cœurs qu'elles protègent.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from noyau.erreurs import ConfigurationErreur

logger = logging.getLogger("courrier.places_releve")


def dossier_des_places() -> Path:
    """Un dossier par utilisateur, sur cette machine."""
    return Path(tempfile.gettempdir()) / f"courrier-places-releve-{os.getuid()}"


def _prendre(fichier: Path) -> int | None:
    """Le descripteur du fichier verrouillé, ou None si une autre relève tient cette place."""
    try:
        descripteur = os.open(fichier, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as e:
        raise ConfigurationErreur(
            f"Les places de relève ne peuvent pas être prises dans {fichier.parent} : "
            f"{e.strerror or e}."
        ) from e
    try:
        fcntl.flock(descripteur, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descripteur)
        return None
    return descripteur


@contextlib.contextmanager
def place_de_releve(
    nombre: int,
    dossier: Path | None = None,
    attente_s: float = 0.1,
    dormir: Callable[[float], None] = time.sleep,
) -> Iterator[int | None]:
    """Une des `nombre` places de la machine, tenue le temps du bloc (son rang) ; sans limite
    (`nombre` à 0), aucune (None) et rien n'attend."""
    if nombre <= 0:
        yield None
        return
    dossier = dossier or dossier_des_places()
    try:
        dossier.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigurationErreur(
            f"Le dossier des places de relève {dossier} ne peut pas être créé : {e.strerror or e}."
        ) from e
    debut = time.monotonic()
    annonce = False
    while True:
        for rang in range(nombre):
            descripteur = _prendre(dossier / f"place-{rang}")
            if descripteur is None:
                continue
            if annonce:
                logger.info("place de relève %s prise après %.1f s", rang, time.monotonic() - debut)
            try:
                yield rang
            finally:
                os.close(descripteur)  # le verrou part avec le descripteur
            return
        if not annonce:
            logger.info("les %s places de relève sont prises : la relève attend", nombre)
            annonce = True
        dormir(attente_s)
