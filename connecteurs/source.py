"""Ce que toute source de courrier offre à la relève."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from noyau.domaine import ElementRecu


class Source(Protocol):
    nom: str
    # Ce qui n'a pas arrêté la source mais doit être dit : un fichier illisible laissé en
    # place, un fichier enregistré mais pas rangé. Rempli pendant `elements` et `acquitter`.
    incidents: list[str]

    def elements(self) -> Iterator[ElementRecu]:
        """Les éléments nouveaux (ou pas encore acquittés), un à un."""
        ...

    def acquitter(self, element: ElementRecu) -> None:
        """Range l'élément à la source ; appelé seulement après la validation de sa ligne."""
        ...

    def fermer(self) -> None: ...

    @property
    def en_attente(self) -> int:
        """Éléments laissés pour la prochaine relève (fichier encore en cours d'écriture…)."""
        ...
