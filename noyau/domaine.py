"""Les enregistrements que les étapes se passent : aucun import d'entrée-sortie ici.

Une source produit des `ElementRecu`; le registre en fait un courrier numéroté;
l'extraction rend un `ResultatExtraction`. Les étapes ne se passent jamais de lignes
ORM ni de messages bruts non typés.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

# Un brouillon tient en quelques pages de lettre : plus long, il est refusé avec une phrase qui
# le dit, jamais coupé en silence (la secrétaire enverrait une lettre tronquée sans le savoir).
LONGUEUR_MAX_BROUILLON = 20_000
LONGUEUR_MAX_OBJET = 300


class Canal(enum.StrEnum):
    """Par où le courrier est arrivé (colonne `canal` du registre)."""

    EMAIL = "email"  # boîte IMAP
    SCAN = "scan"  # dossier de dépôt du copieur
    DEPOT = "depot"  # dossier de fichiers .eml / mbox (imports, démo)


class Statut(enum.StrEnum):
    """Où en est un courrier. Les numéros suivants (analyse, brouillon…) viendront."""

    ENREGISTRE = "enregistre"  # ligne validée, texte pas encore lu
    EXTRAIT = "extrait"  # texte lu (éventuellement en partie : voir `erreur`)
    ERREUR = "erreur"  # rien n'a pu être lu ; l'octet brut est gardé, la raison est dite
    ANALYSE = "analyse"  # classé, résumé ; ses brouillons éventuels attendent la secrétaire
    REPONDU = "repondu"  # une réponse validée est partie (courriel) ou a été imprimée (papier)


class StatutBrouillon(enum.StrEnum):
    """La vie d'un brouillon : rien ne part sans qu'une personne l'ait validé."""

    A_VALIDER = "a_valider"
    VALIDE = "valide"  # validé pour un envoi par courriel ; l'envoi suivant le prendra
    EN_ENVOI = "en_envoi"  # Message-ID et intention écrits, appel SMTP en cours
    ENVOYE = "envoye"
    A_VERIFIER = "a_verifier"  # envoi interrompu : la secrétaire doit vérifier s'il est parti
    NON_REMIS = "non_remis"  # parti, mais un avis de non-remise est revenu : à vérifier
    PAPIER = "papier"  # lettre PDF produite, à imprimer et poster
    REJETE = "rejete"
    REMPLACE = "remplace"  # refait après une correction du classement ; son texte reste


class TypeEvenement(enum.StrEnum):
    RECU = "recu"
    ENREGISTRE = "enregistre"
    EXTRAIT = "extrait"
    ERREUR = "erreur"
    DOUBLON = "doublon"
    ANALYSE = "analyse"
    BROUILLON = "brouillon"
    DIGEST = "digest"
    CORRECTION = "correction"  # classement corrigé par une personne
    DECISION = "decision"  # brouillon modifié, validé, rejeté
    ENVOI = "envoi"  # réponse : intention, envoi, échec, vérification
    COMPTE = "compte"  # compte de la page web créé, modifié
    ANCRAGE = "ancrage"  # tête du journal horodatée par une autorité (RFC 3161)
    PURGE = "purge"  # données personnelles effacées à l'échéance de conservation
    COMMENTAIRE = "commentaire"  # un élu a commenté un courrier (regles/elus.yaml)


class NatureAutomatique(enum.StrEnum):
    """Un message écrit par un programme (RFC 3834, RFC 3464) : on n'y répond jamais."""

    REPONSE_AUTOMATIQUE = "reponse_automatique"  # absence, répondeur : hors des comptes
    NON_REMISE = "non_remise"  # avis de non-remise (DSN) : hors des comptes, rattaché
    AUTO_GENERE = "auto_genere"  # notification, envoi en nombre : analysé, sans brouillon

    @property
    def hors_des_comptes(self) -> bool:
        """Pas du courrier des administrés : ni dans les comptes du digest ni dans le volume."""
        return self in (NatureAutomatique.REPONSE_AUTOMATIQUE, NatureAutomatique.NON_REMISE)


@dataclass(frozen=True)
class EchecRemise:
    """Un destinataire qu'un avis de non-remise déclare en échec (RFC 3464)."""

    adresse: str
    statut: str = ""  # « 5.1.1 »
    diagnostic: str = ""  # « smtp; 550 5.1.1 User unknown », tel que le serveur l'écrit


@dataclass(frozen=True)
class MessageAutomatique:
    """Ce qui fait d'un courriel un message automatique, et pour un avis de non-remise, ce qu'il
    dit du message revenu (ses Message-ID, ses destinataires en échec)."""

    nature: NatureAutomatique
    indice: str  # ce qui l'a fait reconnaître : « Auto-Submitted: auto-replied »…
    echecs: tuple[EchecRemise, ...] = ()
    messages_revenus: tuple[str, ...] = ()  # Message-ID du message qui n'a pas été remis
    remise_echouee: bool = True  # faux pour un avis de retard (Action: delayed) seulement


