"""Les dossiers de dépôt : celui du copieur (« scan vers dossier ») et celui des .eml / mbox.

Un fichier modifié depuis moins de `delai_stabilite_s` secondes est peut-être encore en cours
d'écriture : il est laissé pour la relève suivante. Ce délai se compte à l'horloge qui date les
fichiers du dossier (celle du NAS ou du serveur de partage quand le dossier est monté), lue sur
un fichier témoin : une horloge de cette machine en avance sur celle du partage ferait prendre
pour stable un scan que le copieur écrit encore. La date de réception d'un fichier est son âge
à cette horloge-là reporté sur celle du registre : un partage à l'heure fausse ne fausse pas
les délais légaux. Un fichier daté dans le futur du dossier (copieur qui pose lui-même une date
fausse) est jugé sur sa dernière modification connue du système de fichiers (ctime), et cela
est dit au registre ; un fichier daté de plus d'un jour avant son arrivée dans le dossier garde
sa date, et cela aussi est dit. Un fichier enregistré est rangé dans `traites/` à l'intérieur
du dossier, jamais supprimé. Un fichier illisible, ou enregistré mais que le dossier ne laisse
pas ranger (partage en lecture seule : l'heure est alors celle de la machine), n'arrête pas les
autres : il reste en place et c'est dit (`incidents`, consignés au registre par la relève).
"""

from __future__ import annotations

import contextlib
import hashlib
import mailbox
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING

from noyau.calendrier import Horloge, heure_de_paris, horloge_systeme
from noyau.domaine import Canal, ElementRecu, PartDeLot
from noyau.erreurs import ConnecteurErreur, ErreurEntreeSortie, citer, raison_systeme
from noyau.pannes import PointDePanne, aucune

if TYPE_CHECKING:
    from connecteurs.lots import Decoupage

TRAITES = "traites"
# Fichiers provisoires des copieurs, navigateurs et suites bureautiques : jamais des courriers.
SUFFIXES_PROVISOIRES = (".part", ".tmp", ".crdownload", ".partial", ".filepart", "~")
# Au-delà, un fichier daté en avance sur l'horloge du dossier a une date fausse (l'écart des
# horloges d'un client SMB ou NFS et de son serveur reste bien en deçà).
AVANCE_TOLEREE_S = 300.0
# Au-delà, un fichier daté bien avant son arrivée dans le dossier est signalé : ancien fichier
# copié ou déplacé là avec sa date, ou copieur dont l'horloge retarde (pile de l'horloge morte).
RETARD_SIGNALE_S = 86400.0
# Les fichiers non rangés nommés dans l'incident d'une relève ; au-delà, leur nombre.
NOMS_CITES = 5


class ErreurDossier(ConnecteurErreur):
    """Le dossier de dépôt est illisible ou ne se laisse pas ranger."""


class ErreurDossierPassagere(ErreurDossier, ErreurEntreeSortie):
    pass


def antidater(chemin: Path, secondes: float) -> None:
    """Recule de `secondes` la date d'un fichier déposé, comptée à l'horloge de son système de
    fichiers (celle que lit le délai de stabilité), pas à celle de ce programme."""
    moment = chemin.stat().st_mtime - secondes
    os.utime(chemin, (moment, moment))


