"""OAuth2 de la boîte de la mairie (Microsoft 365, Gmail, ou tout fournisseur conforme).

Le jeton de rafraîchissement, obtenu une fois par le flux « device code » (RFC 8628) de
`courrier connexion-oauth`, est gardé chiffré (Fernet) dans un fichier 0600, la clé ailleurs
(fichier 0600 ou variable d'environnement). Chaque relève ou envoi demande un jeton d'accès :
celui du fichier tant qu'il vit, sinon un neuf obtenu par rafraîchissement (RFC 6749 §6) ; un
jeton de rafraîchissement neuf remplace l'ancien (Microsoft les fait tourner).

Les échanges HTTP et l'analyse des réponses d'erreur OAuth2 sont ceux d'authlib ; ce module
ne fait que choisir les points d'accès, garder le jeton et dire les pannes en français.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from cryptography.fernet import Fernet, InvalidToken
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from connecteurs.oauth_sasl import ErreurOAuth, ErreurOAuthPassagere

try:  # le client HTTP d'authlib : httpx2 s'il est là, sinon httpx (comme authlib lui-même)
    import httpx2 as http
except ImportError:  # pragma: no cover
    import httpx as http  # type: ignore[no-redef]

Fournisseur = Literal["microsoft", "google", "generique"]
GRANT_APPAREIL = "urn:ietf:params:oauth:grant-type:device_code"
RELANCER = "relancez « courrier connexion-oauth »"
# Un jeton qui expire dans moins de deux minutes est renouvelé d'avance : une relève longue
# ne doit pas le voir mourir entre la connexion et la fin.
MARGE = timedelta(minutes=2)
# Un jeton chiffré pèse quelques kilo-octets ; au-delà, le fichier n'en est pas un.
TAILLE_MAX_FICHIER = 1_000_000

SCOPES_PAR_DEFAUT: dict[str, str] = {
    "microsoft": "https://outlook.office.com/IMAP.AccessAsUser.All "
    "https://outlook.office.com/SMTP.Send offline_access",
    "google": "https://mail.google.com/",
    "generique": "",
}


def points_par_defaut(fournisseur: str, tenant: str) -> tuple[str, str]:
    """(point d'autorisation d'appareil, point de jeton) connus du fournisseur."""
    if fournisseur == "microsoft":
        base = f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0"
        return f"{base}/devicecode", f"{base}/token"
    if fournisseur == "google":
        return "https://oauth2.googleapis.com/device/code", "https://oauth2.googleapis.com/token"
    return "", ""


@dataclass(frozen=True)
class ParametresOAuth:
    fournisseur: Fournisseur
    client_id: str
    scopes: str
    point_appareil: str
    point_jeton: str
    secret_client: str = ""  # Google en exige un, même pour une application « TV »
    delai_s: float = 30.0

    def __repr__(self) -> str:  # le secret ne doit pas finir dans un journal
        return (
            f"ParametresOAuth(fournisseur={self.fournisseur!r}, client_id={self.client_id!r}, "
            f"point_jeton={self.point_jeton!r})"
        )


class JetonEnregistre(BaseModel):
    """Ce que garde le fichier chiffré ; un contenu d'une autre forme est refusé."""

    model_config = ConfigDict(extra="ignore")

    client_id: str = Field(min_length=1, max_length=500)
    jeton_rafraichissement: str = Field(min_length=1, max_length=20_000)
    jeton_acces: str = Field(default="", max_length=20_000)
    expire_le: datetime | None = None


class _ReponseJeton(BaseModel):
    model_config = ConfigDict(extra="ignore")

    access_token: str = Field(min_length=1, max_length=20_000)
    token_type: str = "Bearer"
    expires_in: int | None = Field(default=None, ge=0, le=10 * 365 * 86400)
    refresh_token: str | None = Field(default=None, max_length=20_000)


class DemandeAppareil(BaseModel):
    """Réponse du point d'autorisation d'appareil (RFC 8628 §3.2)."""

    model_config = ConfigDict(extra="ignore")

    device_code: str = Field(min_length=1, max_length=5000)
    user_code: str = Field(min_length=1, max_length=200)
    # Google dit `verification_url`, la RFC `verification_uri`.
    verification_uri: str = Field(default="", max_length=2000)
    verification_url: str = Field(default="", max_length=2000)
    # Adresse qui porte déjà le code (RFC 8628 §3.3.1) : à ouvrir sans rien saisir.
    verification_uri_complete: str = Field(default="", max_length=2000)
    expires_in: int = Field(default=900, ge=1, le=86400)
    interval: int = Field(default=5, ge=1, le=300)

    @property
    def adresse(self) -> str:
        return self.verification_uri or self.verification_url


