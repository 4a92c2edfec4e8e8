"""Les mécanismes SASL XOAUTH2 et OAUTHBEARER (RFC 7628), côté IMAP et SMTP.

Module léger, sans authlib : les connecteurs IMAP et SMTP l'importent toujours, même quand la
boîte s'identifie par mot de passe. Le jeton vient d'une fonction (`connecteurs.oauth`) ; si le
serveur refuse celui du coffre, un jeton renouvelé de force est essayé une fois.
"""

from __future__ import annotations

from collections.abc import Callable

from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from noyau.erreurs import ConnecteurErreur, ErreurEntreeSortie

# Rend le jeton d'accès ; l'argument vrai demande un jeton neuf (le serveur a refusé l'autre).
SourceJeton = Callable[[bool], str]
MECANISMES = ("XOAUTH2", "OAUTHBEARER")


class ErreurOAuth(ConnecteurErreur):
    """Le jeton OAuth2 manque, est illisible, ou le fournisseur le refuse."""


class ErreurOAuthPassagere(ErreurOAuth, ErreurEntreeSortie):
    """Fournisseur injoignable ou en panne : une nouvelle tentative a un sens."""


def identifier_imap(
    client: IMAPClient, utilisateur: str, jeton: SourceJeton, mecanisme: str
) -> None:
    for forcer in (False, True):
        acces = jeton(forcer)
        try:
            if mecanisme.upper() == "OAUTHBEARER":
                client.oauthbearer_login(utilisateur, acces)
            else:
                client.oauth2_login(utilisateur, acces)
            return
        except LoginError:
            if forcer:
                raise


def reponse_initiale(mecanisme: str, utilisateur: str, acces: str) -> str:
    """La réponse SASL que smtplib encode en base64 (même format que celui d'imapclient)."""
    if mecanisme.upper() == "OAUTHBEARER":
        identite = utilisateur.replace("=", "=3D").replace(",", "=2C")
        return f"n,a={identite},\x01auth=Bearer {acces}\x01\x01"
    return f"user={utilisateur}\x01auth=Bearer {acces}\x01\x01"


def repondeur_smtp(mecanisme: str, utilisateur: str, acces: str) -> Callable[..., str]:
    """L'objet d'authentification de `smtplib.SMTP.auth` : la réponse initiale, puis, si le
    serveur renvoie son erreur JSON en défi, la réponse vide (XOAUTH2) ou %x01 (RFC 7628 §3.2.3)
    qui clôt l'échange et laisse le serveur dire 535."""

    def repondre(challenge: bytes | None = None) -> str:
        if not challenge:
            return reponse_initiale(mecanisme, utilisateur, acces)
        return "\x01" if mecanisme.upper() == "OAUTHBEARER" else ""

    return repondre
