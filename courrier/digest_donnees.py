"""Ce que le digest du maire reçoit (de petits enregistrements, jamais une ligne ORM) et ce
qu'il devient (`Digest`, prêt à rendre)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

# ---------------------------------------------------------------------------------------------
# Ce que le digest reçoit (jamais une ligne ORM)


@dataclass(frozen=True)
class CourrierDigest:
    """Ce que le digest lit d'un courrier du registre."""

    numero: str
    canal: str
    recu_le: datetime  # aware
    enregistre_le: datetime  # aware
    statut: str
    expediteur: str = ""
    objet: str = ""
    nom_fichier: str = ""
    categorie: str = ""
    service: str = ""
    urgence: str = ""
    resume: str = ""
    echeance: date | None = None
    alertes: tuple[str, ...] = ()
    erreur: str = ""
    brouillons: tuple[tuple[str, str], ...] = ()  # (type, statut) de chaque brouillon
    automatique: str = ""  # NatureAutomatique : une absence ou un avis n'est pas compté
    # Les délais légaux (noyau/delais.py) : (libellé, jour), les délais suspendus exclus.
    delais_legaux: tuple[tuple[str, date], ...] = ()


@dataclass(frozen=True)
class BrouillonEnAttente:
    numero: str
    type: str
    cree_le: datetime  # aware
    objet: str = ""
    expediteur: str = ""
    urgence: str = ""
    statut: str = "a_valider"  # ou « non_remis » : la réponse est revenue en erreur
    raison: str = ""


@dataclass(frozen=True)
class ErreurGenerale:
    """Un événement « erreur » du journal qui ne concerne aucun courrier (source en panne…)."""

    horodatage: datetime  # aware
    details: Mapping[str, object] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Le digest, prêt à rendre


@dataclass(frozen=True)
class Compte:
    libelle: str
    nombre: int


@dataclass(frozen=True)
class Fiche:
    """Un courrier de la nuit tel que le maire le lit."""

    numero: str
    lien: str | None
    expediteur: str
    objet: str
    resume: str
    service: str
    categorie: str
    canal: str
    recu: str  # « 23/11 à 01:12 »
    echeance: str  # « J-2 (25/11/2026) », « dépassée de 3 j (20/11/2026) » ou vide
    echeance_depassee: bool
    brouillons: str  # « accusé de réception : à valider » ou « aucun brouillon »
    raisons: tuple[str, ...]  # pourquoi il est en tête : « urgent », « institution »…
    urgent: bool
    en_erreur: bool


@dataclass(frozen=True)
class LigneBrouillon:
    numero: str
    lien: str | None
    type: str
    objet: str
    expediteur: str
    depuis: str  # « depuis 3 j », « depuis hier », « depuis aujourd'hui »
    jours: int
    urgent: bool
    etat: str = ""  # « à vérifier : non remis à … » ; vide pour un brouillon à valider


@dataclass(frozen=True)
class LigneEcheance:
    numero: str
    lien: str | None
    objet: str
    expediteur: str
    service: str
    date: str  # « 25/11/2026 »
    j: str  # « J-2 », « J », « dépassée de 3 j »
    depassee: bool
    nature: str = ""  # vide : l'échéance annoncée par le courrier ; sinon le délai légal
    alerte: str = ""  # « J-7 », « J-2 » : un délai légal qui approche


@dataclass(frozen=True)
class LigneErreur:
    numero: str
    lien: str | None
    texte: str


@dataclass(frozen=True)
class Digest:
    jour: date
    commune: str
    mairie: str  # « Mairie de Saint-Aubin »
    titre: str  # « Courrier du lundi 23 novembre 2026 »
    objet: str  # l'en-tête Subject
    apercu: str  # la ligne que la boîte de réception montre sous l'objet
    periode: str  # « depuis le dimanche 22 novembre à 07:30 »
    nouveaux: int
    urgents: int
    par_canal: tuple[Compte, ...]
    par_categorie: tuple[Compte, ...]
    prioritaires: tuple[Fiche, ...]
    autres: tuple[Fiche, ...]
    non_montres: int  # fiches au-delà de FICHES_MAX
    brouillons: tuple[LigneBrouillon, ...]
    echeances: tuple[LigneEcheance, ...]
    erreurs: tuple[LigneErreur, ...]
    url_publique: str | None
    # L'empreinte de tête du registre horodatée ce matin (RFC 3161), ou pourquoi elle ne l'est pas.
    ancre: str = ""
    automatiques: int = 0  # absences et avis de non-remise de la nuit, hors des comptes

    @property
    def rien_de_nouveau(self) -> bool:
        return self.nouveaux == 0
