"""Ce que l'analyse dit d'un courrier, et ce qu'elle en reçoit : enregistrements typés, sans I/O.

Toute réponse d'un LLM est lue dans `Analyse` (champs bornés) avant que quiconque s'y fie ;
le moteur de règles produit le même enregistrement. Les brouillons sont des `Brouillon`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

# Les catégories sont celles de regles/categories.yaml (livré, ou celui de l'intégrateur) : le
# code n'en connaît qu'une, la catégorie de repli, où vont ce que les règles ne savent pas
# classer, les absences et les avis de non-remise. Le chargement des règles exige qu'elle y soit.
CATEGORIE_DE_REPLI = "autre"


class Urgence(enum.StrEnum):
    HAUTE = "haute"
    NORMALE = "normale"
    BASSE = "basse"


class Alerte(enum.StrEnum):
    INJECTION_SUSPECTEE = "injection_suspectee"  # le texte tente de donner des ordres
    A_VERIFIER = "a_verifier"  # la classification mérite un œil humain
    LLM_INDISPONIBLE = "llm_indisponible"  # le LLM a échoué : les règles ont décidé
    LLM_INCOHERENT = "llm_incoherent"  # réponse du LLM hors des règles, corrigée
    TEXTE_ABSENT = "texte_absent"  # rien de lisible : analyse sur les seuls en-têtes
    DECISION_FORCEE = "decision_forcee"  # une règle de l'intégrateur a tranché


class Expediteur(BaseModel):
    model_config = ConfigDict(extra="ignore")

    nom: str = Field(default="", max_length=200)
    email: str = Field(default="", max_length=320)
    adresse: str = Field(default="", max_length=500)  # adresse postale, une ligne par saut


class Analyse(BaseModel):
    """Le résultat de l'analyse d'un courrier (LLM ou règles), champs bornés."""

    model_config = ConfigDict(extra="ignore")

    categorie: str = Field(max_length=40)  # un identifiant de regles/categories.yaml
    service: str = Field(default="", max_length=120)
    urgence: Urgence = Urgence.NORMALE
    resume: str = Field(default="", max_length=1200)  # 2 ou 3 phrases, en français
    expediteur: Expediteur = Field(default_factory=Expediteur)
    demande: str = Field(default="", max_length=500)  # ce qui est demandé, une phrase
    reponse_attendue: bool = False
    est_demande_usager: bool = False  # demande du public au sens du CRPA : accusé de réception
    echeance: date | None = None
    confiance: float = Field(default=0.5, ge=0.0, le=1.0)
    moteur: str = Field(default="regles", max_length=120)  # "regles" ou "llm:<modèle>"
    # Transparence : l'empreinte du gabarit de consigne envoyé à l'IA (vide pour les règles).
    consigne: str = Field(default="", max_length=64)
    alertes: list[Alerte] = Field(default_factory=list, max_length=10)
    # Champs de la réponse du LLM écartés parce qu'invalides : les règles les remplacent.
    ecartes: list[str] = Field(default_factory=list, max_length=20)
    # Ce qui vient des corrections de la secrétaire (courrier/apprentissage.py) : les champs
    # décidés par le classifieur local, ou « exemples » quand le LLM en a reçu.
    appris: str = Field(default="", max_length=200)


@dataclass(frozen=True)
class CourrierALire:
    """Ce que l'analyse reçoit d'un courrier du registre (jamais une ligne ORM)."""

    numero: str
    canal: str  # email, scan, depot
    recu_le: datetime  # aware UTC
    objet: str = ""
    expediteur: str = ""  # en-tête From tel qu'affichable
    expediteur_adresse: str = ""
    texte: str = ""  # corps du courrier (ou texte OCR d'un scan)
    pieces: tuple[tuple[str, str], ...] = ()  # (nom, texte lu) de chaque pièce jointe
    automatique: str = ""  # NatureAutomatique d'un message écrit par un programme, sinon vide


class TypeBrouillon(enum.StrEnum):
    REPONSE = "reponse"
    ACCUSE_RECEPTION = "accuse_reception"


@dataclass(frozen=True)
class Commune:
    """La voix de la mairie : en-tête, signature (réglages COURRIER_COMMUNE, COURRIER_MAIRE…)."""

    nom: str = "Commune"
    maire: str = ""
    adresse: str = ""
    telephone: str = ""
    email: str = ""
    signataire: str = ""  # par défaut « Le Maire, <maire> »


@dataclass
class Brouillon:
    """Un brouillon qui attend la secrétaire. Rien n'est envoyé sans sa validation."""

    type: TypeBrouillon
    objet: str
    corps: str
    auteur: str  # "llm:<modèle>" ou "modele:<nom du gabarit>"
    prepare_par_ia: bool = False
    consigne: str = ""  # brouillon de l'IA : empreinte du gabarit de consigne
    destinataire: str = ""  # adresse électronique ou postale, telle que connue
    dates: dict[str, date] = field(default_factory=dict)  # ex. reception, decision_implicite