class _SourceDossier:
    nom = ""
    canal = Canal.DEPOT

    def __init__(
        self, dossier: Path, delai_stabilite_s: float = 30.0, horloge: Horloge = horloge_systeme
    ) -> None:
        self.dossier = dossier
        self.delai = delai_stabilite_s
        self.horloge = horloge  # celle du registre : la date de réception s'y compte
        self._en_attente = 0
        self.incidents: list[str] = []
        self._non_ranges: list[str] = []  # enregistrés, pas rangés (dits en une fois : fermer)
        self._raison_non_range = ""
        self._restants: dict[Path, int] = {}  # mbox : messages pas encore acquittés
        self._chemins: dict[str, Path] = {}  # référence donnée à la relève → fichier

    @property
    def en_attente(self) -> int:
        return self._en_attente

    def _fichiers_stables(self) -> Iterator[tuple[Path, Arrivee]]:
        try:
            entrees = sorted(self.dossier.iterdir())
        except OSError as e:
            raise ErreurDossierPassagere(
                f"Le dossier de dépôt « {self.dossier} » est illisible : {raison_systeme(e)}."
            ) from e
        maintenant, ici = self._heure_du_dossier(), self.horloge()
        for chemin in entrees:
            nom = chemin.name
            if nom.startswith(".") or nom == TRAITES or nom.endswith(SUFFIXES_PROVISOIRES):
                continue
            try:
                etat = chemin.lstat()
            except OSError:
                continue
            if not chemin.is_file() or chemin.is_symlink():
                continue  # un lien pourrait mener hors du dossier
            age, remarque = _age(etat, maintenant)
            if age < self.delai:
                self._en_attente += 1
                continue
            yield chemin, Arrivee(ici - timedelta(seconds=age), remarque)

    def _heure_du_dossier(self) -> float:
        """L'heure du système de fichiers du dossier : la date de modification d'un fichier
        témoin caché (ignoré de toute relève), créé, daté « maintenant » puis retiré ; celle de
        cette machine si le dossier n'accepte pas d'écriture."""
        try:
            fd, nom = tempfile.mkstemp(prefix=".courrier-heure-", dir=self.dossier)
        except OSError:
            return time.time()
        try:
            os.utime(fd)  # sans heure donnée : celle du système de fichiers (NFS, SMB compris)
            return os.fstat(fd).st_mtime
        except OSError:
            return time.time()
        finally:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(nom)

    def _lire(self, chemin: Path) -> bytes | None:
        """Les octets du fichier ; None s'il a disparu, ou s'il est illisible (droits, partage
        coupé) : il reste en place pour la relève suivante, c'est dit, et les autres fichiers
        du dossier passent quand même."""
        try:
            return chemin.read_bytes()
        except FileNotFoundError:
            return None  # pris par une autre relève entre la liste et la lecture
        except OSError as e:
            self.incidents.append(
                f"Le fichier « {_affichable(chemin.name)} » du dossier « {self.dossier} » est "
                f"illisible : {raison_systeme(e)}. Il reste dans le dossier et sera repris à "
                "la prochaine relève."
            )
            return None

    def _element(
        self, chemin: Path, contenu: bytes, arrivee: Arrivee, reference: str | None = None
    ) -> ElementRecu:
        reference = reference or _affichable(chemin.name)
        if reference in self._chemins:  # deux noms qui ne diffèrent que par l'invisible
            reference = f"{reference} [{len(self._chemins) + 1}]"
        self._chemins[reference] = chemin
        return ElementRecu(
            source=self.nom,
            canal=self.canal,
            reference=reference,
            recu_le=arrivee.recu_le,
            contenu=contenu,
            nom_fichier=_affichable(chemin.name),
            cles=(),
            remarque=arrivee.remarque,
        )

    def _ranger(self, chemin: Path) -> None:
        destination = self.dossier / TRAITES
        try:
            destination.mkdir(exist_ok=True)
            cible = destination / chemin.name
            rang = 1
            while cible.exists():
                cible = destination / f"{chemin.stem}-{rang}{chemin.suffix}"
                rang += 1
            os.replace(chemin, cible)
        except FileNotFoundError:
            return  # déjà rangé par une autre relève
        except OSError as e:
            # Enregistré, donc rien n'est perdu : les autres fichiers passent quand même, et
            # les relèves suivantes le reconnaîtront (doublon) jusqu'à ce qu'il soit rangé.
            self._non_ranges.append(_affichable(chemin.name))
            self._raison_non_range = raison_systeme(e)

    def fermer(self) -> None:
        """Les fichiers enregistrés mais pas rangés, dits en une phrase (un partage en lecture
        seule en laisse autant qu'il en reçoit)."""
        noms, self._non_ranges = self._non_ranges, []
        if not noms:
            return
        cites = citer([f"« {n} »" for n in noms], NOMS_CITES)
        self.incidents.append(
            f"{len(noms)} fichier(s) du dossier « {self.dossier} » enregistré(s) mais pas "
            f"rangé(s) dans {TRAITES}/ ({cites}) : {self._raison_non_range}. Ils restent dans "
            "le dossier, rien n'est perdu ; chaque relève les reconnaît sans les enregistrer "
            "deux fois, jusqu'à ce que le dossier accepte l'écriture."
        )


