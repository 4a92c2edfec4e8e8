"""Les comptes de la page web et leurs sessions, dans la base du registre.

Mots de passe hachés avec argon2id (argon2-cffi) ; une session est un jeton aléatoire de
32 octets porté par le cookie, dont la base ne garde que l'empreinte sha256 : une copie de la
base ne permet d'ouvrir aucune session. Créer ou désactiver un compte écrit un événement
« compte » au journal, avec le nom de qui l'a fait.

Les comptes vivent dans le registre de l'installation (commune « defaut ») ; chacun voit une
ou plusieurs communes (« * » : toutes, un compte de l'intercommunalité), et chaque session
regarde l'une d'elles. Que ces communes existent, c'est la page web et la CLI qui le
vérifient : ce module ne connaît pas les dossiers de l'installation.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from noyau.communes import COMMUNE_PAR_DEFAUT, verifier_identifiant
from noyau.domaine import TypeEvenement
from noyau.erreurs import ConfigurationErreur, RegistreErreur
from registre.registre import Registre
from registre.tables import SessionWeb, Utilisateur

# L'élu lit ses courriers et les commente, sans rien décider (interfaces/web/routes_elus.py).
ROLES = ("secretaire", "maire", "admin", "elu")
LIBELLES_ROLE = {
    "secretaire": "secrétaire",
    "maire": "maire",
    "admin": "administrateur",
    "elu": "élu",
}
MOT_DE_PASSE_MIN = 10
DUREE_SESSION = timedelta(hours=12)
_CARACTERES_NOM = set("abcdefghijklmnopqrstuvwxyz0123456789.-_")
TOUTES = "*"  # un compte de l'intercommunalité qui voit toutes les communes
PAR_DEFAUT = (COMMUNE_PAR_DEFAUT,)


@dataclass(frozen=True)
class Compte:
    """Ce que la page web sait d'un utilisateur (jamais son hachage)."""

    id: int
    nom: str
    role: str
    actif: bool
    cree_le: datetime
    derniere_connexion: datetime | None
    # Les identifiants des communes que le compte voit, dans l'ordre donné ; (« * »,) : toutes.
    communes: tuple[str, ...] = PAR_DEFAUT

    @property
    def toutes(self) -> bool:
        return TOUTES in self.communes

    def voit(self, commune: str) -> bool:
        return self.toutes or commune in self.communes

    def voit_toutes(self, communes: tuple[str, ...]) -> bool:
        """Vrai si ce compte voit chacune de ces communes (« * » : seul un compte « * »)."""
        if self.toutes:
            return True
        return TOUTES not in communes and all(c in self.communes for c in communes)

    def voit_tout_de(self, autre: Compte) -> bool:
        """L'administration des comptes : un administrateur ne gère que des comptes tout
        entiers dans ses communes."""
        return self.voit_toutes(autre.communes)

    def visibles(self, existantes: list[str]) -> list[str]:
        """Parmi les communes `existantes` (dans leur ordre), celles que le compte voit ; pour
        un compte de quelques communes, dans l'ordre de ses communes."""
        if self.toutes:
            return list(existantes)
        return [c for c in self.communes if c in existantes]

    @property
    def admin(self) -> bool:
        return self.role == "admin"

    @property
    def libelle_role(self) -> str:
        return LIBELLES_ROLE.get(self.role, self.role)


@dataclass(frozen=True)
class SessionOuverte:
    compte: Compte
    csrf: str
    expire_le: datetime
    # La commune que la session regarde ; la page web vérifie qu'elle est encore permise.
    commune: str = COMMUNE_PAR_DEFAUT


def lire_communes(texte: str) -> tuple[str, ...]:
    """« a,b » ou « * » tel que la colonne `utilisateurs.communes` le garde."""
    communes = tuple(c.strip() for c in (texte or "").split(",") if c.strip())
    return communes or PAR_DEFAUT


