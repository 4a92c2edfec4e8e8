"""Le serveur d'envoi de la mairie (SMTP, smtplib) : le digest du maire, plus tard les réponses.

Un envoi se fait en étapes dont on sait, à chaque échec, si le message a pu partir :
tant que la commande DATA n'a pas reçu sa réponse finale, rien n'est parti (`rien_envoye`),
et seule une erreur de ce genre, passagère (connexion refusée, délai, code 4xx), mérite une
nouvelle tentative. Une coupure pendant ou juste après DATA laisse un doute : le serveur a
peut-être accepté le message, et le renvoyer risquerait un doublon ; l'erreur le dit.

Les messages d'erreur sont en français, ne contiennent jamais le mot de passe ni le contenu
du message ; ils citent au plus la réponse du serveur.
"""

from __future__ import annotations

import contextlib
import copy
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Literal

from connecteurs.oauth_sasl import ErreurOAuth, SourceJeton, repondeur_smtp
from noyau.erreurs import ConnecteurErreur, ErreurEntreeSortie

Securite = Literal["ssl", "starttls", "aucune"]


class ErreurSmtp(ConnecteurErreur):
    """Le serveur d'envoi refuse ou ne répond pas.

    `rien_envoye` : vrai quand il est certain que le serveur n'a pas accepté le message
    (échec avant la fin de DATA, ou refus explicite) ; faux quand il a pu l'accepter.
    """

    def __init__(self, message: str, rien_envoye: bool = True) -> None:
        super().__init__(message)
        self.rien_envoye = rien_envoye


class ErreurSmtpPassagere(ErreurSmtp, ErreurEntreeSortie):
    """Connexion refusée, délai dépassé, code 4xx : rien n'est parti, on peut réessayer."""


@dataclass(frozen=True)
class ParametresSmtp:
    hote: str
    port: int
    utilisateur: str = ""
    mot_de_passe: str = ""
    securite: Securite = "starttls"
    delai_s: float = 60.0
    # OAuth2 (XOAUTH2 ou OAUTHBEARER) : rend le jeton d'accès ; absent, le mot de passe sert.
    jeton: SourceJeton | None = field(default=None, compare=False)
    mecanisme: str = "XOAUTH2"

    def __repr__(self) -> str:  # le mot de passe ne doit pas finir dans un journal
        return (
            f"ParametresSmtp(hote={self.hote!r}, port={self.port}, "
            f"utilisateur={self.utilisateur!r}, securite={self.securite!r})"
        )


def adresses_du_message(message: EmailMessage) -> tuple[str, list[str]]:
    """L'expéditeur d'enveloppe (Sender, sinon From) et tous les destinataires (To, Cc, Bcc)."""
    expediteurs = [a for _, a in getaddresses([str(message.get("Sender") or "")]) if a]
    expediteurs = expediteurs or [a for _, a in getaddresses([str(message.get("From") or "")]) if a]
    destinataires: list[str] = []
    for champ in ("To", "Cc", "Bcc"):
        valeurs = [str(v) for v in message.get_all(champ, [])]
        destinataires += [a for _, a in getaddresses(valeurs) if a and a not in destinataires]
    return (expediteurs[0] if expediteurs else ""), destinataires


