"""Ce qu'on vérifie après une nuit d'essai : la boîte, le dossier de scans, le registre et
l'archive (rien de perdu, rien en double, chrono sans trou), puis les réponses envoyées."""

from __future__ import annotations

import email
import email.policy
import hashlib
from collections import Counter
from datetime import datetime
from pathlib import Path

from noyau.fiches import FicheCourrier, FicheEvenement
from preuves import jeu_lots
from preuves.jeu import courriels, scans
from preuves.nuit_d_essai import TRAITE, Boite
from preuves.points_de_panne import POINTS_ENVOI, REPONSES_MIN
from registre.archive import Archive
from registre.base import creer_engine
from registre.registre import Registre


def message_ids(boite: Boite, dossier_imap: str) -> list[str]:
    client = boite.client()
    try:
        if not client.folder_exists(dossier_imap):
            return []
        client.select_folder(dossier_imap, readonly=True)
        uids = client.search(["ALL"])
        if not uids:
            return []
        reponses = client.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
        ids = []
        for donnees in reponses.values():
            brut = next(v for k, v in donnees.items() if k.startswith(b"BODY[HEADER"))
            ids.append(bytes(brut).decode().partition(":")[2].strip())
        return ids
    finally:
        client.logout()


def _doublons_ou_manques(trouves: list[str], attendus: list[str]) -> str:
    compte = Counter(trouves)
    manquants = [a for a in attendus if compte[a] == 0]
    doubles = sorted(k for k, n in compte.items() if n > 1)
    inconnus = sorted(k for k in compte if k not in attendus)
    morceaux = []
    if manquants:
        morceaux.append(f"manquants {manquants}")
    if doubles:
        morceaux.append(f"en double {doubles}")
    if inconnus:
        morceaux.append(f"inattendus {inconnus}")
    return ", ".join(morceaux)


def verifier_nuit(
    boite: Boite,
    dossier: Path,
    doublons_attendus: int,
    lot_touche_permis: bool = False,
    avec_lot: bool = False,
) -> tuple[list[str], dict[str, tuple[str, ...]]]:
    """Les anomalies trouvées, et la signature de chaque courrier (clé → catégorie, moteur,
    brouillons), à comparer à celle de la nuit témoin.

    Le lot de scans est rangé dans traites/ tel quel, mais ce sont ses lettres qui sont au
    registre, chacune une fois."""
    anomalies: list[str] = []
    ids = [c.message_id for c in courriels()]
    arrivees = {c.message_id: c.recu_le for c in courriels()}
    lettres_du_lot = list(jeu_lots.empreintes_des_lettres()) if avec_lot else []
    empreintes = [s.empreinte for s in scans()] + lettres_du_lot
    fichiers = [s.empreinte for s in scans()]
    if avec_lot:
        fichiers.append(hashlib.sha256(jeu_lots.lot()).hexdigest())

    anomalies += _anomalies_des_sources(boite, dossier, ids, fichiers)

    donnees = dossier / "donnees"
    # Sans Registre.ouvrir : la nuit a déjà migré la base, et Alembic n'aime pas les fils.
    registre = Registre(
        creer_engine(f"sqlite:///{donnees / 'registre.sqlite3'}"), Archive(donnees / "archive")
    )
    try:
        anomalies += [f"verifier() : {a}" for a in registre.verifier()]
        courriers = registre.courriers()
        evenements = registre.evenements()
    finally:
        registre.fermer()
    archive = registre.archive

    anomalies += _anomalies_des_comptes(courriers, ids, empreintes)
    anomalies += _anomalies_des_doublons(
        courriers, evenements, lettres_du_lot, doublons_attendus, lot_touche_permis
    )
    etapes = Counter((e.numero, e.type) for e in evenements if e.numero)
    signature: dict[str, tuple[str, ...]] = {}
    for c in courriers:
        cle = c.message_id if c.canal == "email" else c.empreinte[:12]
        anomalies += _anomalies_du_courrier(c, cle, archive, arrivees, etapes)
        signature[cle] = (
            c.categorie or "",
            c.moteur or "",
            *sorted(f"{b.type}/{b.auteur}" for b in c.brouillons),
        )
    return anomalies, signature


