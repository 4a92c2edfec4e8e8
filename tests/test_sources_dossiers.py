"""Les dossiers de dépôt : scans du copieur et fichiers .eml / mbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
import time_machine
from typer.testing import CliRunner

from connecteurs.dossiers import SourceEml, SourceScans, antidater
from courrier.extraction import lire_entetes
from courrier.releve import relever_source
from interfaces.cli import app
from interfaces.web.vues import ligne_journal
from noyau.erreurs import citer
from registre.registre import Registre


def vieillir(chemin: Path) -> None:
    antidater(chemin, 3600)


def horloges(dossier: Path) -> tuple[float, float]:
    """(l'heure de ce programme, celle du système de fichiers du dossier), lues ensemble."""
    temoin = dossier / ".horloge-du-test"
    temoin.touch()
    heure_du_dossier = temoin.stat().st_mtime
    temoin.unlink()
    return time.time(), heure_du_dossier


def reporte(
    recu_le: datetime,
    date_du_fichier: float,
    avant: tuple[float, float],
    apres: tuple[float, float],
) -> bool:
    """`recu_le` est-il l'âge du fichier à l'horloge du dossier, reporté sur celle du programme,
    au moment de la relève (entre `avant` et `apres`) ? 10 ms pour le grain des horloges."""
    (programme_avant, dossier_avant), (programme_apres, dossier_apres) = avant, apres
    plus_tot = programme_avant - (dossier_apres - date_du_fichier)
    plus_tard = programme_apres - (dossier_avant - date_du_fichier)
    return plus_tot - 0.01 <= recu_le.timestamp() <= plus_tard + 0.01


def test_un_scan_en_cours_d_ecriture_attend_la_releve_suivante(
    registre: Registre, tmp_path: Path
) -> None:
    depot = tmp_path / "scans"
    depot.mkdir()
    (depot / "ancien.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    vieillir(depot / "ancien.pdf")
    (depot / "frais.pdf").write_bytes(b"%PDF-1.4\n")  # le copieur écrit encore
    (depot / "copie.pdf.part").write_bytes(b"%PDF")
    vieillir(depot / "copie.pdf.part")
    (depot / ".cache").write_bytes(b"x")
    vieillir(depot / ".cache")

    avant = horloges(depot)
    bilan = relever_source(SourceScans(depot, 60), registre, lire_entetes)
    apres = horloges(depot)
    assert (bilan.nouveaux, bilan.en_attente) == (1, 1)
    assert sorted(p.name for p in depot.iterdir()) == [
        ".cache",
        "copie.pdf.part",
        "frais.pdf",
        "traites",
    ]
    assert [p.name for p in (depot / "traites").iterdir()] == ["ancien.pdf"]
    (courrier,) = registre.courriers()
    assert courrier.canal == "scan" and courrier.nom_fichier == "ancien.pdf"
    # Reçu : l'âge du fichier (une heure) compté depuis l'heure du registre.
    date_du_fichier = (depot / "traites" / "ancien.pdf").stat().st_mtime
    assert reporte(courrier.recu_le, date_du_fichier, avant, apres)

    vieillir(depot / "frais.pdf")
    bilan = relever_source(SourceScans(depot, 60), registre, lire_entetes)
    assert bilan.nouveaux == 1
    assert registre.nombre() == 2


@pytest.mark.parametrize("decalage_jours", [366, -366])
def test_le_delai_se_compte_a_l_horloge_du_dossier_pas_a_celle_de_la_machine(
    registre: Registre, tmp_path: Path, decalage_jours: int
) -> None:
    """Un dossier monté depuis un NAS date ses fichiers à l'heure du NAS : que la machine soit
    en avance ou en retard sur lui, un scan tout juste écrit attend, un scan vieux d'une heure
    est pris, et le fichier témoin ne reste pas."""
    depot = tmp_path / "scans"
    depot.mkdir()
    (depot / "ancien.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    vieillir(depot / "ancien.pdf")
    (depot / "frais.pdf").write_bytes(b"%PDF-1.4\n")  # le copieur écrit encore
    with time_machine.travel(time.time() + decalage_jours * 86400, tick=True):
        avant = horloges(depot)
        bilan = relever_source(SourceScans(depot, 60), registre, lire_entetes)
        apres = horloges(depot)
    assert (bilan.nouveaux, bilan.en_attente) == (1, 1)
    assert sorted(p.name for p in depot.iterdir()) == ["frais.pdf", "traites"]
    (courrier,) = registre.courriers()
    assert courrier.nom_fichier == "ancien.pdf"
    # Reçu il y a une heure à l'horloge du registre (celle de la machine), pas à la date que
    # le NAS a posée : les délais légaux partent du bon jour.
    date_du_fichier = (depot / "traites" / "ancien.pdf").stat().st_mtime
    assert reporte(courrier.recu_le, date_du_fichier, avant, apres)


def test_un_fichier_date_dans_le_futur_du_dossier_est_pris_depuis_son_depot_et_c_est_dit(
    registre: Registre, tmp_path: Path, url_base: str, env_courrier: pytest.MonkeyPatch
) -> None:
    """Un copieur à l'heure fausse pose une date dans un an : le fichier n'attend pas un an ;
    le délai de stabilité se compte depuis son dépôt (ctime, posé par le système de fichiers),
    la date de réception n'est pas dans le futur, et le journal dit pourquoi."""
    depot = tmp_path / "scans"
    depot.mkdir()
    (depot / "lettre.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    antidater(depot / "lettre.pdf", -366 * 86400)
    depose_le = (depot / "lettre.pdf").stat().st_ctime  # rangé, il en aura un autre
    bilan = relever_source(SourceScans(depot, 3600), registre, lire_entetes)
    assert (bilan.nouveaux, bilan.en_attente) == (0, 1)  # tout juste déposé : il attend

    avant = horloges(depot)
    bilan = relever_source(SourceScans(depot, 0), registre, lire_entetes)
    apres = horloges(depot)
    assert (bilan.nouveaux, bilan.en_attente) == (1, 0)
    (courrier,) = registre.courriers()
    assert courrier.recu_le <= courrier.enregistre_le
    assert reporte(courrier.recu_le, depose_le, avant, apres)
    (recu,) = [e for e in registre.evenements(courrier.numero) if e.type == "recu"]
    remarque = json.loads(recu.details)["remarque"]
    assert "366 jour(s) en avance sur l'horloge du dossier" in remarque
    # Au journal de la page du courrier, la remarque vient en tête, avant la coupure des détails.
    assert ligne_journal(recu).details.startswith(f"remarque : {remarque} ; ")
    # Et sous le journal de `courrier montrer`.
    env_courrier.setenv("COURRIER_BASE_DE_DONNEES", url_base)
    montre = CliRunner().invoke(app, ["montrer", courrier.numero])
    assert montre.exit_code == 0, montre.output
    assert remarque in " ".join(montre.output.split())


def test_un_fichier_date_bien_avant_son_arrivee_garde_sa_date_et_c_est_dit(
    registre: Registre, tmp_path: Path
) -> None:
    """Un ancien scan copié dans le dossier avec sa date, ou un copieur dont l'horloge est
    revenue en 2000 : la date du fichier est retenue (rien ne permet de trancher), mais le
    journal le signale à la secrétaire ; un fichier daté d'une heure avant ne l'est pas."""
    depot = tmp_path / "scans"
    depot.mkdir()
    (depot / "ancien.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    (depot / "recent.pdf").write_bytes(b"%PDF-1.4\n1\n%%EOF\n")
    antidater(depot / "ancien.pdf", 400 * 86400)
    antidater(depot / "recent.pdf", 3600)
    date_du_fichier = (depot / "ancien.pdf").stat().st_mtime
    avant = horloges(depot)
    bilan = relever_source(SourceScans(depot, 0), registre, lire_entetes)
    apres = horloges(depot)
    assert bilan.nouveaux == 2
    remarques = {}
    for c in registre.courriers():
        (recu,) = [e for e in registre.evenements(c.numero) if e.type == "recu"]
        remarques[c.nom_fichier] = json.loads(recu.details).get("remarque", "")
        if c.nom_fichier == "ancien.pdf":
            assert reporte(c.recu_le, date_du_fichier, avant, apres)  # sa date, gardée
    assert remarques["recent.pdf"] == ""
    assert "400 jour(s) avant son arrivée dans le dossier de dépôt" in remarques["ancien.pdf"]
    assert "Sa date est retenue comme date de réception" in remarques["ancien.pdf"]


def test_un_fichier_deja_range_avec_le_meme_nom_n_est_pas_ecrase(
    registre: Registre, tmp_path: Path
) -> None:
    depot = tmp_path / "scans"
    (depot / "traites").mkdir(parents=True)
    (depot / "traites" / "lettre.png").write_bytes(b"ancienne")
    (depot / "lettre.png").write_bytes(b"nouvelle")
    relever_source(SourceScans(depot, 0), registre, lire_entetes)
    noms = sorted(p.name for p in (depot / "traites").iterdir())
    assert noms == ["lettre-1.png", "lettre.png"]
    assert (depot / "traites" / "lettre.png").read_bytes() == b"ancienne"


def test_un_nom_de_fichier_hostile_est_enregistre_et_rien_ne_sort_du_dossier(
    registre: Registre, tmp_path: Path
) -> None:
    depot = tmp_path / "eml"
    depot.mkdir()
    hostile = "facture\x07\x1b[31m..\nurgente .eml"
    (depot / hostile).write_bytes(b"Subject: test\r\n\r\ncorps\r\n")
    (depot / "vide.eml").write_bytes(b"")
    lien = depot / "lien.eml"
    lien.symlink_to("/etc/passwd")
    avant = set(tmp_path.iterdir())

    bilan = relever_source(SourceEml(depot, 0), registre, lire_entetes)
    assert bilan.nouveaux == 2  # le lien symbolique n'est pas suivi
    noms = {c.nom_fichier for c in registre.courriers()}
    assert "vide.eml" in noms
    assert all(c.isprintable() for nom in noms for c in nom)
    assert set(tmp_path.iterdir()) - avant <= {tmp_path / "donnees"}
    assert sorted(p.name for p in depot.iterdir()) == ["lien.eml", "traites"]
    assert lien.is_symlink()


def test_une_boite_mbox_donne_un_courrier_par_message(registre: Registre, tmp_path: Path) -> None:
    depot = tmp_path / "eml"
    depot.mkdir()
    messages = []
    for i in range(3):
        messages.append(
            f"From habitant{i}@habitants.example Sun Nov 16 08:0{i}:00 2025\n"
            f"From: habitant{i}@habitants.example\nSubject: Message {i} de la boîte\n"
            f"Message-ID: <m{i}@habitants.example>\n\nBonjour {i}\n"
        )
    (depot / "archive.mbox").write_text("\n".join(messages), encoding="utf-8")
    bilan = relever_source(SourceEml(depot, 0), registre, lire_entetes)
    assert bilan.nouveaux == 3
    courriers = registre.courriers()
    assert [c.objet for c in courriers] == [f"Message {i} de la boîte" for i in range(3)]
    assert courriers[0].recu_le.isoformat().startswith("2025-11-16T08:00")
    assert courriers[0].reference == "archive.mbox (message 1/3)"
    assert (depot / "traites" / "archive.mbox").exists()
    # relancer ne double rien, même si le fichier revient dans le dépôt
    (depot / "traites" / "archive.mbox").rename(depot / "archive.mbox")
    bilan = relever_source(SourceEml(depot, 0), registre, lire_entetes)
    assert (bilan.nouveaux, bilan.doublons) == (0, 3)


RELEVE_EN_LECTURE_SEULE = """
import json, sys, time
from pathlib import Path
from connecteurs.dossiers import SourceScans
from courrier.extraction import lire_entetes
from courrier.releve import relever_source
from registre.registre import Registre

depot, travail = Path(sys.argv[1]), Path(sys.argv[2])
registre = Registre.ouvrir(f"sqlite:///{travail / 'registre.sqlite3'}", travail / "donnees")
bilans = []
for _ in range(2):
    avant = time.time()
    bilan = relever_source(SourceScans(depot, 0), registre, lire_entetes)
    bilans.append([bilan.nouveaux, bilan.doublons, bilan.erreurs, avant, time.time()])
courriers = [[c.nom_fichier, c.recu_le.timestamp()] for c in registre.courriers()]
journal = [json.loads(e.details) for e in registre.evenements() if e.type == "erreur"]
print(json.dumps({"bilans": bilans, "courriers": courriers, "journal": journal}))
"""


def _en_lecture_seule(depot: Path, abime: Path, travail: Path) -> subprocess.CompletedProcess[str]:
    """La relève du dépôt, dans un processus qui ne peut pas y écrire ni lire `abime`.

    Utilisateur ordinaire : dossier sans droit d'écriture, fichier sans droit de lecture.
    Root, que les droits n'arrêtent pas : dans un espace de montage à lui (qui disparaît avec
    lui), le dossier remonté en lecture seule et, sur `abime`, un fichier dont la lecture rend
    une erreur d'entrée-sortie comme un partage coupé (la mémoire d'un processus `sleep`,
    /proc/PID/mem, illisible à l'adresse 0)."""
    commande = [sys.executable, "-c", RELEVE_EN_LECTURE_SEULE, str(depot), str(travail)]
    if os.geteuid() != 0:
        abime.chmod(0)
        depot.chmod(0o555)
        return subprocess.run(commande, capture_output=True, text=True, timeout=120, check=False)
    script = (
        'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1" || exit 1; '
        'sleep 300 & s=$!; mount --bind /proc/$s/mem "$2" || { kill $s; exit 1; }; '
        'shift 2; "$@"; r=$?; kill $s; exit $r'
    )
    prefixe = ["unshare", "--mount", "sh", "-c", script, "sh", str(depot), str(abime)]
    essai = subprocess.run([*prefixe, "true"], capture_output=True, text=True, check=False)
    if essai.returncode != 0:
        pytest.skip(f"ni utilisateur ordinaire ni montage privé possible : {essai.stderr.strip()}")
    return subprocess.run(
        [*prefixe, *commande], capture_output=True, text=True, timeout=120, check=False
    )


def test_un_depot_en_lecture_seule_et_un_fichier_illisible_n_arretent_pas_les_autres(
    tmp_path: Path,
) -> None:
    """Un partage monté en lecture seule (ou sans droit d'écriture), dont un fichier ne se lit
    pas : le fichier illisible reste en place et c'est dit ; les autres sont enregistrés, à
    l'horloge de la machine (pas de fichier témoin possible), restent là où ils sont (rien
    n'est perdu), la relève dit en français pourquoi ils ne sont pas rangés, et la relève
    suivante ne les enregistre pas une seconde fois. Avant : le premier fichier illisible ou
    non rangé arrêtait la source, nuit après nuit, et les suivants n'étaient jamais lus."""
    depot, travail = tmp_path / "scans", tmp_path / "travail"
    depot.mkdir()
    travail.mkdir()
    abime = depot / "abime.pdf"  # lu en premier (ordre des noms)
    abime.write_bytes(b"%PDF-1.4 illisible\n")
    for nom in ("lettre.pdf", "plan.pdf"):
        (depot / nom).write_bytes(f"%PDF-1.4 {nom}\n%%EOF\n".encode())
        vieillir(depot / nom)
    date_du_fichier = (depot / "lettre.pdf").stat().st_mtime
    fini = _en_lecture_seule(depot, abime, travail)
    depot.chmod(0o755)
    abime.chmod(0o644)
    assert fini.returncode == 0, fini.stderr[-3000:]
    resultat = json.loads(fini.stdout.strip().splitlines()[-1])
    (premier, second) = resultat["bilans"]
    assert premier[:2] == [2, 0] and second[:2] == [0, 2]
    for bilan in (premier, second):
        illisible, non_ranges = bilan[2]
        assert illisible.startswith(
            f"Le fichier « abime.pdf » du dossier « {depot} » est illisible : "
        )
        assert "Il reste dans le dossier et sera repris à la prochaine relève." in illisible
        assert (
            "les droits du dossier ne le permettent pas" in illisible
            or "le disque a rendu une erreur de lecture ou d'écriture" in illisible
        ), illisible
        assert non_ranges.startswith(
            f"2 fichier(s) du dossier « {depot} » enregistré(s) mais pas rangé(s) dans traites/ "
            "(« lettre.pdf », « plan.pdf ») : "
        ), non_ranges
        assert (
            "le disque est en lecture seule" in non_ranges
            or "les droits du dossier ne le permettent pas" in non_ranges
        ), non_ranges
        for erreur in (illisible, non_ranges):
            assert not any(m in erreur for m in ("Read-only", "Permission", "denied", "Errno"))
    # Chaque incident de chaque relève est au journal du registre.
    assert resultat["journal"] == [
        {"source": "depot_scans", "raison": r} for b in (premier, second) for r in b[2]
    ]
    assert sorted(nom for nom, _ in resultat["courriers"]) == ["lettre.pdf", "plan.pdf"]
    # L'âge du fichier (une heure), lu à l'horloge de la machine pendant la première relève.
    recu_le = dict(resultat["courriers"])["lettre.pdf"]
    _, _, _, avant, apres = premier
    assert avant - (apres - date_du_fichier) - 0.01 <= recu_le <= apres - (avant - date_du_fichier)
    assert sorted(p.name for p in depot.iterdir()) == ["abime.pdf", "lettre.pdf", "plan.pdf"]


def test_un_incident_nomme_les_premiers_et_compte_les_autres() -> None:
    assert citer(["« a.pdf »", "« b.pdf »"], 5) == "« a.pdf », « b.pdf »"
    noms = [f"scan-{i}.pdf" for i in range(12)]
    assert (
        citer(noms, 5) == "scan-0.pdf, scan-1.pdf, scan-2.pdf, scan-3.pdf, scan-4.pdf et 7 autre(s)"
    )
