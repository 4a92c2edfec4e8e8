"""Les fiches du registre : ce qu'il rend à ceux qui le lisent (étapes, flows, page web, ligne de
commande, preuves), figé et détaché de la base.

Une fiche porte les mêmes noms que les colonnes du registre ; ce que la base relie (les pièces et
les brouillons d'un courrier) y devient une liste de fiches. Aucune entrée-sortie ici : de
simples valeurs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class FichePiece:
    """Une pièce jointe d'un courrier, avec le texte lu."""

    id: int
    courrier_id: int
    rang: int
    nom: str
    type_mime: str
    taille: int
    empreinte: str
    texte: str
    methode: str
    confiance_ocr: float | None
    pages: int | None
    pages_ocr: str
    erreur: str
    en_ligne: bool


@dataclass(frozen=True)
class FicheBrouillon:
    """Un brouillon de réponse et où il en est (à valider, validé, envoyé…)."""

    id: int
    courrier_id: int
    rang: int
    type: str
    objet: str
    corps: str
    corps_original: str
    auteur: str
    prepare_par_ia: bool
    consigne_ia: str
    destinataire: str
    statut: str
    dates: str
    cree_le: datetime
    mode: str
    decide_par: str
    decide_le: datetime | None
    raison: str
    message_id_envoi: str
    tentatives: int | None
    envoye_le: datetime | None
    lettre_empreinte: str


@dataclass(frozen=True)
class FicheCourrier:
    """Un courrier du registre, avec ses pièces et ses brouillons (par rang)."""

    id: int
    numero: str
    annee: int
    rang: int
    canal: str
    source: str
    reference: str
    recu_le: datetime
    enregistre_le: datetime
    expediteur: str
    expediteur_adresse: str
    destinataires: str
    objet: str
    message_id: str
    in_reply_to: str
    references: str
    date_entete: datetime | None
    nom_fichier: str
    empreinte: str
    taille: int
    statut: str
    erreur: str
    texte: str
    methode_extraction: str
    confiance_ocr: float | None
    pages: int | None
    pages_ocr: str
    extrait_le: datetime | None
    categorie: str
    service: str
    urgence: str
    resume: str
    demande: str
    reponse_attendue: bool | None
    est_demande_usager: bool | None
    echeance: date | None
    confiance: float | None
    moteur: str
    consigne_ia: str
    alertes: str
    analyse: str
    analyse_le: datetime | None
    repondu_le: datetime | None
    purge_le: datetime | None
    echeances_legales: str
    automatique: str
    retour_de: str
    elu: str
    # Des listes, comme les relations de la base que ces fiches remplacent : les appelants (et
    # leurs tests, `courrier.brouillons == []`) les lisent sans changer.
    pieces: list[FichePiece] = field(default_factory=list)
    brouillons: list[FicheBrouillon] = field(default_factory=list)


@dataclass(frozen=True)
class FicheEvenement:
    """Un événement du journal, tel qu'il a été chaîné."""

    id: int
    courrier_id: int | None
    numero: str
    type: str
    horodatage: datetime
    acteur: str
    details: str
    etat: str
    precedent: str
    empreinte: str


@dataclass(frozen=True)
class FicheEnvoiDigest:
    """La réservation (puis l'envoi) du digest du maire d'un jour."""

    jour: date
    destinataires: str
    message_id: str
    statut: str
    prepare_le: datetime
    envoye_le: datetime | None