def _anomalies_des_sources(
    boite: Boite, dossier: Path, ids: list[str], fichiers: list[str]
) -> list[str]:
    """La boîte et le dossier de scans après la nuit : tout relevé, rien en double."""
    anomalies: list[str] = []
    if reste := message_ids(boite, "INBOX"):
        anomalies.append(f"INBOX n'est pas vide : {sorted(reste)}")
    if ecart := _doublons_ou_manques(message_ids(boite, TRAITE), ids):
        anomalies.append(f"« {TRAITE} » : {ecart}")
    depot = dossier / "scans"
    if reste_scans := sorted(p.name for p in depot.iterdir() if p.name != "traites"):
        anomalies.append(f"le dossier de scans n'est pas vide : {reste_scans}")
    ranges = [
        hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (depot / "traites").glob("*")
        if p.is_file()
    ]
    if ecart := _doublons_ou_manques(ranges, fichiers):
        anomalies.append(f"traites/ : {ecart}")
    return anomalies


def _anomalies_des_comptes(
    courriers: list[FicheCourrier], ids: list[str], empreintes: list[str]
) -> list[str]:
    """Chaque courriel et chaque scan au registre une fois, numéros sans trou."""
    anomalies: list[str] = []
    emails = [c.message_id for c in courriers if c.canal == "email"]
    if ecart := _doublons_ou_manques(emails, ids):
        anomalies.append(f"registre, courriels par Message-ID : {ecart}")
    des_scans = [c.empreinte for c in courriers if c.canal == "scan"]
    if ecart := _doublons_ou_manques([e[:12] for e in des_scans], [e[:12] for e in empreintes]):
        anomalies.append(f"registre, scans par sha256 : {ecart}")
    if len(courriers) != len(ids) + len(empreintes):
        anomalies.append(
            f"{len(courriers)} courriers au registre, {len(ids) + len(empreintes)} attendus"
        )

    par_annee: dict[int, list[int]] = {}
    for c in courriers:
        par_annee.setdefault(c.annee, []).append(c.rang)
    for annee, rangs in par_annee.items():
        if sorted(rangs) != list(range(1, len(rangs) + 1)):
            anomalies.append(f"chrono {annee} : rangs {sorted(rangs)}, attendu 1..{len(rangs)}")
    if len({c.numero for c in courriers}) != len(courriers):
        anomalies.append("deux courriers portent le même numéro")
    return anomalies


def _anomalies_des_doublons(
    courriers: list[FicheCourrier],
    evenements: list[FicheEvenement],
    lettres_du_lot: list[str],
    doublons_attendus: int,
    lot_touche_permis: bool,
) -> list[str]:
    anomalies: list[str] = []
    numeros_du_lot = {c.numero for c in courriers if c.empreinte in lettres_du_lot}
    doublons_du_lot = sum(e.type == "doublon" and e.numero in numeros_du_lot for e in evenements)
    doublons = sum(e.type == "doublon" for e in evenements) - doublons_du_lot
    if doublons_du_lot:
        # La panne est tombée au milieu du lot : ses lettres déjà enregistrées sont reconnues,
        # et rien d'autre n'a pu l'être.
        if not lot_touche_permis or doublons_du_lot > len(lettres_du_lot):
            anomalies.append(f"{doublons_du_lot} doublon(s) reconnu(s) dans le lot de scans")
        doublons_attendus = 0
    if doublons != doublons_attendus:
        anomalies.append(f"{doublons} doublon(s) reconnu(s), {doublons_attendus} attendu(s)")
    return anomalies


