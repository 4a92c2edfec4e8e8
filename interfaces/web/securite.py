"""Ce qui protège la page web : en-têtes, jetons CSRF, origine des formulaires, mandataires,
limite des tentatives de connexion."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Any
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException

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
    # « same-origin » et non « no-referrer » : avec no-referrer, le navigateur envoie
    # « Origin: null » sur nos propres formulaires, et l'origine ne pourrait plus être vérifiée.
    # Aucun autre site ne reçoit jamais l'adresse d'une page.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
# Deux ans : servie en HTTPS une fois, la page ne sera plus jamais demandée en clair.
HSTS = "max-age=63072000"


def jeton_valide(attendu: str, recu: str) -> bool:
    if not attendu or not recu:
        return False
    return hmac.compare_digest(attendu.encode(), recu.encode())


# --- Le jeton du formulaire de connexion ------------------------------------------------------


class JetonsDeConnexion:
    """Le jeton CSRF de la page de connexion, signé par le serveur et lié à une pré-session.

    La pré-session est un nombre tiré au hasard, dans un cookie ; le jeton du formulaire est sa
    signature (HMAC-SHA256, clé tirée au démarrage), datée. Un cookie posé par quelqu'un d'autre
    (un sous-domaine voisin) ne vaut rien sans la signature qui lui correspond. La clé change à
    chaque démarrage : une page de connexion ouverte avant un redémarrage est à recharger.
    """

    def __init__(self, cle: bytes | None = None, duree_s: float = 2 * 3600) -> None:
        self._cle = cle or secrets.token_bytes(32)
        self.duree_s = duree_s

    @staticmethod
    def nouvelle_presession() -> str:
        return secrets.token_urlsafe(24)

    def _signature(self, presession: str, emis: int) -> str:
        brut = hmac.new(self._cle, f"{presession}.{emis}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(brut).decode().rstrip("=")

    def emettre(self, presession: str) -> str:
        emis = int(time.time())
        return f"{emis}.{self._signature(presession, emis)}"

    def valide(self, presession: str, jeton: str) -> bool:
        if not presession or not jeton or len(jeton) > 200 or len(presession) > 200:
            return False
        emis_texte, _, signature = jeton.partition(".")
        if not emis_texte.isdigit() or len(emis_texte) > 12:
            return False
        emis = int(emis_texte)
        if not 0 <= time.time() - emis <= self.duree_s:
            return False
        return hmac.compare_digest(self._signature(presession, emis), signature)


# --- L'origine des formulaires ----------------------------------------------------------------


def origine(url: str) -> str:
    """« https://hote[:port] » en minuscules, sans le port par défaut du schéma."""
    try:
        morceaux = urlsplit(url.strip())
        port = morceaux.port
    except ValueError:
        return ""
    schema, hote = morceaux.scheme.lower(), (morceaux.hostname or "").lower()
    if not schema or not hote:
        return ""
    if ":" in hote:
        hote = f"[{hote}]"
    if port is None or (schema, port) in (("http", 80), ("https", 443)):
        return f"{schema}://{hote}"
    return f"{schema}://{hote}:{port}"


def origine_permise(origin: str | None, referer: str | None, attendues: Iterable[str]) -> bool:
    """Un formulaire posté depuis une de nos pages (défense en plus du jeton CSRF).

    Un navigateur envoie Origin sur tout POST ; à défaut, Referer. Sans l'un ni l'autre (un
    client qui n'est pas un navigateur, ou un navigateur très ancien), le jeton CSRF décide.
    """
    permises = {o for o in attendues if o}
    if origin is not None:
        return origin.strip().lower() != "null" and origine(origin) in permises
    if referer:
        return origine(referer) in permises
    return True


# --- Les mandataires (nginx, Caddy) -----------------------------------------------------------

Reseaux = Sequence[IPv4Network | IPv6Network]


def _dans(adresse: str, reseaux: Reseaux) -> bool:
    try:
        ip = ip_address(adresse.strip().strip("[]"))
    except ValueError:
        return False
    return any(ip in r for r in reseaux)


def adresse_reelle(client: str, x_forwarded_for: str, reseaux: Reseaux) -> str:
    """L'adresse du visiteur : celle de la connexion, sauf si elle vient d'un mandataire déclaré.

    Alors, la chaîne X-Forwarded-For est lue de droite à gauche (chaque mandataire ajoute à
    droite l'adresse qu'il voit) : la première adresse qui n'est pas un mandataire déclaré est
    le visiteur. Ce qu'un visiteur écrit lui-même à gauche n'est jamais pris.
    """
    if not _dans(client, reseaux):
        return client
    for saut in reversed([s.strip() for s in x_forwarded_for.split(",") if s.strip()]):
        try:
            ip_address(saut.strip("[]"))
        except ValueError:
            return client  # une chaîne illisible : on garde ce qu'on sait
        if not _dans(saut, reseaux):
            return saut.strip("[]")
    return client


class EntetesDeMandataire:
    """Intergiciel ASGI : adresse et schéma (https) du visiteur d'après les en-têtes du
    mandataire, seulement s'ils viennent d'une adresse de `COURRIER_MANDATAIRES`."""

    def __init__(self, app: Any, reseaux: Reseaux) -> None:
        self.app = app
        self.reseaux = list(reseaux)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        client = scope.get("client")
        if scope["type"] == "http" and self.reseaux and client and _dans(client[0], self.reseaux):
            valeurs: dict[bytes, list[str]] = {}
            for cle, valeur in scope.get("headers", []):
                valeurs.setdefault(cle.lower(), []).append(valeur.decode("latin-1"))
            transmis = ",".join(valeurs.get(b"x-forwarded-for", []))
            proto = ",".join(valeurs.get(b"x-forwarded-proto", [])).split(",")[-1].strip()
            scope = dict(scope, client=(adresse_reelle(client[0], transmis, self.reseaux), 0))
            if proto.lower() in ("http", "https"):
                scope["scheme"] = proto.lower()
        await self.app(scope, receive, send)