class SourceScans(_SourceDossier):
    """Le dossier où le copieur dépose les lettres papier numérisées.

    Un PDF qui contient des feuilles séparatrices est un lot : chaque lettre devient un
    élément, identifié par (empreinte du lot, rang), et le fichier n'est rangé qu'une fois
    toutes ses lettres enregistrées. Une relève tuée au milieu reprend le même découpage :
    les lettres déjà enregistrées sont reconnues, les autres suivent.
    """

    nom = "depot_scans"
    canal = Canal.SCAN

    def __init__(
        self,
        dossier: Path,
        delai_stabilite_s: float = 30.0,
        page_blanche: bool = False,
        panne: PointDePanne = aucune,
        horloge: Horloge = horloge_systeme,
    ) -> None:
        super().__init__(dossier, delai_stabilite_s, horloge)
        self.page_blanche = page_blanche
        self.panne = panne

    def elements(self) -> Iterator[ElementRecu]:
        from connecteurs.lots_isole import decouper_a_part

        self._en_attente = 0
        for chemin, arrivee in self._fichiers_stables():
            contenu = self._lire(chemin)
            if contenu is not None:
                decoupage = decouper_a_part(contenu, self.page_blanche, panne=self.panne)
                yield from self._lettres(chemin, contenu, arrivee, decoupage)

    def _lettres(
        self, chemin: Path, contenu: bytes, arrivee: Arrivee, decoupage: Decoupage | None
    ) -> Iterator[ElementRecu]:
        nom = _affichable(chemin.name)
        if decoupage is None or not decoupage.lettres:
            self._restants[chemin] = 1
            reference = None
            if decoupage is not None:  # rien que des séparatrices : gardé tel quel, dit
                reference = f"{nom} (lot sans lettre : seulement des feuilles séparatrices)"
            yield self._element(chemin, contenu, arrivee, reference)
            return
        empreinte = hashlib.sha256(contenu).hexdigest()
        total = len(decoupage.lettres)
        self._restants[chemin] = total
        for lettre in decoupage.lettres:
            self.panne("pendant_decoupage")
            pages = (
                f"page {lettre.premiere_page}"
                if len(lettre.pages) == 1
                else f"pages {lettre.premiere_page} à {lettre.derniere_page}"
            )
            element = self._element(
                chemin, lettre.contenu, arrivee, f"{nom} (lettre {lettre.rang}/{total}, {pages})"
            )
            yield replace(
                element,
                nom_fichier=f"{Path(nom).stem}-lettre-{lettre.rang}.pdf",
                cles=(f"lot:{empreinte}:{lettre.rang}",),
                lot=PartDeLot(
                    empreinte=empreinte,
                    contenu=contenu,
                    nom=nom,
                    rang=lettre.rang,
                    total=total,
                    pages=lettre.pages,
                    pages_lot=decoupage.pages,
                ),
            )

    def acquitter(self, element: ElementRecu) -> None:
        chemin = self._chemins.pop(element.reference)
        self._restants[chemin] -= 1
        if self._restants[chemin] == 0:
            del self._restants[chemin]
            self._ranger(chemin)