# --- Le coffre : le fichier chiffré et sa clé -------------------------------------------------


def lire_cle(cle: str | None, fichier_cle: Path, creer: bool = False) -> bytes:
    """La clé Fernet : la variable d'environnement si elle est donnée, sinon le fichier (créé
    en 0600 par `connexion-oauth`). Un fichier de clé lisible par d'autres est refusé."""
    if cle:
        try:
            Fernet(cle.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise ErreurOAuth(
                "COURRIER_OAUTH_CLE n'est pas une clé valide (44 caractères base64 attendus, "
                'comme en donne `python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"`).'
            ) from None
        return cle.encode("ascii")
    if not fichier_cle.exists():
        if not creer:
            raise ErreurOAuth(
                f"La clé du jeton OAuth2 ({fichier_cle}) manque : {RELANCER}, ou donnez "
                "COURRIER_OAUTH_CLE."
            )
        fichier_cle.parent.mkdir(parents=True, exist_ok=True)
        _ecrire_0600(fichier_cle, Fernet.generate_key())
    droits = fichier_cle.stat().st_mode & 0o777
    if droits & 0o077:
        raise ErreurOAuth(
            f"Le fichier de clé {fichier_cle} est lisible par d'autres utilisateurs (droits "
            f"{droits:o}) : faites « chmod 600 {fichier_cle} »."
        )
    contenu = fichier_cle.read_bytes().strip()
    try:
        Fernet(contenu)
    except ValueError:
        raise ErreurOAuth(
            f"Le fichier de clé {fichier_cle} ne contient pas une clé valide : remettez la "
            f"bonne clé, ou effacez-le et {RELANCER}."
        ) from None
    return contenu


def _ecrire_0600(chemin: Path, contenu: bytes) -> None:
    """Écriture complète ou rien (fichier temporaire 0600 puis renommage)."""
    temporaire = chemin.with_name(f".{chemin.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temporaire.unlink()
    descripteur = os.open(temporaire, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descripteur, "wb") as f:
            f.write(contenu)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporaire, chemin)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporaire.unlink()
        raise


class CoffreJeton:
    def __init__(self, fichier: Path, cle: Callable[[], bytes]) -> None:
        self.fichier = fichier
        self._cle = cle

    @cached_property
    def _fernet(self) -> Fernet:
        return Fernet(self._cle())

    def preparer(self) -> None:
        """Lit (ou crée) la clé tout de suite : une clé fausse se voit avant de faire saisir
        un code à quelqu'un, pas après."""
        self._fernet  # noqa: B018 (la lecture est la vérification)

    def lire(self) -> JetonEnregistre:
        if not self.fichier.exists():
            raise ErreurOAuth(f"Aucun jeton OAuth2 n'est enregistré ({self.fichier}) : {RELANCER}.")
        if self.fichier.stat().st_size > TAILLE_MAX_FICHIER:
            raise ErreurOAuth(
                f"Le jeton OAuth2 enregistré ({self.fichier}) est illisible (bien trop grand "
                f"pour un jeton) : {RELANCER}."
            )
        try:
            clair = self._fernet.decrypt(self.fichier.read_bytes())
        except InvalidToken:
            raise ErreurOAuth(
                f"Le jeton OAuth2 enregistré ({self.fichier}) ne se déchiffre pas : la clé "
                f"n'est pas la bonne ou le fichier est abîmé. Remettez la clé d'origine, ou "
                f"{RELANCER}."
            ) from None
        try:
            return JetonEnregistre.model_validate_json(clair)
        except ValidationError:
            raise ErreurOAuth(
                f"Le jeton OAuth2 enregistré ({self.fichier}) est illisible : {RELANCER}."
            ) from None

    def ecrire(self, jeton: JetonEnregistre) -> None:
        self.fichier.parent.mkdir(parents=True, exist_ok=True)
        _ecrire_0600(self.fichier, self._fernet.encrypt(jeton.model_dump_json().encode()))

    def garder_l_ancien(self) -> Path | None:
        """Avant d'écraser un fichier qui ne se lit plus : ses octets sont gardés à côté."""
        if not self.fichier.exists():
            return None
        copie = self.fichier.with_name(self.fichier.name + ".ancien")
        os.replace(self.fichier, copie)
        return copie

    @contextlib.contextmanager
    def verrou(self) -> Iterator[None]:
        """Un seul renouvellement à la fois : la relève et le digest peuvent se croiser, et un
        jeton de rafraîchissement qui tourne ne sert qu'une fois."""
        self.fichier.parent.mkdir(parents=True, exist_ok=True)
        with (self.fichier.parent / (self.fichier.name + ".verrou")).open("a+b") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)