@dataclass(frozen=True)
class Limites:
    """Garde-fous contre les entrées hostiles ; chaque dépassement devient une raison écrite."""

    taille_max_piece: int = 50 * 1024 * 1024  # octets d'une pièce jointe décodée
    pages_max_texte: int = 500  # pages lues par pdfplumber
    pages_max_ocr: int = 30  # pages rasterisées et passées à Tesseract
    pixels_max: int = 60_000_000  # au-delà, l'image est réduite (ou refusée si illisible)
    caracteres_max: int = 1_000_000  # texte gardé par courrier ou par pièce
    pieces_max: int = 500  # pièces jointes analysées par courriel
    profondeur_max: int = 5  # messages transférés imbriqués
    entrees_archive_max: int = 1000  # noms listés dans un .zip
    ocr_langues: str = "fra"
    ocr_delai_s: int = 180  # par page
    # Documents bureautiques (docx, odt, xlsx, ods…) : taille une fois décompressés, vérifiée
    # sur l'annuaire du zip avant toute ouverture (bombes de décompression).
    decompresse_max_bureautique: int = 100 * 1024 * 1024
    cellules_max: int = 200_000  # cellules de tableur lues (xlsx, ods)
    bureautique_delai_s: int = 120  # lecture d'une pièce bureautique (Python ou LibreOffice)


@dataclass(frozen=True)
class EntetesCourrier:
    """Ce que l'on lit des en-têtes d'un courriel, décodé et nettoyé (jamais d'exception)."""

    expediteur: str = ""  # « Nom <adresse> » tel qu'affichable
    expediteur_adresse: str = ""  # adresse seule, en minuscules
    destinataires: str = ""
    objet: str = ""
    message_id: str = ""
    in_reply_to: str = ""
    references: str = ""
    date: datetime | None = None  # en-tête Date, aware UTC, None si absent ou illisible


@dataclass(frozen=True)
class PartDeLot:
    """Une lettre découpée dans un lot de scans (un PDF de plusieurs lettres et séparatrices).

    Le PDF d'origine entier voyage avec chaque lettre : le registre l'archive tel quel.
    """

    empreinte: str  # sha256 du PDF d'origine
    contenu: bytes = field(repr=False)
    nom: str  # nom du fichier déposé
    rang: int  # rang de la lettre dans le lot, à partir de 1
    total: int  # lettres du lot
    pages: tuple[int, ...]  # pages du PDF d'origine, à partir de 1
    pages_lot: int  # pages du PDF d'origine, séparatrices comprises


@dataclass(frozen=True)
class ElementRecu:
    """Un élément tel qu'une source le remet, avant tout enregistrement.

    `cles` identifie l'élément pour que rien ne soit enregistré deux fois :
    ex. `imap:compte/INBOX:UIDVALIDITY:UID`, `sha256:…`, `message:…`.
    """

    source: str  # "imap", "depot_scans", "depot_eml"
    canal: Canal
    reference: str  # où le trouver à la source (UID, nom de fichier), pour l'humain
    recu_le: datetime  # aware UTC : INTERNALDATE IMAP ou date du fichier
    contenu: bytes
    nom_fichier: str = ""
    cles: tuple[str, ...] = ()
    lot: PartDeLot | None = None  # lettre découpée dans un lot de scans
    remarque: str = ""  # pour le journal : une date de la source écartée, et pourquoi


@dataclass(frozen=True)
class PageOCR:
    """Une page passée à Tesseract : sa confiance et l'angle dont on l'a redressée."""

    numero: int  # 1 pour la première page (ou image) du document
    confiance: float | None  # moyenne 0–100 des mots reconnus, None sans aucun mot
    angle: float = 0.0  # degrés, sens trigonométrique ; 0 : page laissée telle quelle
    mots: int = 0

    def a_verifier(self, seuil: float) -> bool:
        """Une page blanche (aucun mot) n'est pas une lecture douteuse : rien n'y est écrit."""
        return self.mots > 0 and self.confiance is not None and self.confiance < seuil


@dataclass
class PieceExtraite:
    """Une pièce jointe (ou une partie) d'un courriel, rangée dans l'archive par empreinte."""

    rang: int
    nom: str  # nom affichable, nettoyé (jamais utilisé comme chemin)
    type_mime: str
    taille: int
    empreinte: str  # sha256 hexadécimal des octets décodés
    texte: str = ""
    methode: str = "aucune"  # texte, html, pdf, ocr, liste, bureautique, aucune
    confiance_ocr: float | None = None  # moyenne 0–100 des mots reconnus
    pages: int | None = None
    pages_ocr: list[PageOCR] = field(default_factory=list)
    erreur: str | None = None  # raison en français quand rien ou pas tout n'a été lu
    en_ligne: bool = False  # image intégrée au corps (logo…), non lue


@dataclass
class ResultatExtraction:
    """Ce que l'extraction a tiré d'un élément. `echec` : rien du contenu principal n'a été lu."""

    texte: str = ""
    methode: str = "aucune"  # texte, html, pdf, ocr, bureautique, aucune
    confiance_ocr: float | None = None
    pages: int | None = None
    pages_ocr: list[PageOCR] = field(default_factory=list)
    pieces: list[PieceExtraite] = field(default_factory=list)
    erreurs: list[str] = field(default_factory=list)
    echec: bool = False
    entetes: EntetesCourrier | None = None
    automatique: MessageAutomatique | None = None
