"""Un petit fournisseur OAuth2 sur 127.0.0.1, arrêté à la fin du test.

Il joue les trois points dont Courrier et Dovecot ont besoin :
- autorisation d'appareil (RFC 8628 §3.1-3.2) : `/appareil` rend un code à saisir ;
- jeton (RFC 6749 §5, RFC 8628 §3.4-3.5) : `/jeton`, grant device_code puis refresh_token ;
- introspection (RFC 7662) : `/introspection`, que Dovecot (passdb oauth2) et le serveur SMTP
  de test interrogent pour savoir si un jeton d'accès vaut et pour quelle boîte.

Les réponses sont celles des RFC, écrites ici à la main : c'est le côté serveur, que le produit
n'a pas ; le côté client est celui d'authlib. Le test règle ce qui doit mal tourner (consentement
retiré, réponse illisible, client inconnu) par les attributs de `EtatOAuth`.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from preuves.serveurs import Boite, ServeurSmtp, port_libre

CLIENT = "courrier-test"
GRANT_APPAREIL = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass
class EtatOAuth:
    utilisateur: str
    duree_acces_s: int = 3600
    # Nombre d'interrogations « authorization_pending » avant que l'utilisateur ait saisi le code.
    attentes_avant_consentement: int = 1
    tourner_rafraichissement: bool = True  # un jeton de rafraîchissement neuf à chaque fois
    consentement_retire: bool = False
    reponse_illisible: bool = False  # 200, mais une page HTML au lieu du JSON
    json_sans_jeton: bool = False  # 200, du JSON, mais pas de jeton dedans
    refus_utilisateur: bool = False  # la personne a cliqué « Refuser » sur la page du fournisseur
    en_panne: bool = False  # 502 d'une passerelle
    codes: dict[str, dict[str, object]] = field(default_factory=dict)  # device_code → état
    acces_valides: set[str] = field(default_factory=set)
    rafraichissements_valides: set[str] = field(default_factory=set)
    demandes: list[dict[str, str]] = field(default_factory=list)  # ce que le point de jeton a reçu
    introspections: int = 0
    verrou: threading.Lock = field(default_factory=threading.Lock)

    def expirer_les_acces(self) -> None:
        """Comme si tous les jetons d'accès donnés avaient expiré chez le fournisseur."""
        with self.verrou:
            self.acces_valides.clear()

    def donner(self, ancien_rafraichissement: str | None = None) -> dict[str, object]:
        acces = "acces-" + secrets.token_urlsafe(16)
        self.acces_valides.add(acces)
        reponse: dict[str, object] = {
            "access_token": acces,
            "token_type": "Bearer",
            "expires_in": self.duree_acces_s,
        }
        if ancien_rafraichissement is None or self.tourner_rafraichissement:
            neuf = "rafraichir-" + secrets.token_urlsafe(16)
            self.rafraichissements_valides.add(neuf)
            if ancien_rafraichissement is not None:
                self.rafraichissements_valides.discard(ancien_rafraichissement)
            reponse["refresh_token"] = neuf
        return reponse