# --- Le fournisseur : échanges par authlib ----------------------------------------------------


def _client(p: ParametresOAuth) -> OAuth2Client:
    return OAuth2Client(
        client_id=p.client_id,
        client_secret=p.secret_client or None,
        token_endpoint_auth_method="client_secret_post" if p.secret_client else "none",
        scope=p.scopes or None,
        timeout=p.delai_s,
        trust_env=False,
    )


def traduire(p: ParametresOAuth, e: BaseException) -> ErreurOAuth:
    """Une panne du fournisseur en une phrase qui dit quoi faire."""
    if isinstance(e, OAuthError):
        code = str(e.error or "")
        if code == "invalid_grant":
            return ErreurOAuth(
                "Le fournisseur OAuth2 refuse le jeton de rafraîchissement : le consentement a "
                f"été retiré, le mot de passe changé ou le jeton a expiré. {RELANCER.capitalize()}."
            )
        if code in ("invalid_client", "unauthorized_client"):
            return ErreurOAuth(
                f"Le fournisseur OAuth2 ne reconnaît pas l'application « {p.client_id} » : "
                f"vérifiez COURRIER_OAUTH_CLIENT_ID (et le secret pour Google), puis {RELANCER}."
            )
        if code == "invalid_scope" and p.fournisseur == "google":
            return ErreurOAuth(
                "Google refuse l'accès à Gmail par le flux « code à saisir » (il n'y permet "
                "qu'une courte liste d'autorisations, sans Gmail) : pour Gmail, gardez le mot "
                "de passe d'application (COURRIER_IMAP_AUTH=motdepasse)."
            )
        if code == "invalid_scope":
            return ErreurOAuth(
                f"Le fournisseur OAuth2 refuse les autorisations demandées ({p.scopes}) : "
                "vérifiez COURRIER_OAUTH_SCOPES et les droits de l'application."
            )
        if code in ("temporarily_unavailable", "server_error"):
            return ErreurOAuthPassagere(
                f"Le fournisseur OAuth2 ({p.point_jeton}) est momentanément en panne ({code})."
            )
        return ErreurOAuth(f"Le fournisseur OAuth2 a refusé ({code[:80] or 'sans motif'}).")
    if isinstance(e, http.HTTPStatusError) and e.response.status_code >= 500:
        return ErreurOAuthPassagere(
            f"Le fournisseur OAuth2 ({p.point_jeton}) est momentanément en panne "
            f"(HTTP {e.response.status_code})."
        )
    if isinstance(e, http.TransportError):
        return ErreurOAuthPassagere(
            f"Le fournisseur OAuth2 ({p.point_jeton}) est injoignable ({e.__class__.__name__})."
        )
    if isinstance(e, (ValueError, ValidationError)):  # JSON faux ou incomplet
        return ErreurOAuth(
            f"Le fournisseur OAuth2 ({p.point_jeton}) a répondu quelque chose d'illisible "
            "(pas un jeton OAuth2)."
        )
    return ErreurOAuth(f"Échange OAuth2 impossible ({e.__class__.__name__}).")


def _echanger(p: ParametresOAuth, action: Callable[[OAuth2Client], Any]) -> _ReponseJeton:
    try:
        with _client(p) as client:
            brut = action(client)
        return _ReponseJeton.model_validate(dict(brut))
    except ErreurOAuth:
        raise
    except (OAuthError, http.HTTPError, ValueError, TypeError) as e:
        raise traduire(p, e) from e