# --- La taille des demandes -------------------------------------------------------------------


class LimiteCorps:
    """Intergiciel ASGI : un corps de demande au-delà de `taille_max` octets est refusé (413)
    dès que sa taille se voit (annoncée, ou atteinte en lisant), sans être lu en entier."""

    def __init__(self, app: Any, taille_max: int) -> None:
        self.app = app
        self.taille_max = taille_max

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        annoncee = next((v for k, v in scope.get("headers", []) if k == b"content-length"), b"")
        trop = annoncee.isdigit() and (len(annoncee) > 15 or int(annoncee) > self.taille_max)
        recus = 0

        async def recevoir() -> Any:
            nonlocal recus
            if trop:
                raise HTTPException(413)
            message = await receive()
            if message["type"] == "http.request":
                recus += len(message.get("body", b""))
                if recus > self.taille_max:
                    raise HTTPException(413)
            return message

        await self.app(scope, recevoir, send)


# --- La limite des essais de connexion --------------------------------------------------------


class LimiteurConnexions:
    """Les échecs de connexion, comptés par compte **et** par adresse réelle.

    - `essais` échecs d'un compte depuis une adresse en `fenetre_s` : ce compte est refusé à
      cette adresse ;
    - `essais_par_compte` échecs d'un compte, toutes adresses confondues : ce compte est
      refusé partout (une attaque répartie sur beaucoup d'adresses), sauf aux adresses d'où il
      s'est déjà connecté (depuis le démarrage, `memoire_s` au plus) : une attaque répartie
      ne ferme pas la porte à la secrétaire, à son poste habituel.

    Jamais de verrou par adresse seule : derrière un mandataire, ou dans une mairie où tous les
    postes sortent par la même adresse, il bloquerait tous les comptes à la fois. Un verrou ne
    touche donc qu'un compte. En mémoire : une seule instance du serveur par commune, et un
    redémarrage remet les compteurs à zéro (il faut pouvoir se connecter après une mise à jour).
    """

    def __init__(
        self,
        essais: int = 5,
        fenetre_s: float = 15 * 60,
        essais_par_compte: int = 20,
        taille_max: int = 10_000,
        memoire_s: float = 30 * 24 * 3600,
    ) -> None:
        self.essais = essais
        self.fenetre_s = fenetre_s
        self.essais_par_compte = essais_par_compte
        self.taille_max = taille_max
        self.memoire_s = memoire_s
        self._par_paire: dict[tuple[str, str], deque[float]] = {}
        self._par_compte: dict[str, deque[float]] = {}
        self._connues: dict[tuple[str, str], float] = {}  # (compte, adresse) → dernière réussite
        self._verrou = threading.Lock()

    def _recents(self, file: deque[float] | None, maintenant: float) -> int:
        if file is None:
            return 0
        while file and file[0] <= maintenant - self.fenetre_s:
            file.popleft()
        return len(file)

    def bloque(self, nom: str, adresse: str) -> bool:
        nom = nom.strip().lower()
        maintenant = time.monotonic()
        with self._verrou:
            if self._recents(self._par_paire.get((nom, adresse)), maintenant) >= self.essais:
                return True
            connue = (
                maintenant - self._connues.get((nom, adresse), -self.memoire_s) < self.memoire_s
            )
            return (
                not connue
                and self._recents(self._par_compte.get(nom), maintenant) >= self.essais_par_compte
            )

    def echec(self, nom: str, adresse: str) -> None:
        nom = nom.strip().lower()
        maintenant = time.monotonic()
        with self._verrou:
            self._borner(self._par_paire, maintenant)
            self._borner(self._par_compte, maintenant)
            self._par_paire.setdefault((nom, adresse), deque()).append(maintenant)
            self._par_compte.setdefault(nom, deque()).append(maintenant)

    def reussite(self, nom: str, adresse: str) -> None:
        # Le compteur du compte, toutes adresses, reste : d'autres essaient peut-être encore.
        nom = nom.strip().lower()
        with self._verrou:
            self._par_paire.pop((nom, adresse), None)
            if len(self._connues) >= self.taille_max:
                for cle in sorted(self._connues, key=self._connues.__getitem__)[
                    : len(self._connues) // 2
                ]:
                    del self._connues[cle]
            self._connues[(nom, adresse)] = time.monotonic()

    def _borner(self, compteurs: dict[Any, deque[float]], maintenant: float) -> None:
        """Borne la mémoire face à un balayage de noms, sans tout effacer : d'abord les
        compteurs échus, puis ceux dont le dernier échec est le plus ancien (un compte
        attaqué en ce moment garde le sien)."""
        if len(compteurs) < self.taille_max:
            return
        for cle in [c for c, f in compteurs.items() if not self._recents(f, maintenant)]:
            del compteurs[cle]
        surplus = len(compteurs) - self.taille_max // 2
        if surplus > 0:
            for cle in sorted(compteurs, key=lambda c: compteurs[c][-1])[:surplus]:
                del compteurs[cle]
