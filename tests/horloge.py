"""Une horloge de test : l'instant est choisi par le test, jamais lu sur la machine.

Chaque lecture avance d'une milliseconde : les événements d'un même test restent ordonnés dans
le temps comme ils le seraient pour de vrai, sans qu'aucun ne dépende du jour où la suite tourne.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class HorlogeDeTest:
    def __init__(self, depart: datetime) -> None:
        self.moment = depart.astimezone(UTC)

    def __call__(self) -> datetime:
        self.moment += timedelta(milliseconds=1)
        return self.moment

    def regler(self, moment: datetime) -> None:
        """Saute à `moment` (le lendemain, l'heure du digest…)."""
        self.moment = moment.astimezone(UTC)