def _enregistrement(
    p: ParametresOAuth, r: _ReponseJeton, ancien_rafraichissement: str, maintenant: datetime
) -> JetonEnregistre:
    rafraichissement = r.refresh_token or ancien_rafraichissement
    if not rafraichissement:
        raise ErreurOAuth(
            "Le fournisseur n'a pas donné de jeton de rafraîchissement : ajoutez "
            "« offline_access » à COURRIER_OAUTH_SCOPES (Microsoft), puis "
            f"{RELANCER}."
        )
    expire = maintenant + timedelta(seconds=r.expires_in) if r.expires_in is not None else None
    return JetonEnregistre(
        client_id=p.client_id,
        jeton_rafraichissement=rafraichissement,
        jeton_acces=r.access_token,
        expire_le=expire,
    )


class JetonsOAuth:
    """Le jeton d'accès du moment : celui du coffre tant qu'il vit, sinon un neuf."""

    def __init__(
        self,
        p: ParametresOAuth,
        coffre: CoffreJeton,
        maintenant: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.p = p
        self.coffre = coffre
        self.maintenant = maintenant

    def __call__(self, forcer: bool = False) -> str:
        """Le jeton d'accès ; `forcer` : le serveur vient de refuser celui du coffre."""
        with self.coffre.verrou():
            enregistre = self.coffre.lire()
            if enregistre.client_id != self.p.client_id:
                raise ErreurOAuth(
                    f"Le jeton enregistré a été donné à l'application « {enregistre.client_id} », "
                    f"pas à « {self.p.client_id} » (COURRIER_OAUTH_CLIENT_ID) : {RELANCER}."
                )
            if not forcer and self._encore_valide(enregistre):
                return enregistre.jeton_acces
            ancien = enregistre.jeton_rafraichissement
            reponse = _echanger(
                self.p, lambda c: c.refresh_token(self.p.point_jeton, refresh_token=ancien)
            )
            neuf = _enregistrement(self.p, reponse, ancien, self.maintenant())
            self.coffre.ecrire(neuf)
            return neuf.jeton_acces

    def _encore_valide(self, e: JetonEnregistre) -> bool:
        if not e.jeton_acces or e.expire_le is None:
            return False
        return e.expire_le.astimezone(UTC) - MARGE > self.maintenant()


# --- Le flux « device code » (RFC 8628) --------------------------------------------------------


def demander_code(p: ParametresOAuth) -> DemandeAppareil:
    """Première étape : le code à saisir et l'adresse où le saisir."""
    try:
        with _client(p) as client:
            donnees = {"client_id": p.client_id}
            if p.scopes:
                donnees["scope"] = p.scopes
            reponse = client.request("POST", p.point_appareil, data=donnees, withhold_token=True)
            corps = reponse.json()
            if isinstance(corps, dict) and "error" in corps:
                raise OAuthError(
                    error=str(corps.get("error")), description=corps.get("error_description")
                )
            demande = DemandeAppareil.model_validate(corps)
    except (OAuthError, http.HTTPError, ValueError, TypeError) as e:
        raise traduire(p, e) from e
    if not demande.adresse:
        raise traduire(p, ValueError("adresse de vérification absente"))
    return demande


def attendre_consentement(
    p: ParametresOAuth,
    demande: DemandeAppareil,
    maintenant: Callable[[], datetime] = lambda: datetime.now(UTC),
    dormir: Callable[[float], None] = time.sleep,
) -> JetonEnregistre:
    """Interroge le point de jeton au rythme demandé jusqu'au consentement (ou au refus)."""
    fin = maintenant() + timedelta(seconds=demande.expires_in)
    intervalle = float(demande.interval)
    while True:
        try:
            reponse = _echanger(
                p,
                lambda c: c.fetch_token(
                    p.point_jeton, grant_type=GRANT_APPAREIL, device_code=demande.device_code
                ),
            )
            return _enregistrement(p, reponse, "", maintenant())
        except ErreurOAuth as e:
            cause = e.__cause__
            code = str(cause.error or "") if isinstance(cause, OAuthError) else ""
            if code == "slow_down":
                intervalle += 5  # RFC 8628 §3.5
            elif code != "authorization_pending":
                if code == "access_denied":
                    raise ErreurOAuth(
                        "La connexion a été refusée sur la page du fournisseur."
                    ) from e
                if code == "expired_token":
                    raise ErreurOAuth(f"Le code a expiré avant d'être saisi : {RELANCER}.") from e
                raise
        if maintenant() + timedelta(seconds=intervalle) > fin:
            raise ErreurOAuth(f"Le code a expiré avant d'être saisi : {RELANCER}.")
        dormir(intervalle)
