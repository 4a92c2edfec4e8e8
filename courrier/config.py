"""Les réglages : variables d'environnement `COURRIER_…` et fichier `.env` facultatif.

Lus une fois (`reglages()`), validés au démarrage ; un mauvais réglage devient une seule
phrase française qui nomme la variable. Les secrets ne sont jamais écrits ailleurs.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import SettingsConfigDict

from courrier.config_oauth import ReglagesOAuth
from noyau.analyse import Commune
from noyau.communes import COMMUNE_PAR_DEFAUT, verifier_identifiant
from noyau.domaine import Limites
from noyau.erreurs import ConfigurationErreur
from noyau.pages_ocr import SEUIL_PAR_DEFAUT

if TYPE_CHECKING:
    from connecteurs.imap import ParametresImap

PREFIXE = "COURRIER_"


class Reglages(ReglagesOAuth):
    model_config = SettingsConfigDict(
        env_prefix=PREFIXE,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    donnees: Path = Path("donnees")
    base_de_donnees: str | None = None
    # La commune servie (courrier/communes.py) ; `defaut` : l'installation elle-même.
    # `courrier --commune ID …` et les flows de chaque commune le posent.
    commune_id: str = COMMUNE_PAR_DEFAUT
    # Pour une commune autre que `defaut` : les données de l'installation (ses `donnees` sont
    # alors son propre dossier). Posé par courrier/communes.py, jamais à la main.
    installation: Path | None = None

    imap_hote: str | None = None
    imap_port: int | None = Field(default=None, ge=1, le=65535)
    imap_utilisateur: str | None = None
    imap_mot_de_passe: SecretStr | None = None
    imap_securite: Literal["ssl", "starttls", "aucune"] = "ssl"
    imap_dossier: str = "INBOX"
    imap_dossier_traite: str = "Traité"
    # Où déposer la copie des réponses envoyées ; vide : le dossier « \\Sent » du serveur.
    imap_dossier_envoyes: str = ""
    imap_delai_s: float = Field(default=60.0, gt=0)

    depot_scans: Path | None = None
    depot_eml: Path | None = None
    # Un fichier modifié depuis moins longtemps est peut-être encore en cours d'écriture.
    depot_delai_stabilite_s: float = Field(default=30.0, ge=0)
    # Lots de scans : une page blanche sépare aussi deux lettres (faux par défaut : le verso
    # blanc d'une lettre recto verso la couperait en deux).
    depot_page_blanche: bool = False

    llm_url: str | None = None
    llm_cle: SecretStr | None = None
    llm_modele: str | None = None
    llm_parallele: int = Field(default=2, ge=1, le=64)
    llm_delai_s: float = Field(default=60.0, gt=0)
    llm_tentatives: int = Field(default=3, ge=1, le=10)
    llm_budget_jetons: int = Field(default=6000, ge=500)
    # Vide : activée dès que le point d'accès n'est pas sur cette machine.
    llm_pseudonymiser: bool | None = None

    # Apprendre des corrections de la secrétaire (courrier/apprentissage.py) : le classifieur
    # local l'emporte sur les règles au-dessus de ce seuil de probabilité ; il se tait tant
    # qu'une valeur a moins d'exemples que le minimum.
    apprentissage: bool = True
    apprentissage_seuil: float = Field(default=0.55, ge=0.0, le=1.0)
    apprentissage_min_exemples: int = Field(default=3, ge=1, le=1000)

    regles: Path | None = None  # dossier des règles ; par défaut celles livrées avec Courrier
    commune: str = "Commune"
    maire: str = ""
    commune_adresse: str = ""
    commune_telephone: str = ""
    commune_email: str = ""
    signataire: str = ""

    ocr_langues: str = "fra"
    ocr_processus: int = Field(default=0, ge=0)  # 0 : un par cœur
    # Une page lue par OCR sous cette confiance moyenne (0–100) est signalée « lecture à
    # vérifier ». 60 : une page nette donne 90 à 96, une page dactylographiée du corpus 82 ;
    # sous 60 un mot sur trois ou plus est faux (mesuré sur les pages bruitées de test_ocr).
    ocr_seuil_confiance: float = Field(default=SEUIL_PAR_DEFAUT, ge=0, le=100)
    taille_max_piece_mo: int = Field(default=50, ge=1)
    pages_max_ocr: int = Field(default=30, ge=1)
    pages_max_texte: int = Field(default=500, ge=1)
    pixels_max: int = Field(default=60_000_000, ge=1_000_000)

    # Envoi (digest du maire, plus tard les réponses validées).
    smtp_hote: str | None = None
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_utilisateur: str | None = None
    smtp_mot_de_passe: SecretStr | None = None
    smtp_securite: Literal["ssl", "starttls", "aucune"] = "starttls"
    smtp_delai_s: float = Field(default=60.0, gt=0)
    adresse_mairie: str | None = None  # l'expéditeur (From) ; par défaut COURRIER_COMMUNE_EMAIL
    destinataires_digest: str = ""  # adresses séparées par des virgules
    url_publique: str | None = None  # adresse de la page web, pour les liens du digest
    # Ancrage du journal (RFC 3161) : le service d'horodatage et le certificat racine (PEM) qui
    # permet de vérifier ses jetons ; sans URL, pas d'ancrage.
    horodatage_url: str | None = None
    horodatage_certificats: Path | None = None
    horodatage_delai_s: float = Field(default=30.0, gt=0)
    # Les mandataires HTTPS (nginx, Caddy) dont les en-têtes X-Forwarded-For et
    # X-Forwarded-Proto sont crus : adresses ou réseaux séparés par des virgules. Vide : aucun,
    # car un en-tête venu de n'importe qui permettrait de changer d'adresse à chaque essai.
    mandataires: str = ""

    @field_validator(
        "imap_hote",
        "imap_utilisateur",
        "base_de_donnees",
        "llm_url",
        "llm_modele",
        "llm_pseudonymiser",
        mode="before",
    )
    @classmethod
    def _vide_devient_absent(cls, valeur: object) -> object:
        if isinstance(valeur, str) and not valeur.strip():
            return None
        return valeur

    @field_validator("llm_pseudonymiser", "depot_page_blanche", mode="before")
    @classmethod
    def _oui_non(cls, valeur: object) -> object:
        if isinstance(valeur, str):
            mot = valeur.strip().lower()
            if mot in {"oui", "o", "vrai"}:
                return True
            if mot in {"non", "n", "faux"}:
                return False
        return valeur

    @field_validator(
        "smtp_hote", "smtp_utilisateur", "adresse_mairie", "url_publique", mode="before"
    )
    @classmethod
    def _envoi_vide_absent(cls, valeur: object) -> object:
        if isinstance(valeur, str) and not valeur.strip():
            return None
        return valeur.strip() if isinstance(valeur, str) else valeur

    @field_validator("depot_scans", "depot_eml", "regles", mode="before")
    @classmethod
    def _chemin_vide_absent(cls, valeur: object) -> object:
        if isinstance(valeur, str) and not valeur.strip():
            return None
        return valeur

    @field_validator("commune_id", mode="before")
    @classmethod
    def _identifiant(cls, valeur: object) -> object:
        if isinstance(valeur, str):
            return verifier_identifiant(valeur.strip() or COMMUNE_PAR_DEFAUT)
        return valeur

    @property
    def racine(self) -> Path:
        """Le dossier des données de l'installation (celui de toutes les communes)."""
        return self.installation or self.donnees

    @property
    def url_base(self) -> str:
        if self.base_de_donnees:
            return self.base_de_donnees
        return f"sqlite:///{(self.donnees / 'registre.sqlite3').resolve()}"

    @property
    def gabarits(self) -> Path | None:
        """Les gabarits de réponse des règles réglées, s'ils y sont (sinon ceux livrés)."""
        if self.regles is not None and (self.regles / "gabarits").is_dir():
            return self.regles / "gabarits"
        return None

    @property
    def imap_configure(self) -> bool:
        return bool(self.imap_hote and self.imap_utilisateur)

    @property
    def port_imap(self) -> int:
        if self.imap_port:
            return self.imap_port
        return 993 if self.imap_securite == "ssl" else 143

    @property
    def limites(self) -> Limites:
        return Limites(
            taille_max_piece=self.taille_max_piece_mo * 1024 * 1024,
            pages_max_ocr=self.pages_max_ocr,
            pages_max_texte=self.pages_max_texte,
            pixels_max=self.pixels_max,
            ocr_langues=self.ocr_langues,
        )

    @property
    def processus_ocr(self) -> int:
        return self.ocr_processus or max(1, os.cpu_count() or 1)

    @property
    def llm_configure(self) -> bool:
        return bool(self.llm_url)

    @property
    def pseudonymisation(self) -> bool:
        if self.llm_pseudonymiser is not None:
            return self.llm_pseudonymiser
        from connecteurs.pseudonymisation import pseudonymiser_par_defaut

        return pseudonymiser_par_defaut(self.llm_url or "")

    @property
    def port_smtp(self) -> int:
        if self.smtp_port:
            return self.smtp_port
        return {"ssl": 465, "starttls": 587, "aucune": 25}[self.smtp_securite]

    @property
    def expediteur_mairie(self) -> str | None:
        return self.adresse_mairie or (self.commune_email.strip() or None)

    def parametres_imap(self) -> ParametresImap:
        """La boîte de la mairie ; à n'appeler que si `imap_configure` (mot de passe vérifié)."""
        from connecteurs.imap import ParametresImap

        assert self.imap_hote and self.imap_utilisateur
        oauth, mot_de_passe = self.imap_auth == "oauth2", self.imap_mot_de_passe
        assert oauth or mot_de_passe is not None
        return ParametresImap(
            hote=self.imap_hote,
            port=self.port_imap,
            utilisateur=self.imap_utilisateur,
            mot_de_passe=mot_de_passe.get_secret_value() if mot_de_passe else "",
            jeton=self.jetons_oauth() if oauth else None,
            mecanisme=self.mecanisme_oauth,
            securite=self.imap_securite,
            dossier=self.imap_dossier,
            dossier_traite=self.imap_dossier_traite,
            delai_s=self.imap_delai_s,
        )

    def commune_de_la_mairie(self) -> Commune:
        """La commune telle que les brouillons, les lettres et les réponses la nomment."""
        return Commune(
            nom=self.commune,
            maire=self.maire,
            adresse=self.commune_adresse.replace("\\n", "\n"),  # « \n » écrit dans un .env
            telephone=self.commune_telephone,
            email=self.commune_email,
            signataire=self.signataire,
        )

    @property
    def liste_destinataires_digest(self) -> list[str]:
        # Le point-virgule est accepté aussi : c'est le séparateur d'Outlook.
        morceaux = self.destinataires_digest.replace(";", ",").split(",")
        return [m.strip() for m in morceaux if m.strip()]

    @property
    def reseaux_mandataires(self) -> list[IPv4Network | IPv6Network]:
        reseaux = []
        for morceau in self.mandataires.replace(";", ",").split(","):
            if morceau.strip():
                reseaux.append(ip_network(morceau.strip(), strict=False))
        return reseaux

    def verifier_coherence(self) -> None:
        self._verifier_boites()
        self._verifier_envoi()
        self._verifier_adresses()
        try:
            self.reseaux_mandataires  # noqa: B018 (la lecture est la vérification)
        except ValueError:
            raise ConfigurationErreur(
                f"COURRIER_MANDATAIRES vaut « {self.mandataires} », qui n'est pas une liste "
                "d'adresses IP ou de réseaux séparés par des virgules (par exemple "
                "127.0.0.1 ou 10.0.0.0/8,::1)."
            ) from None
        for nom, chemin in (
            ("COURRIER_DEPOT_SCANS", self.depot_scans),
            ("COURRIER_DEPOT_EML", self.depot_eml),
            ("COURRIER_REGLES", self.regles),
        ):
            if chemin is not None and not chemin.is_dir():
                raise ConfigurationErreur(
                    f"{nom} désigne « {chemin} », qui n'est pas un dossier existant."
                )

    def _verifier_boites(self) -> None:
        """Le LLM et la boîte IMAP : une adresse sans ce qui la rend utilisable."""
        if self.llm_url and not self.llm_url.startswith(("http://", "https://")):
            raise ConfigurationErreur(
                "COURRIER_LLM_URL doit commencer par http:// ou https:// "
                f"(reçu « {self.llm_url} »)."
            )
        if self.llm_url and not self.llm_modele:
            raise ConfigurationErreur(
                "COURRIER_LLM_URL est renseigné mais COURRIER_LLM_MODELE manque "
                "(le nom du modèle chez ce fournisseur, par exemple mistral-small-latest)."
            )
        if self.imap_hote and not self.imap_utilisateur:
            raise ConfigurationErreur(
                "COURRIER_IMAP_HOTE est renseigné mais COURRIER_IMAP_UTILISATEUR manque."
            )
        par_mot_de_passe = self.imap_auth == "motdepasse"
        if self.imap_configure and par_mot_de_passe and self.imap_mot_de_passe is None:
            raise ConfigurationErreur(
                "COURRIER_IMAP_MOT_DE_PASSE manque pour la boîte "
                f"{self.imap_utilisateur} sur {self.imap_hote}."
            )

    def _verifier_envoi(self) -> None:
        """Le compte d'envoi SMTP et OAuth2."""
        if self.smtp_auth == "oauth2" and not self.smtp_utilisateur:
            raise ConfigurationErreur(
                "COURRIER_SMTP_AUTH=oauth2 demande COURRIER_SMTP_UTILISATEUR (l'adresse de la "
                "boîte qui envoie)."
            )
        self.verifier_oauth()
        envoi_par_mot_de_passe = self.smtp_auth == "motdepasse" and self.smtp_utilisateur
        if envoi_par_mot_de_passe and self.smtp_mot_de_passe is None:
            raise ConfigurationErreur(
                "COURRIER_SMTP_MOT_DE_PASSE manque pour le compte d'envoi "
                f"{self.smtp_utilisateur} sur {self.smtp_hote or '(serveur non renseigné)'}."
            )

    def _verifier_adresses(self) -> None:
        """Les adresses et URL écrites à la main dans la configuration."""
        for adresse in self.liste_destinataires_digest:
            if not est_une_adresse(adresse):
                raise ConfigurationErreur(
                    f"COURRIER_DESTINATAIRES_DIGEST contient « {adresse} », qui n'est pas une "
                    "adresse électronique (attendu : des adresses séparées par des virgules, "
                    "par exemple maire@commune.example,adjoint@commune.example)."
                )
        if self.adresse_mairie and not est_une_adresse(self.adresse_mairie):
            raise ConfigurationErreur(
                f"COURRIER_ADRESSE_MAIRIE vaut « {self.adresse_mairie} », qui n'est pas une "
                "adresse électronique (par exemple mairie@commune.example)."
            )
        if self.url_publique and not self.url_publique.startswith(("http://", "https://")):
            raise ConfigurationErreur(
                "COURRIER_URL_PUBLIQUE doit commencer par http:// ou https:// "
                f"(reçu « {self.url_publique} »)."
            )