class _Gestionnaire(BaseHTTPRequestHandler):
    etat: EtatOAuth  # posé par `fournisseur_oauth`

    def log_message(self, format: str, *args: object) -> None:  # silence dans les tests
        pass

    def _repondre(self, code: int, corps: object, brut: bytes | None = None) -> None:
        contenu = brut if brut is not None else json.dumps(corps).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json" if brut is None else "text/html")
        self.send_header("Content-Length", str(len(contenu)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(contenu)

    def _erreur(self, code: str, statut: int = 400) -> None:
        self._repondre(statut, {"error": code, "error_description": f"test : {code}"})

    def do_POST(self) -> None:
        longueur = int(self.headers.get("Content-Length") or 0)
        champs = {k: v[0] for k, v in parse_qs(self.rfile.read(longueur).decode()).items()}
        with self.etat.verrou:
            if self.path == "/introspection":
                self._introspection(champs)
            elif self._repondre_en_panne():
                pass
            elif champs.get("client_id") != CLIENT:
                self._erreur("invalid_client", 401)
            elif self.path == "/appareil":
                self._appareil()
            elif self.path != "/jeton":
                self._erreur("invalid_request", 404)
            else:
                self._jeton(champs)

    def _introspection(self, champs: dict[str, str]) -> None:
        etat = self.etat
        etat.introspections += 1
        if champs.get("token", "") in etat.acces_valides:
            self._repondre(200, {"active": True, "username": etat.utilisateur})
        else:
            self._repondre(200, {"active": False})

    def _repondre_en_panne(self) -> bool:
        """Les pannes simulées du fournisseur ; False quand il répond normalement."""
        etat = self.etat
        if etat.reponse_illisible:
            self._repondre(200, None, brut=b"<html>Bienvenue</html>")
        elif etat.json_sans_jeton:
            self._repondre(200, {"token_type": "Bearer", "access_token": ["liste"]})
        elif etat.en_panne:
            self._repondre(502, None, brut=b"<html>502 Bad Gateway</html>")
        else:
            return False
        return True

    def _appareil(self) -> None:
        code = secrets.token_urlsafe(16)
        self.etat.codes[code] = {"attentes": self.etat.attentes_avant_consentement}
        self._repondre(
            200,
            {
                "device_code": code,
                "user_code": "WDJB-MJHT",
                "verification_uri": "https://connexion.fournisseur.example/appareil",
                "verification_uri_complete": (
                    "https://connexion.fournisseur.example/appareil?code=WDJB-MJHT"
                ),
                "expires_in": 600,
                "interval": 1,
            },
        )

    def _jeton(self, champs: dict[str, str]) -> None:
        etat = self.etat
        etat.demandes.append(champs)
        type_ = champs.get("grant_type")
        if type_ == GRANT_APPAREIL:
            self._jeton_d_appareil(champs)
        elif type_ == "refresh_token":
            ancien = champs.get("refresh_token", "")
            if etat.consentement_retire or ancien not in etat.rafraichissements_valides:
                self._erreur("invalid_grant")
            else:
                self._repondre(200, etat.donner(ancien))
        else:
            self._erreur("unsupported_grant_type")

    def _jeton_d_appareil(self, champs: dict[str, str]) -> None:
        etat = self.etat
        suivi = etat.codes.get(champs.get("device_code", ""))
        if suivi is None:
            self._erreur("invalid_grant")
            return
        attentes = int(str(suivi["attentes"]))
        if etat.refus_utilisateur:
            self._erreur("access_denied")
        elif attentes > 0:
            suivi["attentes"] = attentes - 1
            self._erreur("authorization_pending")
        else:
            del etat.codes[champs["device_code"]]
            self._repondre(200, etat.donner())


@dataclass
class FournisseurOAuth:
    etat: EtatOAuth
    url: str

    @property
    def point_jeton(self) -> str:
        return f"{self.url}/jeton"

    @property
    def point_appareil(self) -> str:
        return f"{self.url}/appareil"

    @property
    def point_introspection(self) -> str:
        return f"{self.url}/introspection"


@contextmanager
def fournisseur_oauth(utilisateur: str) -> Iterator[FournisseurOAuth]:
    etat = EtatOAuth(utilisateur=utilisateur)
    gestionnaire = type("Gestionnaire", (_Gestionnaire,), {"etat": etat})
    serveur = ThreadingHTTPServer(("127.0.0.1", 0), gestionnaire)
    fil = threading.Thread(target=serveur.serve_forever, daemon=True)
    fil.start()
    try:
        yield FournisseurOAuth(etat, f"http://127.0.0.1:{serveur.server_address[1]}")
    finally:
        serveur.shutdown()
        serveur.server_close()


# --- Un serveur SMTP qui vérifie les jetons auprès du point d'introspection --------------------


class BoiteOAuth(Boite):
    """Comme `Boite`, mais AUTH XOAUTH2 / OAUTHBEARER, chaque jeton vérifié par introspection."""

    def __init__(self, introspection: str) -> None:
        super().__init__()
        self.introspection = introspection
        self.identifies: list[tuple[str, str]] = []  # (mécanisme, boîte) acceptés

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:  # nom d'aiosmtpd
        return await self._verifier(server, args, "XOAUTH2")

    async def auth_OAUTHBEARER(self, server: Any, args: list[str]) -> AuthResult:
        return await self._verifier(server, args, "OAUTHBEARER")

    async def _verifier(self, server: Any, args: list[str], mecanisme: str) -> AuthResult:
        if len(args) < 2:
            return AuthResult(success=False, handled=False)
        try:
            texte = base64.b64decode(args[1], validate=True).decode()
        except ValueError:
            return AuthResult(success=False, handled=False)
        champs = texte.split("\x01")
        utilisateur, jeton = "", ""
        for morceau in champs:
            if morceau.startswith("user="):
                utilisateur = morceau[5:]
            elif morceau.startswith("n,a="):
                utilisateur = morceau[4:].rstrip(",").replace("=2C", ",").replace("=3D", "=")
            elif morceau.startswith("auth=Bearer "):
                jeton = morceau[len("auth=Bearer ") :]
        async with httpx.AsyncClient(trust_env=False) as client:
            reponse = (await client.post(self.introspection, data={"token": jeton})).json()
        if reponse.get("active") is True and reponse.get("username") == utilisateur:
            self.identifies.append((mecanisme, utilisateur))
            return AuthResult(success=True, auth_data=utilisateur)
        # RFC 7628 §3.2.2 : l'erreur en défi, puis le client clôt et le serveur dit 535.
        erreur = json.dumps({"status": "invalid_token", "schemes": "bearer"})
        await server.challenge_auth(erreur)
        return AuthResult(success=False, handled=False)


@contextmanager
def serveur_smtp_oauth(introspection: str) -> Iterator[tuple[ServeurSmtp, BoiteOAuth]]:
    boite = BoiteOAuth(introspection)
    controleur = Controller(boite, hostname="127.0.0.1", port=port_libre(), auth_require_tls=False)
    controleur.start()
    try:
        yield ServeurSmtp(boite, controleur.port), boite
    finally:
        controleur.stop()
