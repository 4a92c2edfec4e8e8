"""Les réglages OAuth2 de la boîte de la mairie (une boîte, un jeton pour IMAP et SMTP).

Microsoft 365 et Gmail donnent un seul jeton pour la lecture (IMAP) et l'envoi (SMTP) quand on
demande les deux autorisations : un seul compte OAuth2 est donc réglé, et chaque côté choisit
s'il s'en sert (`COURRIER_IMAP_AUTH`, `COURRIER_SMTP_AUTH`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings

from noyau.erreurs import ConfigurationErreur

if TYPE_CHECKING:
    from connecteurs.oauth import CoffreJeton, JetonsOAuth, ParametresOAuth

Authentification = Literal["motdepasse", "oauth2"]


class ReglagesOAuth(BaseSettings):
    donnees: Path = Path("donnees")

    imap_auth: Authentification = "motdepasse"
    smtp_auth: Authentification = "motdepasse"
    oauth_fournisseur: Literal["microsoft", "google", "generique"] = "microsoft"
    oauth_client_id: str | None = None
    oauth_secret_client: SecretStr | None = None
    # Microsoft : l'annuaire (tenant) de la mairie, son nom de domaine ou son identifiant ;
    # « organizations » accepte tout compte professionnel.
    oauth_tenant: str = "organizations"
    oauth_scopes: str = ""  # vide : ceux d'IMAP et SMTP chez le fournisseur
    oauth_point_jeton: str | None = None  # vide : celui du fournisseur
    oauth_point_appareil: str | None = None
    oauth_mecanisme: Literal["xoauth2", "oauthbearer"] = "xoauth2"
    oauth_fichier_jeton: Path | None = None  # vide : DONNEES/oauth/jeton.chiffre
    oauth_fichier_cle: Path | None = None  # vide : DONNEES/oauth.cle
    oauth_cle: SecretStr | None = None  # la clé Fernet elle-même, à la place du fichier
    oauth_delai_s: float = Field(default=30.0, gt=0)

    @field_validator(
        "oauth_client_id",
        "oauth_point_jeton",
        "oauth_point_appareil",
        "oauth_fichier_jeton",
        "oauth_fichier_cle",
        "oauth_secret_client",
        "oauth_cle",
        mode="before",
    )
    @classmethod
    def _oauth_vide_absent(cls, valeur: object) -> object:
        if isinstance(valeur, str) and not valeur.strip():
            return None
        return valeur.strip() if isinstance(valeur, str) else valeur

    @field_validator(
        "imap_auth", "smtp_auth", "oauth_fournisseur", "oauth_mecanisme", mode="before"
    )
    @classmethod
    def _minuscules(cls, valeur: object) -> object:
        return valeur.strip().lower() if isinstance(valeur, str) else valeur

    @property
    def oauth_utilise(self) -> bool:
        return "oauth2" in (self.imap_auth, self.smtp_auth)

    @property
    def chemin_jeton_oauth(self) -> Path:
        return self.oauth_fichier_jeton or self.donnees / "oauth" / "jeton.chiffre"

    @property
    def chemin_cle_oauth(self) -> Path:
        return self.oauth_fichier_cle or self.donnees / "oauth.cle"

    def verifier_oauth(self) -> None:
        if self.oauth_utilise:
            self._verifier_compte_oauth()

    def _verifier_compte_oauth(self) -> None:
        if not self.oauth_client_id:
            raise ConfigurationErreur(
                "COURRIER_OAUTH_CLIENT_ID manque : c'est l'identifiant de l'application "
                "inscrite chez Microsoft Entra ou Google Cloud (voir deploiement/README.md)."
            )
        for nom, valeur in (
            ("COURRIER_OAUTH_POINT_JETON", self.oauth_point_jeton),
            ("COURRIER_OAUTH_POINT_APPAREIL", self.oauth_point_appareil),
        ):
            if valeur and not valeur.startswith(("https://", "http://")):
                raise ConfigurationErreur(f"{nom} doit commencer par https:// (reçu « {valeur} »).")
            if not valeur and self.oauth_fournisseur == "generique":
                raise ConfigurationErreur(
                    f"{nom} manque : avec COURRIER_OAUTH_FOURNISSEUR=generique, les adresses "
                    "du fournisseur sont à donner."
                )

    def parametres_oauth(self) -> ParametresOAuth:
        from connecteurs.oauth import SCOPES_PAR_DEFAUT, ParametresOAuth, points_par_defaut

        self._verifier_compte_oauth()
        appareil, jeton = points_par_defaut(self.oauth_fournisseur, self.oauth_tenant.strip())
        secret = self.oauth_secret_client
        scopes = self.oauth_scopes or SCOPES_PAR_DEFAUT[self.oauth_fournisseur]
        return ParametresOAuth(
            fournisseur=self.oauth_fournisseur,
            client_id=self.oauth_client_id or "",
            scopes=" ".join(scopes.split()),
            point_appareil=self.oauth_point_appareil or appareil,
            point_jeton=self.oauth_point_jeton or jeton,
            secret_client=secret.get_secret_value() if secret else "",
            delai_s=self.oauth_delai_s,
        )

    def coffre_oauth(self, creer_cle: bool = False) -> CoffreJeton:
        """La clé et le fichier ne sont lus qu'à l'usage : une panne OAuth2 est celle de la
        relève ou de l'envoi (consignée, dite au digest), pas celle du démarrage."""
        from connecteurs.oauth import CoffreJeton, lire_cle

        cle = self.oauth_cle.get_secret_value() if self.oauth_cle else None
        fichier_cle = self.chemin_cle_oauth
        return CoffreJeton(self.chemin_jeton_oauth, lambda: lire_cle(cle, fichier_cle, creer_cle))

    def jetons_oauth(self) -> JetonsOAuth:
        from connecteurs.oauth import JetonsOAuth

        return JetonsOAuth(self.parametres_oauth(), self.coffre_oauth())

    @property
    def mecanisme_oauth(self) -> str:
        return self.oauth_mecanisme.upper()
