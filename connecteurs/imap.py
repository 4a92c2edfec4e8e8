"""La boîte aux lettres IMAP de la mairie (imapclient).

Identité d'un message : (compte, dossier, UIDVALIDITY, UID). Le message est lu sans être
marqué lu (BODY.PEEK[]) et n'est déplacé vers le dossier « Traité » qu'une fois sa ligne
validée au registre : une panne entre les deux le laisse dans la boîte, et la relève suivante
le reconnaît comme déjà enregistré.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError
from imapclient.imapclient import SEEN, SENT

from connecteurs.oauth_sasl import ErreurOAuth, SourceJeton, identifier_imap
from noyau.domaine import Canal, ElementRecu
from noyau.erreurs import ConnecteurErreur, ErreurEntreeSortie, citer
from noyau.pannes import PointDePanne, aucune

LOT = 20  # messages lus par commande FETCH : borne la mémoire sans trop d'allers-retours
ATTRIBUTS = ["BODY.PEEK[]", "INTERNALDATE", "RFC822.SIZE"]
# Les UID des messages non rangés nommés dans l'incident d'une relève ; au-delà, leur nombre.
UIDS_CITES = 10


class ErreurImap(ConnecteurErreur):
    """La boîte IMAP refuse ou ne répond pas."""


class ErreurImapPassagere(ErreurImap, ErreurEntreeSortie):
    """Coupure réseau, délai dépassé : une nouvelle tentative a un sens."""


@dataclass(frozen=True)
class ParametresImap:
    hote: str
    port: int
    utilisateur: str
    mot_de_passe: str
    securite: str = "ssl"  # ssl, starttls, aucune
    dossier: str = "INBOX"
    dossier_traite: str = "Traité"
    delai_s: float = 60.0
    # OAuth2 : rend le jeton d'accès (vrai : renouvelé de force) ; absent, le mot de passe sert.
    jeton: SourceJeton | None = field(default=None, repr=False, compare=False)
    mecanisme: str = "XOAUTH2"  # ou OAUTHBEARER


T = TypeVar("T")


def ouvrir(p: ParametresImap, preparer: Callable[[IMAPClient], T]) -> tuple[IMAPClient, T]:
    """Connexion, chiffrement, identification, puis `preparer` (choix des dossiers) ; toute
    panne devient une phrase française, passagère quand une nouvelle tentative a un sens."""
    try:
        return _ouvrir(p, preparer)
    except ErreurOAuth as e:
        classe = ErreurImapPassagere if isinstance(e, ErreurEntreeSortie) else ErreurImap
        raise classe(f"Boîte {p.utilisateur} sur {p.hote} : {e}") from e
    except (IMAPClientError, OSError) as e:
        raise _traduire(p, e) from e


def _ouvrir(p: ParametresImap, preparer: Callable[[IMAPClient], T]) -> tuple[IMAPClient, T]:
    client: IMAPClient | None = None
    try:
        contexte = ssl.create_default_context()
        client = IMAPClient(
            p.hote,
            port=p.port,
            ssl=p.securite == "ssl",
            ssl_context=contexte,
            timeout=p.delai_s,
        )
        if p.securite == "starttls":
            client.starttls(contexte)
        if p.jeton is None:
            client.login(p.utilisateur, p.mot_de_passe)
        else:
            identifier_imap(client, p.utilisateur, p.jeton, p.mecanisme)
        return client, preparer(client)
    except BaseException:
        if client is not None:  # pas de connexion laissée ouverte derrière une erreur
            with contextlib.suppress(IMAPClientError, OSError):
                client.shutdown()
        raise


def _traduire(p: ParametresImap, e: BaseException) -> BaseException:
    if isinstance(e, LoginError) and p.jeton is not None:
        return ErreurImap(
            f"La boîte {p.utilisateur} sur {p.hote} refuse le jeton OAuth2, même renouvelé : "
            "vérifiez que l'application a le droit IMAP sur cette boîte, puis relancez "
            "« courrier connexion-oauth »."
        )
    if isinstance(e, LoginError):
        return ErreurImap(
            f"La boîte {p.utilisateur} sur {p.hote} refuse l'identifiant ou le mot de passe."
        )
    if isinstance(e, (TimeoutError, ConnectionError, OSError)):
        return ErreurImapPassagere(
            f"Le serveur IMAP {p.hote}:{p.port} ne répond pas ({e.__class__.__name__})."
        )
    if isinstance(e, IMAPClientError):
        return ErreurImap(f"Le serveur IMAP {p.hote} a refusé : {e}.")
    return e


class _SessionImap:
    """Une connexion ouverte à la demande (`ouvrir`), fermée par `fermer`."""

    def __init__(self, parametres: ParametresImap) -> None:
        self.p = parametres
        self._client: IMAPClient | None = None

    def fermer(self) -> None:
        if self._client is None:
            return
        with contextlib.suppress(IMAPClientError, OSError):
            self._client.logout()
        self._client = None


class SourceImap(_SessionImap):
    nom = "imap"

    def __init__(self, parametres: ParametresImap, panne: PointDePanne = aucune) -> None:
        super().__init__(parametres)
        self.panne = panne
        self.incidents: list[str] = []
        self._non_ranges: list[int] = []  # enregistrés, refusés au rangement (dits : fermer)
        self._refus = ""
        self._uidvalidity: int | None = None
        self._uids: dict[str, int] = {}

    @property
    def en_attente(self) -> int:
        return 0

    def _connecter(self) -> IMAPClient:
        if self._client is not None:
            return self._client
        p = self.p

        def preparer(client: IMAPClient) -> dict[bytes, object]:
            client.normalise_times = False
            reponse: dict[bytes, object] = client.select_folder(p.dossier)
            if not client.folder_exists(p.dossier_traite):
                client.create_folder(p.dossier_traite)
            return reponse

        client, reponse = ouvrir(p, preparer)
        self._uidvalidity = int(str(reponse[b"UIDVALIDITY"]))
        self._client = client
        return client

    def _cle(self, uid: int) -> str:
        return f"imap:{self.p.utilisateur}@{self.p.hote}/{self.p.dossier}:{self._uidvalidity}:{uid}"

    def elements(self) -> Iterator[ElementRecu]:
        client = self._connecter()
        try:
            uids = sorted(client.search(["ALL"]))
        except (IMAPClientError, OSError) as e:
            raise ErreurImapPassagere(f"Recherche impossible dans {self.p.dossier} : {e}.") from e
        for debut in range(0, len(uids), LOT):
            lot = uids[debut : debut + LOT]
            reponses = self._lire_lot(lot)
            for uid in lot:
                donnees = reponses.get(uid)
                if donnees is None or b"BODY[]" not in donnees:
                    continue  # supprimé entre SEARCH et FETCH : rien à enregistrer
                contenu = bytes(donnees[b"BODY[]"] or b"")
                recu_le = donnees.get(b"INTERNALDATE")
                reference = f"{self.p.dossier} UID {uid} (UIDVALIDITY {self._uidvalidity})"
                self._uids[reference] = uid
                self.panne("pendant_releve")
                yield ElementRecu(
                    source=self.nom,
                    canal=Canal.EMAIL,
                    reference=reference,
                    recu_le=_en_utc(recu_le),
                    contenu=contenu,
                    cles=(self._cle(uid),),
                )

    def _lire_lot(self, lot: list[int]) -> dict[int, dict[bytes, Any]]:
        try:
            return dict(self._connecter().fetch(lot, ATTRIBUTS))
        except OSError as e:
            raise ErreurImapPassagere(
                f"Lecture impossible des messages {lot[0]} à {lot[-1]} : {e}."
            ) from e
        except IMAPClientError as e:
            premiere = e
        # Un seul message que le serveur ne sait pas lire fait échouer tout le lot (Dovecot
        # coupe même la connexion) : relu message par message, le lot ne perd que lui, qui
        # reste dans la boîte et est dit ; sans cela, la boîte s'arrêtait là chaque nuit.
        self._couper()
        reponses: dict[int, dict[bytes, Any]] = {}
        refus: dict[int, str] = {}
        for uid in lot:
            client = self._reconnecter()
            try:
                reponses.update(client.fetch([uid], ATTRIBUTS))
            except OSError as e:
                raise ErreurImapPassagere(f"Lecture impossible du message {uid} : {e}.") from e
            except IMAPClientError as e:
                refus[uid] = str(e)
                self._couper()
        if len(refus) == len(lot) > 1:  # aucun ne se lit : c'est le serveur, pas un message
            raise ErreurImapPassagere(
                f"Lecture impossible des messages {lot[0]} à {lot[-1]} : {premiere}."
            ) from premiere
        for uid, raison in refus.items():
            self.incidents.append(
                f"Le message UID {uid} de « {self.p.dossier} » ne se laisse pas lire par le "
                f"serveur (réponse du serveur : {raison[:200]}) : il reste dans la boîte, sans "
                "ligne au registre, et sera réessayé à chaque relève ; s'il reste illisible, "
                "voyez-le avec l'hébergeur de la messagerie."
            )
        return reponses

    def _reconnecter(self) -> IMAPClient:
        avant = self._uidvalidity
        client = self._connecter()
        if self._uidvalidity != avant:
            raise ErreurImapPassagere(
                f"La boîte « {self.p.dossier} » a changé (UIDVALIDITY) pendant la relève : "
                "elle reprendra à la prochaine."
            )
        return client

    def _couper(self) -> None:
        """Abandonne une connexion que le serveur a peut-être coupée ; la suivante est neuve."""
        if self._client is not None:
            with contextlib.suppress(IMAPClientError, OSError):
                self._client.shutdown()
            self._client = None

    def acquitter(self, element: ElementRecu) -> None:
        client = self._connecter()
        uid = self._uids.pop(element.reference)
        try:
            if client.has_capability("MOVE"):
                client.move([uid], self.p.dossier_traite)
            else:
                client.copy([uid], self.p.dossier_traite)
                client.delete_messages([uid])
                client.expunge([uid] if client.has_capability("UIDPLUS") else None)
        except (IMAPClientAbortError, OSError) as e:  # connexion perdue : la suite aussi
            raise ErreurImapPassagere(
                f"Le message UID {uid} est enregistré mais n'a pas pu être rangé dans "
                f"« {self.p.dossier_traite} » : {e}. Il le sera à la prochaine relève."
            ) from e
        except IMAPClientError as e:
            if "EXPUNGEISSUED" in str(e).upper():
                # Une autre relève de la même boîte vient de le ranger (RFC 5530) : elle
                # travaille en même temps que celle-ci, qui s'arrête et reprendra après elle,
                # plutôt que de ranger les mêmes messages en même temps (Traité en double).
                raise ErreurImapPassagere(
                    f"Le message UID {uid} vient d'être rangé par une autre relève de la même "
                    "boîte : celle-ci s'arrête et reprendra après elle."
                ) from e
            # Le serveur refuse ce rangement (droits, quota du dossier) mais la connexion
            # tient : le message est enregistré, rien n'est perdu, les suivants passent.
            self._non_ranges.append(uid)
            self._refus = str(e)

    def fermer(self) -> None:
        """Les messages enregistrés que le serveur a refusé de ranger, dits en une phrase."""
        uids, self._non_ranges = self._non_ranges, []
        if uids:
            cites = citer([str(u) for u in uids], UIDS_CITES)
            self.incidents.append(
                f"{len(uids)} message(s) de « {self.p.dossier} » enregistré(s) mais que le "
                f"serveur a refusé de ranger dans « {self.p.dossier_traite} » (UID {cites} ; "
                f"réponse du serveur : {self._refus[:200]}). Ils restent dans "
                f"« {self.p.dossier} », rien n'est perdu ; chaque relève les reconnaît sans "
                "les enregistrer deux fois, jusqu'à ce que le dossier les accepte (droits, "
                "quota de la boîte)."
            )
        super().fermer()


def _en_utc(moment: object) -> datetime:
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    return datetime.now(UTC)


class BoiteEnvoyes(_SessionImap):
    """Le dossier « Envoyés » de la boîte de la mairie : on y dépose la copie de chaque réponse,
    et on y cherche une réponse dont on ne sait pas si elle est partie (par son Message-ID)."""

    def __init__(self, parametres: ParametresImap, dossier: str = "") -> None:
        super().__init__(parametres)
        self._dossier_voulu = dossier
        self.dossier = ""

    def _connecter(self) -> IMAPClient:
        if self._client is not None:
            return self._client

        def preparer(client: IMAPClient) -> str:
            # RFC 6154 : sans réglage, le serveur désigne lui-même son dossier des envoyés.
            dossier = self._dossier_voulu or client.find_special_folder(SENT) or "Sent"
            if not client.folder_exists(dossier):
                client.create_folder(dossier)
            return str(dossier)

        self._client, self.dossier = ouvrir(self.p, preparer)
        return self._client

    def deposer(self, message: bytes, moment: datetime) -> None:
        """Ajoute la copie d'un message envoyé (marqué lu) au dossier « Envoyés »."""
        client = self._connecter()
        try:
            client.append(self.dossier, message, flags=(SEEN,), msg_time=moment)
        except (IMAPClientError, OSError) as e:
            raise ErreurImapPassagere(
                f"La copie n'a pas pu être déposée dans « {self.dossier} » : {e}."
            ) from e

    def contient(self, message_id: str) -> bool:
        """Vrai si un message de ce Message-ID est dans le dossier « Envoyés »."""
        client = self._connecter()
        try:
            client.select_folder(self.dossier, readonly=True)
            return bool(client.search(["HEADER", "Message-ID", message_id]))
        except (IMAPClientError, OSError) as e:
            raise ErreurImapPassagere(f"Recherche impossible dans « {self.dossier} » : {e}.") from e
