"""`make test-decale` : chaque programme Python de la suite (pytest, les commandes `courrier`
qu'il lance, le serveur Prefect, les workers) voit la date avancée de TEMPS_DECALE_JOURS jours.

Ce dossier entre dans le sys.path de chaque interpréteur du venv par un .pth, le temps du
passage (tests/decalage/lancer.sh) : Python importe alors `sitecustomize` à chaque démarrage.
Le décalage se fait dans Python (time-machine : time.time, datetime.now, date.today…), pas
dans la bibliothèque C comme libfaketime, qui décale aussi l'horloge monotone et fait durer un
an chaque attente bornée d'un fil (Event.wait, Queue.get). Les programmes qui ne sont pas en
Python (PostgreSQL, Dovecot, Chromium) gardent l'heure de la machine.
"""

import os

_jours = os.environ.get("TEMPS_DECALE_JOURS", "").strip()
if _jours:
    from datetime import UTC, datetime, timedelta

    import time_machine

    time_machine.travel(datetime.now(UTC) + timedelta(days=float(_jours)), tick=True).start()
