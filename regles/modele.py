"""Les règles de l'intégrateur telles que le moteur les reçoit : catégories, mots-clés,
expéditeurs connus, décisions forcées et réglages. Des données pures, lues et vérifiées par
`regles.chargement`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from noyau.analyse import Urgence

Ponderee = tuple[str, float]  # (expression, poids)


class Nature(enum.StrEnum):
    """Qui écrit : décide si une réponse et un accusé de réception (CRPA) sont attendus."""

    USAGER = "usager"  # un habitant, une association
    ADMINISTRATION = "administration"  # préfecture, intercommunalité, État, collectivités
    FOURNISSEUR = "fournisseur"  # factures, devis
    DEMARCHAGE = "demarchage"  # publicité, lettres commerciales


@dataclass(frozen=True)
class Categorie:
    id: str
    libelle: str
    service: str
    contact: str = ""
    urgence: Urgence = Urgence.NORMALE  # quand rien dans le texte n'en dit plus


@dataclass(frozen=True)
class RegleExpediteur:
    motif: str  # adresse exacte (avec « @ ») ou domaine, « * » permis
    nom: str = ""
    nature: Nature = Nature.USAGER
    categorie: str | None = None
    poids: float = 3.0


@dataclass(frozen=True)
class DecisionForcee:
    nom: str
    expediteur: str | None = None  # motif d'adresse, comme RegleExpediteur.motif
    objet: str | None = None  # expression cherchée dans l'objet
    texte: str | None = None  # expression cherchée dans le texte
    categorie: str | None = None
    urgence: Urgence | None = None
    service: str | None = None


@dataclass(frozen=True)
class Seuils:
    """Seuils et poids des règles (rubrique `reglages:` des fichiers YAML, nom gardé pour
    l'intégrateur) ; les réglages de l'installation sont `courrier.config.Reglages`."""

    seuil_categorie: float = 2.5
    poids_objet: float = 2.0
    poids_pieces: float = 0.5
    confiance_a_verifier: float = 0.45
    seuil_haute: float = 2.0
    seuil_basse: float = 2.0
    echeance_proche_jours: int = 3


@dataclass(frozen=True)
class Regles:
    """Les règles de l'intégrateur, lues et vérifiées (voir `regles.chargement`)."""

    categories: Mapping[str, Categorie]
    mots_cles: Mapping[str, tuple[Ponderee, ...]] = field(default_factory=dict)
    expediteurs: tuple[RegleExpediteur, ...] = ()
    indices_nature: Mapping[Nature, tuple[str, ...]] = field(default_factory=dict)
    urgence_haute: tuple[Ponderee, ...] = ()
    urgence_basse: tuple[Ponderee, ...] = ()
    injection: tuple[str, ...] = ()
    demande: tuple[Ponderee, ...] = ()
    politesse: tuple[str, ...] = ()
    appel: tuple[str, ...] = ()
    condition: tuple[str, ...] = ()
    information: tuple[str, ...] = ()
    decisions: tuple[DecisionForcee, ...] = ()
    seuils: Seuils = field(default_factory=Seuils)

    def service(self, categorie: str) -> str:
        """La table d'aiguillage : le service d'une catégorie."""
        return self.categories[categorie].service
