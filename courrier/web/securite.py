"""Ce qui protège la page web : en-têtes, jetons CSRF, limite des tentatives de connexion."""

from __future__ import annotations

import hmac
import threading
import time
from collections import deque

# Aucune ressource extérieure, aucun script en ligne, aucun cadre : même un texte hostile qui
# échapperait à l'échappement ne pourrait rien charger ni exécuter.
CSP = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "script-src 'self'",
        "style-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
ENTETES = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def jeton_valide(attendu: str, recu: str) -> bool:
    if not attendu or not recu:
        return False
    return hmac.compare_digest(attendu.encode(), recu.encode())


class LimiteurConnexions:
    """Au plus `essais` échecs par nom et par adresse en `fenetre_s` secondes.

    En mémoire : une seule instance du serveur par commune, et un redémarrage remet les
    compteurs à zéro (acceptable : il faut pouvoir se connecter après une mise à jour). Une
    limite par adresse seule empêche aussi d'essayer un mot de passe sur beaucoup de noms.
    """

    def __init__(
        self, essais: int = 5, fenetre_s: float = 15 * 60, essais_par_adresse: int = 30
    ) -> None:
        self.essais = essais
        self.fenetre_s = fenetre_s
        self.essais_par_adresse = essais_par_adresse
        self._echecs: dict[tuple[str, str], deque[float]] = {}
        self._par_adresse: dict[str, deque[float]] = {}
        self._verrou = threading.Lock()

    def _recents(self, file: deque[float], maintenant: float) -> int:
        while file and file[0] <= maintenant - self.fenetre_s:
            file.popleft()
        return len(file)

    def bloque(self, nom: str, adresse: str) -> bool:
        maintenant = time.monotonic()
        with self._verrou:
            par_nom = self._echecs.get((nom.strip().lower(), adresse))
            par_adresse = self._par_adresse.get(adresse)
            return (par_nom is not None and self._recents(par_nom, maintenant) >= self.essais) or (
                par_adresse is not None
                and self._recents(par_adresse, maintenant) >= self.essais_par_adresse
            )

    def echec(self, nom: str, adresse: str) -> None:
        maintenant = time.monotonic()
        with self._verrou:
            if len(self._echecs) > 10_000:  # borne la mémoire face à un balayage de noms
                self._echecs.clear()
            self._echecs.setdefault((nom.strip().lower(), adresse), deque()).append(maintenant)
            self._par_adresse.setdefault(adresse, deque()).append(maintenant)

    def reussite(self, nom: str, adresse: str) -> None:
        with self._verrou:
            self._echecs.pop((nom.strip().lower(), adresse), None)
