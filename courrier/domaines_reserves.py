"""Les domaines réservés aux exemples (RFC 2606, RFC 6761) et le garde-fou de la démonstration.

Le courrier de `courrier demo` n'écrit qu'à des domaines réservés : aucune de ses adresses ne
désigne quelqu'un. Un dossier de démonstration porte la marque `MARQUE_DEMO` ; tant qu'elle est
là, une réponse à une adresse réelle (collée à la main dans un brouillon, par exemple) est
refusée avant le serveur d'envoi, même si l'installation a un vrai SMTP. Une vraie installation
n'a pas cette marque : rien n'y change.
"""

from __future__ import annotations

import ipaddress
from email.utils import parseaddr
from pathlib import Path

MARQUE_DEMO = ".courrier-demo"
DOMAINES_DE_TETE = ("example", "test", "invalid", "localhost")
DOMAINES_DE_SECOND_NIVEAU = ("example.com", "example.net", "example.org")


def domaine_reserve(domaine: str) -> bool:
    """Vrai pour un domaine réservé, un nom sans point (réseau local) ou une adresse IP."""
    domaine = domaine.strip().lower().rstrip(".")
    if "." not in domaine:
        return True
    try:
        ipaddress.ip_address(domaine.strip("[]"))
        return True
    except ValueError:
        pass
    return domaine.rsplit(".", 1)[1] in DOMAINES_DE_TETE or any(
        domaine == d or domaine.endswith("." + d) for d in DOMAINES_DE_SECOND_NIVEAU
    )


def adresse_reservee(adresse: str) -> bool:
    """Vrai si l'adresse électronique (« Nom <local@domaine> » ou nue) va à un domaine réservé."""
    _, nue = parseaddr(adresse)
    local, arobase, domaine = nue.rpartition("@")
    return bool(local and arobase and domaine) and "." in domaine and domaine_reserve(domaine)


def est_une_demonstration(donnees: Path) -> bool:
    """Le dossier des données est-il celui d'une démonstration (`courrier demo`) ?"""
    return (Path(donnees).parent / MARQUE_DEMO).exists()
