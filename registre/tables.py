"""Tables du registre du courrier arrivé (SQLAlchemy 2). Rien ici ne dépend de SQLite."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class HorodatageUTC(TypeDecorator[datetime]):
    """Date-heure toujours aware UTC, quelle que soit la base (SQLite perd le fuseau)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("horodatage sans fuseau horaire refusé")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Courrier(Base):
    """Une ligne du registre : un élément reçu, quel que soit son canal."""

    __tablename__ = "courriers"
    __table_args__ = (UniqueConstraint("annee", "rang", name="uq_courriers_annee_rang"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    numero: Mapped[str] = mapped_column(String(16), unique=True)  # AAAA-NNNNN
    annee: Mapped[int] = mapped_column(Integer)
    rang: Mapped[int] = mapped_column(Integer)
    canal: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(Text, default="")
    recu_le: Mapped[datetime] = mapped_column(HorodatageUTC())
    enregistre_le: Mapped[datetime] = mapped_column(HorodatageUTC())
    expediteur: Mapped[str] = mapped_column(Text, default="")
    expediteur_adresse: Mapped[str] = mapped_column(Text, default="")
    destinataires: Mapped[str] = mapped_column(Text, default="")
    objet: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str] = mapped_column(Text, default="")
    in_reply_to: Mapped[str] = mapped_column(Text, default="")
    references: Mapped[str] = mapped_column(Text, default="")
    date_entete: Mapped[datetime | None] = mapped_column(HorodatageUTC(), nullable=True)
    nom_fichier: Mapped[str] = mapped_column(Text, default="")
    empreinte: Mapped[str] = mapped_column(String(64), index=True)
    taille: Mapped[int] = mapped_column(BigInteger)
    statut: Mapped[str] = mapped_column(String(32), index=True)
    erreur: Mapped[str] = mapped_column(Text, default="")
    texte: Mapped[str] = mapped_column(Text, default="")
    methode_extraction: Mapped[str] = mapped_column(String(16), default="")
    confiance_ocr: Mapped[float | None] = mapped_column(Float, nullable=True)
    pages: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Pages lues par OCR (noyau/pages_ocr.py, JSON) : confiance et angle de redressement.
    pages_ocr: Mapped[str] = mapped_column(Text, default="")
    extrait_le: Mapped[datetime | None] = mapped_column(HorodatageUTC(), nullable=True)

    # Analyse (règles ou LLM) ; `analyse` garde l'enregistrement complet en JSON.
    categorie: Mapped[str] = mapped_column(String(40), default="", index=True)
    service: Mapped[str] = mapped_column(Text, default="")
    urgence: Mapped[str] = mapped_column(String(16), default="")
    resume: Mapped[str] = mapped_column(Text, default="")
    demande: Mapped[str] = mapped_column(Text, default="")
    reponse_attendue: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    est_demande_usager: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    echeance: Mapped[date | None] = mapped_column(Date, nullable=True)
    confiance: Mapped[float | None] = mapped_column(Float, nullable=True)
    moteur: Mapped[str] = mapped_column(String(120), default="")
    # Transparence de l'IA : empreinte du gabarit de consigne de l'analyse (vide : les règles).
    consigne_ia: Mapped[str] = mapped_column(String(64), default="")
    alertes: Mapped[str] = mapped_column(Text, default="")  # identifiants séparés par des virgules
    analyse: Mapped[str] = mapped_column(Text, default="")
    analyse_le: Mapped[datetime | None] = mapped_column(HorodatageUTC(), nullable=True)
    # Réponse partie (courriel accepté par le serveur d'envoi, ou lettre papier produite).
    repondu_le: Mapped[datetime | None] = mapped_column(HorodatageUTC(), nullable=True)
    # Données personnelles effacées à l'échéance de conservation (l'empreinte d'origine reste).
    purge_le: Mapped[datetime | None] = mapped_column(HorodatageUTC(), nullable=True)
    # Les délais légaux (noyau/delais.py, JSON) : décision implicite, pièces à réclamer.
    echeances_legales: Mapped[str] = mapped_column(Text, default="")
    # Message écrit par un programme (NatureAutomatique) : on n'y répond pas ; une absence ou un
    # avis de non-remise reste au registre mais hors des comptes du courrier des administrés.
    automatique: Mapped[str] = mapped_column(String(32), default="")
    # Un avis de non-remise : le numéro du courrier dont la réponse n'a pas été remise.
    retour_de: Mapped[str] = mapped_column(String(16), default="")
    # L'élu référent (identifiant de regles/elus.yaml), posé à l'analyse, corrigible.
    elu: Mapped[str] = mapped_column(String(40), default="")

    pieces: Mapped[list[Piece]] = relationship(
        back_populates="courrier", order_by="Piece.rang", cascade="all, delete-orphan"
    )
    brouillons: Mapped[list[BrouillonLigne]] = relationship(
        back_populates="courrier", order_by="BrouillonLigne.rang", cascade="all, delete-orphan"
    )


class Piece(Base):
    """Une pièce jointe d'un courriel, ses octets dans l'archive par empreinte."""

    __tablename__ = "pieces"
    __table_args__ = (UniqueConstraint("courrier_id", "rang", name="uq_pieces_courrier_rang"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    courrier_id: Mapped[int] = mapped_column(ForeignKey("courriers.id"), index=True)
    rang: Mapped[int] = mapped_column(Integer)
    nom: Mapped[str] = mapped_column(Text)
    type_mime: Mapped[str] = mapped_column(Text)
    taille: Mapped[int] = mapped_column(BigInteger)
    empreinte: Mapped[str] = mapped_column(String(64))
    texte: Mapped[str] = mapped_column(Text, default="")
    methode: Mapped[str] = mapped_column(String(16), default="aucune")
    confiance_ocr: Mapped[float | None] = mapped_column(Float, nullable=True)
    pages: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pages_ocr: Mapped[str] = mapped_column(Text, default="")
    erreur: Mapped[str] = mapped_column(Text, default="")
    en_ligne: Mapped[bool] = mapped_column(Boolean, default=False)

    courrier: Mapped[Courrier] = relationship(back_populates="pieces")


class BrouillonLigne(Base):
    """Un brouillon (réponse ou accusé de réception) qui attend la validation humaine."""

    __tablename__ = "brouillons"
    __table_args__ = (UniqueConstraint("courrier_id", "rang", name="uq_brouillons_courrier_rang"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    courrier_id: Mapped[int] = mapped_column(ForeignKey("courriers.id"), index=True)
    rang: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(32))
    objet: Mapped[str] = mapped_column(Text, default="")
    corps: Mapped[str] = mapped_column(Text, default="")
    # Le texte préparé (IA ou gabarit), gardé à la première modification : vide tant que
    # personne ne l'a changé. Il mesure ce que la secrétaire corrige (registre/indicateurs.py).
    corps_original: Mapped[str] = mapped_column(Text, default="")
    auteur: Mapped[str] = mapped_column(String(160))
    prepare_par_ia: Mapped[bool] = mapped_column(Boolean, default=False)
    consigne_ia: Mapped[str] = mapped_column(String(64), default="")  # voir Courrier.consigne_ia
    destinataire: Mapped[str] = mapped_column(Text, default="")
    statut: Mapped[str] = mapped_column(String(16), default="a_valider", index=True)
    dates: Mapped[str] = mapped_column(Text, default="{}")  # JSON : reception, decision_implicite…
    cree_le: Mapped[datetime] = mapped_column(HorodatageUTC())
    # Décision humaine et envoi. Tout est vide (ou NULL) tant que rien n'est décidé : un champ
    # vide n'entre pas dans le sceau, les brouillons scellés avant cette migration restent
    # vérifiables.
    mode: Mapped[str] = mapped_column(String(16), default="")  # courriel, papier
    decide_par: Mapped[str] = mapped_column(String(128), default="")
    decide_le: Mapped[datetime | None] = mapped_column(HorodatageUTC(), nullable=True)
    raison: Mapped[str] = mapped_column(Text, default="")  # motif du rejet, dernier échec d'envoi
    message_id_envoi: Mapped[str] = mapped_column(Text, default="")
    tentatives: Mapped[int | None] = mapped_column(Integer, nullable=True)
    envoye_le: Mapped[datetime | None] = mapped_column(HorodatageUTC(), nullable=True)
    lettre_empreinte: Mapped[str] = mapped_column(String(64), default="")  # PDF dans l'archive

    courrier: Mapped[Courrier] = relationship(back_populates="brouillons")


class Utilisateur(Base):
    """Un compte de la page web : secrétaire, maire ou administrateur."""

    __tablename__ = "utilisateurs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nom: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # secretaire, maire, admin
    hachage: Mapped[str] = mapped_column(Text)  # argon2id
    actif: Mapped[bool] = mapped_column(Boolean, default=True)
    cree_le: Mapped[datetime] = mapped_column(HorodatageUTC())
    derniere_connexion: Mapped[datetime | None] = mapped_column(HorodatageUTC(), nullable=True)
    # Les communes que le compte voit, séparées par des virgules ; « * » : toutes (un compte de
    # l'intercommunalité). Les comptes vivent dans le registre de l'installation.
    communes: Mapped[str] = mapped_column(Text, default="defaut", server_default="defaut")


class SessionWeb(Base):
    """Une session ouverte : le cookie porte le jeton, la base n'en garde que l'empreinte."""

    __tablename__ = "sessions_web"

    jeton: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 du jeton
    utilisateur_id: Mapped[int] = mapped_column(ForeignKey("utilisateurs.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    cree_le: Mapped[datetime] = mapped_column(HorodatageUTC())
    expire_le: Mapped[datetime] = mapped_column(HorodatageUTC())
    # La commune que la session regarde (parmi celles du compte).
    commune: Mapped[str] = mapped_column(String(40), default="defaut", server_default="defaut")


class CommuneDuRegistre(Base):
    """À qui appartient ce registre : une seule ligne, posée à la création (ou par la migration
    pour un registre d'avant les communes) et vérifiée à chaque ouverture."""

    __tablename__ = "commune"

    identifiant: Mapped[str] = mapped_column(String(40), primary_key=True)
    cree_le: Mapped[datetime] = mapped_column(HorodatageUTC())


class EnvoiDigest(Base):
    """Le digest d'un jour : l'intention est écrite avant l'envoi, pour ne jamais l'envoyer deux
    fois le même jour, même si le flow est relancé."""

    __tablename__ = "envois_digest"

    jour: Mapped[date] = mapped_column(Date, primary_key=True)
    destinataires: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(Text)
    statut: Mapped[str] = mapped_column(String(16))  # prepare, envoye
    prepare_le: Mapped[datetime] = mapped_column(HorodatageUTC())
    envoye_le: Mapped[datetime | None] = mapped_column(HorodatageUTC(), nullable=True)


class Ancre(Base):
    """La tête du journal horodatée par une autorité extérieure (RFC 3161) : qui réécrirait
    toute la chaîne ne pourrait pas refaire ce jeton signé par un tiers."""

    __tablename__ = "ancres"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    evenement_id: Mapped[int] = mapped_column(Integer)  # le dernier événement couvert
    empreinte: Mapped[str] = mapped_column(String(64))  # son empreinte, celle qui est horodatée
    jeton: Mapped[bytes] = mapped_column(LargeBinary)  # TimeStampResp DER, tel que reçu
    horodate_le: Mapped[datetime] = mapped_column(HorodatageUTC())  # genTime du jeton
    autorite: Mapped[str] = mapped_column(Text)  # l'URL du service d'horodatage


class Identite(Base):
    """Une clé qui identifie un élément à sa source ; unique : rien n'est enregistré deux fois."""

    __tablename__ = "identites"

    cle: Mapped[str] = mapped_column(String(512), primary_key=True)
    courrier_id: Mapped[int] = mapped_column(ForeignKey("courriers.id"), index=True)


class Compteur(Base):
    """Dernier rang attribué pour une année ; verrouillé pendant l'enregistrement."""

    __tablename__ = "compteurs"

    annee: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    dernier: Mapped[int] = mapped_column(Integer, default=0)


class Evenement(Base):
    """Le journal : une ligne par étape, ajoutée jamais modifiée, chaînée par sha256."""

    __tablename__ = "evenements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    courrier_id: Mapped[int | None] = mapped_column(
        ForeignKey("courriers.id"), nullable=True, index=True
    )
    numero: Mapped[str] = mapped_column(String(16), default="")
    type: Mapped[str] = mapped_column(String(32))
    horodatage: Mapped[datetime] = mapped_column(HorodatageUTC())
    acteur: Mapped[str] = mapped_column(String(128))
    details: Mapped[str] = mapped_column(Text, default="{}")  # JSON canonique
    etat: Mapped[str] = mapped_column(String(64), default="")  # sceau du courrier après l'étape
    precedent: Mapped[str] = mapped_column(String(64))
    empreinte: Mapped[str] = mapped_column(String(64), unique=True)


class TeteJournal(Base):
    """Le dernier maillon : verrouillé à chaque ajout, il sérialise le journal et le chrono."""

    __tablename__ = "tete_journal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    dernier_id: Mapped[int] = mapped_column(Integer, default=0)
    empreinte: Mapped[str] = mapped_column(String(64))


class Commentaire(Base):
    """Le commentaire d'un élu sur un courrier : lu par la secrétaire, scellé au journal."""

    __tablename__ = "commentaires"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    courrier_id: Mapped[int] = mapped_column(ForeignKey("courriers.id"), index=True)
    auteur: Mapped[str] = mapped_column(String(64))  # le nom du compte
    texte: Mapped[str] = mapped_column(Text)
    empreinte: Mapped[str] = mapped_column(String(64))  # sha256 du texte, citée au journal
    cree_le: Mapped[datetime] = mapped_column(HorodatageUTC())


class EnvoiDigestElu(Base):
    """Le digest d'un élu pour un jour, réservé avant l'envoi comme celui du maire."""

    __tablename__ = "envois_digest_elus"

    jour: Mapped[date] = mapped_column(Date, primary_key=True)
    elu: Mapped[str] = mapped_column(String(40), primary_key=True)
    destinataire: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(Text)
    statut: Mapped[str] = mapped_column(String(16))  # prepare, envoye
    prepare_le: Mapped[datetime] = mapped_column(HorodatageUTC())
    envoye_le: Mapped[datetime | None] = mapped_column(HorodatageUTC(), nullable=True)