_ADRESSE = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[A-Za-z0-9-]{2,}$")


def est_une_adresse(texte: str) -> bool:
    """Une adresse électronique nue (local@domaine.example), sans nom affiché."""
    return bool(_ADRESSE.match(texte))


_MESSAGES = {
    "int_parsing": "doit être un nombre entier",
    "float_parsing": "doit être un nombre",
    "literal_error": "doit valoir l'une des valeurs permises",
    "greater_than_equal": "est trop petit",
    "less_than_equal": "est trop grand",
    "greater_than": "doit être positif",
    "path_type": "doit être un chemin de dossier",
    "bool_parsing": "doit valoir oui ou non",
}


def traduire_erreur(erreur: ValidationError) -> ConfigurationErreur:
    """Première erreur de validation en une phrase française qui nomme la variable."""
    premiere = erreur.errors()[0]
    champ = str(premiere["loc"][0]) if premiere["loc"] else "?"
    variable = PREFIXE + champ.upper()
    raison = _MESSAGES.get(premiere["type"], "n'est pas valide")
    if premiere["type"] == "literal_error":
        permis = premiere.get("ctx", {}).get("expected", "")
        if permis:
            raison = f"doit valoir {permis}"
    valeur = premiere.get("input")
    montree = f" (valeur reçue : « {valeur} »)" if isinstance(valeur, str | int) else ""
    return ConfigurationErreur(f"Le réglage {variable} {raison}{montree}.")


def charger(**surcharges: object) -> Reglages:
    """Lit et valide les réglages ; lève ConfigurationErreur avec une phrase française.

    Avec `COURRIER_COMMUNE_ID` (ou `commune_id=`) autre que `defaut`, ce sont les réglages de
    cette commune (courrier/communes.py), pris sur ceux de l'installation."""
    try:
        reglages = Reglages(**surcharges)  # type: ignore[arg-type]
    except ValidationError as e:
        raise traduire_erreur(e) from e
    if reglages.commune_id != COMMUNE_PAR_DEFAUT:
        from courrier.communes import reglages_de_la_commune

        installation = reglages.model_copy(update={"commune_id": COMMUNE_PAR_DEFAUT})
        installation.verifier_coherence()
        return reglages_de_la_commune(installation, reglages.commune_id)
    reglages.verifier_coherence()
    return reglages


@lru_cache(maxsize=1)
def reglages() -> Reglages:
    return charger()