def verifier_communes(communes: object) -> tuple[str, ...]:
    """Les communes d'un compte, dédoublonnées dans leur ordre : des identifiants valides, ou
    « * » seul ; sinon une phrase qui dit quoi écrire."""
    if isinstance(communes, str):
        communes = communes.split(",")
    if not isinstance(communes, list | tuple):
        raise RegistreErreur("Les communes d'un compte sont une liste d'identifiants.")
    propres = tuple(dict.fromkeys(str(c).strip() for c in communes if str(c).strip()))
    if not propres:
        raise RegistreErreur(
            "Indiquez au moins une commune (par exemple « defaut », « saint-jean,ars-2 » ou "
            "« * » pour toutes)."
        )
    if len(propres) > 500:
        raise RegistreErreur("Un compte voit au plus 500 communes ; « * » les donne toutes.")
    if TOUTES in propres:
        if len(propres) > 1:
            raise RegistreErreur("« * » donne déjà toutes les communes : il s'écrit seul.")
        return propres
    for commune in propres:
        try:
            verifier_identifiant(commune)
        except ConfigurationErreur as e:
            raise RegistreErreur(str(e)) from None
    return propres


def _compte(u: Utilisateur) -> Compte:
    return Compte(
        u.id,
        u.nom,
        u.role,
        u.actif,
        u.cree_le,
        u.derniere_connexion,
        lire_communes(u.communes),
    )


def empreinte_jeton(jeton: str) -> str:
    return hashlib.sha256(jeton.encode("utf-8", "replace")).hexdigest()


def verifier_nom(nom: str) -> str:
    nom = nom.strip().lower()
    if not 2 <= len(nom) <= 64 or not set(nom) <= _CARACTERES_NOM:
        raise RegistreErreur(
            f"Le nom « {nom[:64]} » ne convient pas : de 2 à 64 caractères, lettres sans accent, "
            "chiffres, point, tiret ou souligné (par exemple « secretaire » ou « j.martin »)."
        )
    return nom


def verifier_mot_de_passe(mot_de_passe: str) -> None:
    if len(mot_de_passe) < MOT_DE_PASSE_MIN:
        raise RegistreErreur(
            f"Le mot de passe est trop court : il faut au moins {MOT_DE_PASSE_MIN} caractères."
        )