class ClientSmtp:
    def __init__(self, parametres: ParametresSmtp) -> None:
        self.p = parametres

    @property
    def _serveur(self) -> str:
        return f"{self.p.hote}:{self.p.port}"

    def envoyer(self, message: EmailMessage) -> None:
        """Envoie le message à tous ses destinataires, ou à aucun (lève `ErreurSmtp`)."""
        expediteur, destinataires = adresses_du_message(message)
        if not expediteur or not destinataires:
            raise ErreurSmtp("Le message n'a pas d'expéditeur ou pas de destinataire.")
        if "Bcc" in message:  # les copies cachées ne voyagent pas dans les en-têtes
            message = copy.deepcopy(message)
            del message["Bcc"]
        donnees = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))

        smtp = self._connecter()
        try:
            self._enveloppe(smtp, expediteur, destinataires)
            self._donnees(smtp, donnees)
        finally:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.quit()
            with contextlib.suppress(OSError):
                smtp.close()

    # --- Étapes -----------------------------------------------------------------------------

    def _connecter(self) -> smtplib.SMTP:
        p = self.p
        # getfqdn() peut attendre le DNS plusieurs secondes ; le nom court suffit pour EHLO.
        nom_local = socket.gethostname() or "localhost"
        smtp: smtplib.SMTP | None = None
        try:
            contexte = ssl.create_default_context()
            if p.securite == "ssl":
                smtp = smtplib.SMTP_SSL(
                    p.hote, p.port, local_hostname=nom_local, timeout=p.delai_s, context=contexte
                )
            else:
                smtp = smtplib.SMTP(p.hote, p.port, local_hostname=nom_local, timeout=p.delai_s)
            smtp.ehlo()
            if p.securite == "starttls":
                smtp.starttls(context=contexte)
                smtp.ehlo()
            if p.jeton is not None:
                self._identifier_oauth(smtp, p.jeton)
            elif p.utilisateur:
                smtp.login(p.utilisateur, p.mot_de_passe)
            return smtp
        except BaseException as e:
            if smtp is not None:
                with contextlib.suppress(OSError):
                    smtp.close()
            raise self._traduire_connexion(e) from e

    def _identifier_oauth(self, smtp: smtplib.SMTP, jeton: SourceJeton) -> None:
        # Un jeton refusé alors qu'il semblait vivant (révoqué) : un neuf est essayé une fois.
        for forcer in (False, True):
            repondre = repondeur_smtp(self.p.mecanisme, self.p.utilisateur, jeton(forcer))
            try:
                smtp.auth(self.p.mecanisme, repondre, initial_response_ok=True)
                return
            except smtplib.SMTPAuthenticationError:
                if forcer:
                    raise

    def _traduire_connexion(self, e: BaseException) -> BaseException:
        p = self.p
        if isinstance(e, ErreurOAuth):
            classe = ErreurSmtpPassagere if isinstance(e, ErreurEntreeSortie) else ErreurSmtp
            return classe(f"Envoi par {self._serveur} impossible : {e}")
        if isinstance(e, smtplib.SMTPAuthenticationError):
            return self._traduire_authentification(e)
        if isinstance(e, smtplib.SMTPNotSupportedError):
            quoi = "STARTTLS" if p.securite == "starttls" else "l'authentification"
            return ErreurSmtp(
                f"Le serveur SMTP {self._serveur} ne propose pas {quoi} : vérifiez "
                "COURRIER_SMTP_SECURITE et COURRIER_SMTP_PORT."
            )
        if isinstance(e, smtplib.SMTPResponseException):
            return self._selon_code(e.smtp_code, e.smtp_error, "a refusé la connexion")
        if isinstance(e, smtplib.SMTPServerDisconnected):
            return ErreurSmtpPassagere(f"Le serveur SMTP {self._serveur} a coupé la connexion.")
        # SSLError est un OSError : un certificat refusé n'est pas une panne passagère.
        if isinstance(e, ssl.SSLError):
            return ErreurSmtp(
                f"La connexion chiffrée au serveur SMTP {self._serveur} a échoué "
                f"({e.__class__.__name__}) : vérifiez COURRIER_SMTP_SECURITE et le certificat."
            )
        if isinstance(e, (TimeoutError, ConnectionError, OSError)):
            return ErreurSmtpPassagere(
                f"Le serveur SMTP {self._serveur} ne répond pas ({e.__class__.__name__})."
            )
        if isinstance(e, smtplib.SMTPException):
            return ErreurSmtp(f"Le serveur SMTP {self._serveur} a refusé : {self._propre(e)}.")
        return e

    def _traduire_authentification(self, e: smtplib.SMTPAuthenticationError) -> BaseException:
        """Un 4xx laisse réessayer plus tard ; un 5xx dit ce qu'il faut corriger."""
        p = self.p
        passager = 400 <= e.smtp_code < 500
        if p.jeton is not None:
            if passager:
                return ErreurSmtpPassagere(
                    f"Le serveur SMTP {self._serveur} ne peut pas vérifier le jeton OAuth2 pour "
                    f"l'instant ({self._reponse(e.smtp_code, e.smtp_error)})."
                )
            return ErreurSmtp(
                f"Le serveur SMTP {self._serveur} refuse le jeton OAuth2 de {p.utilisateur}, "
                "même renouvelé : vérifiez que l'application a le droit d'envoyer (SMTP) pour "
                "cette boîte, puis relancez « courrier connexion-oauth »."
            )
        if passager:
            return ErreurSmtpPassagere(
                f"Le serveur SMTP {self._serveur} ne peut pas vérifier l'identifiant pour "
                f"l'instant ({self._reponse(e.smtp_code, e.smtp_error)})."
            )
        return ErreurSmtp(
            f"Le serveur SMTP {self._serveur} refuse l'identifiant ou le mot de passe "
            f"de {p.utilisateur}."
        )

    def _enveloppe(self, smtp: smtplib.SMTP, expediteur: str, destinataires: list[str]) -> None:
        """MAIL FROM et RCPT TO : un refus ici garantit que rien n'est parti."""
        try:
            code, reponse = smtp.mail(expediteur)
            if code != 250:
                raise self._selon_code(code, reponse, f"refuse l'expéditeur {expediteur}")
            for adresse in destinataires:
                code, reponse = smtp.rcpt(adresse)
                if code not in (250, 251):
                    with contextlib.suppress(smtplib.SMTPException, OSError):
                        smtp.rset()
                    raise self._selon_code(code, reponse, f"refuse le destinataire {adresse}")
        except ErreurSmtp:
            raise
        except smtplib.SMTPServerDisconnected as e:
            raise ErreurSmtpPassagere(
                f"Le serveur SMTP {self._serveur} a coupé la connexion avant l'envoi."
            ) from e
        except (TimeoutError, OSError) as e:
            raise ErreurSmtpPassagere(
                f"Le serveur SMTP {self._serveur} ne répond plus ({e.__class__.__name__})."
            ) from e
        except smtplib.SMTPException as e:
            raise ErreurSmtp(
                f"Le serveur SMTP {self._serveur} a refusé : {self._propre(e)}."
            ) from e

    def _donnees(self, smtp: smtplib.SMTP, donnees: bytes) -> None:
        try:
            code, reponse = smtp.data(donnees)
        except smtplib.SMTPDataError as e:
            # Refus de la commande DATA elle-même (pas de 354) : le message n'est pas parti.
            raise self._selon_code(e.smtp_code, e.smtp_error, "refuse le message") from e
        except (smtplib.SMTPException, OSError) as e:
            raise ErreurSmtp(
                f"La connexion au serveur SMTP {self._serveur} s'est interrompue pendant "
                f"l'envoi ({e.__class__.__name__}) : le message est peut-être parti.",
                rien_envoye=False,
            ) from e
        if code != 250:
            raise self._selon_code(code, reponse, "refuse le message")

    # --- Outils -----------------------------------------------------------------------------

    def _selon_code(self, code: int, reponse: bytes | str, quoi: str) -> ErreurSmtp:
        texte = f"Le serveur SMTP {self._serveur} {quoi} ({self._reponse(code, reponse)})."
        if 400 <= code < 500:
            return ErreurSmtpPassagere(texte)
        return ErreurSmtp(texte)

    def _reponse(self, code: int, reponse: bytes | str) -> str:
        if isinstance(reponse, bytes):
            reponse = reponse.decode("utf-8", "replace")
        texte = " ".join(reponse.split())[:200]
        return self._masquer(f"{code} {texte}".strip())

    def _propre(self, e: BaseException) -> str:
        return self._masquer(" ".join(str(e).split())[:200] or e.__class__.__name__)

    def _masquer(self, texte: str) -> str:
        # Un serveur qui recopie ce qu'on lui a dit ne doit pas faire fuir le mot de passe.
        if self.p.mot_de_passe:
            texte = texte.replace(self.p.mot_de_passe, "***")
        return texte
