"""Points de panne pour les preuves de robustesse : ce que reçoit le code de production.

Le code de production reçoit un `PointDePanne` en paramètre explicite (par défaut `aucune`) et
l'appelle aux endroits nommés ; les consignes qui tuent ou suspendent le processus sont lues
par les points d'entrée seuls (courrier/pannes.py).
"""

from __future__ import annotations

from collections.abc import Callable

# Ce que reçoit le code de production (paramètre explicite) : un point de panne nommé.
PointDePanne = Callable[[str], None]


def aucune(nom: str) -> None:
    """La production : aucun point de panne ne fait rien."""