class Comptes:
    def __init__(self, registre: Registre, duree_session: timedelta = DUREE_SESSION) -> None:
        # Privés : la page web tient les comptes, elle ne doit pas atteindre par eux le courrier
        # du registre de l'installation.
        self._registre = registre
        self._engine = registre.engine
        self.duree_session = duree_session
        self._hacheur = PasswordHasher()  # argon2id, paramètres recommandés par la RFC 9106
        # Un nom inconnu coûte le même temps qu'un mauvais mot de passe : on ne devine pas les
        # noms existants au chronomètre.
        self._leurre = self._hacheur.hash(secrets.token_hex(16))

    # --- Comptes ------------------------------------------------------------------------------

    def creer(
        self,
        nom: str,
        role: str,
        mot_de_passe: str,
        acteur: str,
        communes: tuple[str, ...] | list[str] = PAR_DEFAUT,
    ) -> Compte:
        nom = verifier_nom(nom)
        communes = verifier_communes(communes)
        if role not in ROLES:
            raise RegistreErreur(
                f"Rôle inconnu : « {role[:40]} » (secretaire, maire, admin ou elu)."
            )
        verifier_mot_de_passe(mot_de_passe)
        utilisateur = Utilisateur(
            nom=nom,
            role=role,
            hachage=self._hacheur.hash(mot_de_passe),
            actif=True,
            cree_le=self._registre.horloge(),
            communes=",".join(communes),
        )
        # Un compte de la seule commune par défaut s'écrit au journal comme avant les communes.
        detail = {"action": "cree", "nom": nom, "role": role}
        if communes != PAR_DEFAUT:
            detail["communes"] = ",".join(communes)

        def ajouter(session: Session) -> None:
            if session.execute(select(Utilisateur.id).where(Utilisateur.nom == nom)).first():
                raise RegistreErreur(f"Le compte « {nom} » existe déjà.")
            session.add(utilisateur)

        # Le compte et son événement au journal : ensemble ou pas du tout.
        self._registre.evenement_general(TypeEvenement.COMPTE, acteur, detail, ajouter)
        return _compte(utilisateur)

    def lister(self) -> list[Compte]:
        with Session(self._engine) as session:
            return [
                _compte(u)
                for u in session.execute(select(Utilisateur).order_by(Utilisateur.nom)).scalars()
            ]

    def compte(self, nom: str) -> Compte | None:
        with Session(self._engine) as session:
            u = session.execute(
                select(Utilisateur).where(Utilisateur.nom == nom.strip().lower())
            ).scalar_one_or_none()
            return None if u is None else _compte(u)

    def desactiver(self, nom: str, acteur: str) -> Compte:
        """Le compte ne peut plus se connecter ; ses sessions ouvertes sont fermées."""
        nom = nom.strip().lower()
        trouve: list[Utilisateur] = []

        def desactiver(session: Session) -> None:
            u = session.execute(
                select(Utilisateur).where(Utilisateur.nom == nom)
            ).scalar_one_or_none()
            if u is None:
                raise RegistreErreur(f"Aucun compte ne s'appelle « {nom} ».")
            if not u.actif:
                raise RegistreErreur(f"Le compte « {nom} » est déjà désactivé.")
            u.actif = False
            session.execute(delete(SessionWeb).where(SessionWeb.utilisateur_id == u.id))
            trouve.append(u)

        self._registre.evenement_general(
            TypeEvenement.COMPTE, acteur, {"action": "desactive", "nom": nom}, desactiver
        )
        u = trouve[0]
        return _compte(u)

    # --- Connexion et sessions ----------------------------------------------------------------

    def authentifier(self, nom: str, mot_de_passe: str) -> Compte | None:
        """Le compte actif si le mot de passe est le bon ; sinon None (sans dire pourquoi)."""
        with Session(self._engine, expire_on_commit=False) as session, session.begin():
            u = session.execute(
                select(Utilisateur).where(Utilisateur.nom == nom.strip().lower()[:64])
            ).scalar_one_or_none()
            hachage = u.hachage if u is not None and u.actif else self._leurre
            try:
                self._hacheur.verify(hachage, mot_de_passe)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return None
            if u is None or not u.actif:
                return None
            if self._hacheur.check_needs_rehash(u.hachage):
                u.hachage = self._hacheur.hash(mot_de_passe)
            u.derniere_connexion = self._registre.horloge()
            return _compte(u)

    def ouvrir_session(self, compte: Compte, commune: str | None = None) -> str:
        """Rend le jeton à mettre dans le cookie ; la base n'en garde que l'empreinte. La
        session regarde `commune` (par défaut, la première du compte)."""
        if commune is None:
            commune = COMMUNE_PAR_DEFAUT if compte.toutes else compte.communes[0]
        if not compte.voit(commune):
            raise RegistreErreur(f"Le compte « {compte.nom} » ne voit pas la commune {commune}.")
        jeton = secrets.token_urlsafe(32)
        moment = self._registre.horloge()
        with Session(self._engine) as session, session.begin():
            session.execute(delete(SessionWeb).where(SessionWeb.expire_le < moment))
            session.add(
                SessionWeb(
                    jeton=empreinte_jeton(jeton),
                    utilisateur_id=compte.id,
                    csrf=secrets.token_urlsafe(32),
                    cree_le=moment,
                    expire_le=moment + self.duree_session,
                    commune=commune,
                )
            )
        return jeton

    def session(self, jeton: str) -> SessionOuverte | None:
        if not jeton or len(jeton) > 200:
            return None
        with Session(self._engine) as session:
            trouve = session.execute(
                select(SessionWeb, Utilisateur)
                .join(Utilisateur, Utilisateur.id == SessionWeb.utilisateur_id)
                .where(SessionWeb.jeton == empreinte_jeton(jeton))
            ).first()
            if trouve is None:
                return None
            s, u = trouve
            if s.expire_le <= self._registre.horloge() or not u.actif:
                return None
            return SessionOuverte(_compte(u), s.csrf, s.expire_le, s.commune)

    def regarder(self, jeton: str, commune: str) -> None:
        """La session regarde désormais `commune` (la page web a vérifié que le compte la voit
        et qu'elle existe)."""
        verifier_identifiant(commune)
        with Session(self._engine) as session, session.begin():
            s = session.get(SessionWeb, empreinte_jeton(jeton))
            if s is not None:
                s.commune = commune

    def fermer_session(self, jeton: str) -> None:
        with Session(self._engine) as session, session.begin():
            session.execute(delete(SessionWeb).where(SessionWeb.jeton == empreinte_jeton(jeton)))