class SourceEml(_SourceDossier):
    """Un dossier de fichiers .eml (un message) ou mbox (plusieurs) : imports, démonstration."""

    nom = "depot_eml"
    canal = Canal.DEPOT

    def elements(self) -> Iterator[ElementRecu]:
        self._en_attente = 0
        for chemin, arrivee in self._fichiers_stables():
            contenu = self._lire(chemin)
            if contenu is None:
                continue
            if _est_mbox(chemin, contenu):
                yield from self._messages_mbox(chemin, arrivee, contenu)
                continue
            self._restants[chemin] = 1
            yield self._element(chemin, contenu, arrivee)

    def _messages_mbox(
        self, chemin: Path, arrivee: Arrivee, contenu: bytes
    ) -> Iterator[ElementRecu]:
        try:
            boite = mailbox.mbox(chemin, create=False)
            cles = list(boite.keys())
        except (OSError, mailbox.Error) as e:
            raise ErreurDossier(
                f"La boîte mbox « {_affichable(chemin.name)} » est illisible : {e}."
            ) from e
        if not cles:
            # Rien à découper : le fichier est enregistré tel quel, pour ne rien perdre.
            self._restants[chemin] = 1
            yield self._element(chemin, contenu, arrivee)
            return
        self._restants[chemin] = len(cles)
        try:
            for rang, cle in enumerate(cles, start=1):
                message = boite.get_message(cle)
                recu_le = _date_ligne_from(message.get_from())
                du_message = Arrivee(recu_le, "") if recu_le else arrivee
                reference = f"{_affichable(chemin.name)} (message {rang}/{len(cles)})"
                yield self._element(chemin, boite.get_bytes(cle), du_message, reference)
        finally:
            boite.close()

    def acquitter(self, element: ElementRecu) -> None:
        chemin = self._chemins.pop(element.reference)
        self._restants[chemin] -= 1
        if self._restants[chemin] == 0:
            del self._restants[chemin]
            self._ranger(chemin)


def _est_mbox(chemin: Path, contenu: bytes) -> bool:
    # Un .eml qui commence par « From » n'a qu'une enveloppe : il reste un seul courrier,
    # archivé tel quel. Sans extension parlante, la ligne « From » annonce une boîte mbox.
    suffixe = chemin.suffix.lower()
    if suffixe in {".mbox", ".mbx"}:
        return True
    return suffixe not in {".eml", ".msg"} and contenu.startswith(b"From ")


@dataclass(frozen=True)
class Arrivee:
    recu_le: datetime  # à l'horloge du registre
    remarque: str  # pour le registre : une date de fichier écartée, et pourquoi


def _age(etat: os.stat_result, maintenant: float) -> tuple[float, str]:
    """L'âge du fichier à l'horloge du dossier : depuis sa date de modification ; depuis son
    dernier changement connu du système de fichiers (ctime, qu'aucun programme ne pose) si
    cette date est dans le futur du dossier, et une remarque le dit. Une date de plus d'un
    jour antérieure à son arrivée (ctime) est gardée, mais signalée : rien ne dit si c'est un
    ancien fichier ou une horloge en retard, la secrétaire en juge."""
    avance = etat.st_mtime - maintenant
    if avance > AVANCE_TOLEREE_S:
        date = heure_de_paris(datetime.fromtimestamp(etat.st_mtime, tz=UTC))
        return maintenant - etat.st_ctime, (
            f"Fichier daté du {date}, {_duree(avance)} en avance sur l'horloge du dossier "
            "de dépôt (copieur ou partage à l'heure fausse ?) : sa réception est comptée depuis "
            "son dépôt."
        )
    retard = etat.st_ctime - etat.st_mtime
    if retard <= RETARD_SIGNALE_S:
        return maintenant - etat.st_mtime, ""
    date = heure_de_paris(datetime.fromtimestamp(etat.st_mtime, tz=UTC))
    arrive = heure_de_paris(datetime.fromtimestamp(etat.st_ctime, tz=UTC))
    return maintenant - etat.st_mtime, (
        f"Fichier daté du {date}, {_duree(retard)} avant son arrivée dans le dossier de dépôt "
        f"(le {arrive}) : ancien fichier copié là, ou copieur à l'heure fausse ? Sa date est "
        "retenue comme date de réception ; vérifiez-la."
    )


def _duree(secondes: float) -> str:
    if secondes >= 86400:
        return f"{secondes / 86400:.0f} jour(s)"
    return f"{secondes / 60:.0f} minute(s)"


def _date_ligne_from(ligne: str) -> datetime | None:
    # « From expediteur@exemple.example Sat Nov 21 10:00:00 2026 » : la date suit l'adresse.
    morceaux = ligne.split(None, 1)
    if len(morceaux) < 2:
        return None
    try:
        moment = parsedate_to_datetime(morceaux[1])
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _affichable(nom: str) -> str:
    """Nom de fichier montrable : caractères de contrôle et substituts retirés."""
    propre = "".join(c if c.isprintable() else "?" for c in nom)
    return propre.encode("utf-8", "replace").decode("utf-8")[:255]