def _anomalies_du_courrier(
    c: FicheCourrier,
    cle: str,
    archive: Archive,
    arrivees: dict[str, datetime],
    etapes: Counter[tuple[str, str]],
) -> list[str]:
    """Un courrier du registre : octets gardés, date d'arrivée, étapes une fois chacune."""
    anomalies: list[str] = []
    fichier = archive.chemin(c.empreinte)
    if not fichier.is_file() or hashlib.sha256(fichier.read_bytes()).hexdigest() != c.empreinte:
        anomalies.append(f"{c.numero} : octets d'origine absents ou altérés dans l'archive")
    if c.canal == "email" and c.recu_le != arrivees.get(c.message_id):
        anomalies.append(f"{c.numero} : reçu le {c.recu_le}, pas à son INTERNALDATE")
    if c.statut not in ("analyse", "repondu") or c.extrait_le is None or c.analyse_le is None:
        anomalies.append(f"{c.numero} ({cle}) : statut « {c.statut} », {c.erreur[:120]}")
    for type_ in ("recu", "enregistre", "extrait", "analyse"):
        if etapes[(c.numero, type_)] != 1:
            anomalies.append(f"{c.numero} : {etapes[(c.numero, type_)]} événement(s) « {type_} »")
    if etapes[(c.numero, "erreur")]:
        anomalies.append(f"{c.numero} : {etapes[(c.numero, 'erreur')]} événement(s) d'erreur")
    if etapes[(c.numero, "brouillon")] != len(c.brouillons):
        anomalies.append(
            f"{c.numero} : {etapes[(c.numero, 'brouillon')]} événements « brouillon » "
            f"pour {len(c.brouillons)} brouillons"
        )
    rangs = [b.rang for b in c.brouillons]
    if rangs != list(range(1, len(rangs) + 1)):
        anomalies.append(f"{c.numero} : brouillons de rangs {rangs}")
    return anomalies


def verifier_envoi(dossier: Path, recus: list[bytes], point_de_panne: str | None) -> list[str]:
    """Aucune réponse reçue deux fois ; chaque brouillon validé fini : envoyé (et reçu une
    fois, sous son Message-ID) ou, seulement après une panne pendant l'envoi, « à vérifier »
    (et reçu au plus une fois)."""
    anomalies: list[str] = []
    messages = [email.message_from_bytes(m, policy=email.policy.default) for m in recus]
    par_id = Counter(str(m["Message-ID"]).strip() for m in messages)
    par_brouillon = Counter(
        (str(m["X-Courrier-Numero"]), str(m["Subject"]).strip()) for m in messages
    )
    if doubles := sorted(k for k, n in par_brouillon.items() if n > 1):
        anomalies.append(f"réponses reçues plusieurs fois : {doubles}")
    donnees = dossier / "donnees"
    registre = Registre(
        creer_engine(f"sqlite:///{donnees / 'registre.sqlite3'}"), Archive(donnees / "archive")
    )
    try:
        courriers = registre.courriers()
    finally:
        registre.fermer()
    valides = [(c, b) for c in courriers for b in c.brouillons if b.mode == "courriel"]
    if len(valides) < REPONSES_MIN:
        anomalies.append(f"{len(valides)} réponses validées, au moins {REPONSES_MIN} attendues")
    for c, b in valides:
        cle = (c.numero, " ".join(b.objet.split()))
        if b.statut == "envoye":
            if par_id[b.message_id_envoi] != 1:
                anomalies.append(
                    f"{c.numero} brouillon {b.rang} « envoyé », reçu {par_id[b.message_id_envoi]} "
                    "fois sous son Message-ID"
                )
            if c.statut != "repondu" or c.repondu_le is None:
                anomalies.append(f"{c.numero} : réponse envoyée, courrier « {c.statut} »")
        elif b.statut == "a_verifier" and point_de_panne in POINTS_ENVOI:
            if par_brouillon[cle] > 1:
                anomalies.append(f"{c.numero} brouillon {b.rang} reçu {par_brouillon[cle]} fois")
        else:
            anomalies.append(f"{c.numero} brouillon {b.rang} fini « {b.statut} »")
    return anomalies
