"""`verifier` relit chaque original de l'archive : modifié, manquant ou en trop, tout est nommé.

Sur SQLite et PostgreSQL (le registre), l'archive étant un vrai dossier ; puis par la vraie
commande `courrier registre verifier` sur le registre de la démo (l'essai qui a montré le
problème : un original écrasé, un autre supprimé, et « Registre intact »).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from noyau.domaine import Canal, ElementRecu, PieceExtraite, ResultatExtraction
from registre.registre import Registre
from tests.conftest import lancer


def _element(contenu: bytes) -> ElementRecu:
    return ElementRecu(
        source="depot_eml",
        canal=Canal.DEPOT,
        reference=f"f{len(contenu)}.eml",
        recu_le=datetime(2026, 11, 20, 9, 30, tzinfo=UTC),
        contenu=contenu,
    )


def _trois_courriers(registre: Registre) -> list[str]:
    numeros = [
        registre.enregistrer(_element(f"courrier n°{i}\r\n".encode() * 50), None).numero
        for i in range(3)
    ]
    # Une pièce jointe au premier : ses octets sont dans l'archive, citée par le registre.
    ident = next(a.id for a in registre.a_extraire() if a.numero == numeros[0])
    octets = b"%PDF-1.4 piece jointe"
    registre.consigner_extraction(
        ident,
        ResultatExtraction(
            texte="Bonjour",
            methode="texte",
            pieces=[
                PieceExtraite(
                    rang=1,
                    nom="devis.pdf",
                    type_mime="application/pdf",
                    taille=len(octets),
                    empreinte=registre.archive.deposer(octets),
                )
            ],
        ),
    )
    return numeros


def _original(registre: Registre, numero: str) -> Path:
    courrier = registre.courrier(numero)
    assert courrier is not None
    return registre.archive.chemin(courrier.empreinte)


def test_une_archive_intacte_est_relue_en_entier(registre: Registre) -> None:
    _trois_courriers(registre)
    verification = registre.verifier_tout()
    assert verification.anomalies == []
    assert verification.archive.fichiers == 4  # trois originaux et une pièce jointe
    octets = sum(f.stat().st_size for f in registre.archive.racine.rglob("*") if f.is_file())
    assert verification.archive.octets == octets


def test_un_original_ecrase_un_autre_supprime_et_un_fichier_ajoute_sont_nommes(
    registre: Registre,
) -> None:
    premier, deuxieme, troisieme = _trois_courriers(registre)
    _original(registre, deuxieme).write_bytes(b"une autre lettre")
    _original(registre, troisieme).unlink()
    courrier = registre.courrier(premier)
    assert courrier is not None
    registre.archive.chemin(courrier.pieces[0].empreinte).write_bytes(b"retouche")
    intrus = registre.archive.deposer(b"pose la sans le registre")
    (registre.archive.racine / "ab").mkdir(exist_ok=True)
    (registre.archive.racine / "ab" / "note.txt").write_text("rien")

    verification = registre.verifier_tout()
    anomalies = verification.anomalies
    texte = "\n".join(anomalies)
    assert f"L'original du courrier {deuxieme} a été modifié dans l'archive" in texte
    assert f"La pièce jointe 1 du courrier {premier} a été modifié" in texte
    assert f"L'original du courrier {troisieme} manque dans l'archive" in texte
    assert "Fichier en trop" in texte and "ab/note.txt" in texte
    # Rien d'autre : la chaîne du journal est intacte, seuls les fichiers ont bougé.
    assert len(anomalies) == 4, anomalies
    # Un fichier intact que rien ne cite est nommé à part : c'est ce qu'une panne laisse.
    (orphelin,) = verification.archive.orphelins
    assert f"{intrus[:2]}/{intrus[2:4]}/{intrus}" in orphelin


def test_le_reste_d_un_depot_interrompu_ne_fait_pas_echouer_la_verification(
    registre: Registre,
) -> None:
    numero, *_ = _trois_courriers(registre)
    provisoire = _original(registre, numero).parent / ".depot-abc123"
    provisoire.write_bytes(b"moitie d'un fich")
    verification = registre.verifier_tout()
    assert verification.anomalies == []
    assert verification.archive.depots_interrompus == 1


def test_la_commande_nomme_l_original_ecrase_et_le_supprime_puis_sort_en_erreur(
    demo_copie: tuple[Path, dict[str, str], Path],
    tmp_path: Path,
) -> None:
    tmp, env, copie = demo_copie
    ok = lancer("registre", "verifier", env=env, cwd=tmp)
    assert ok.returncode == 0, ok.stderr
    assert "Registre intact" in ok.stdout and "fichier(s) de l'archive relus" in ok.stdout

    registre = Registre.ouvrir(f"sqlite:///{copie / 'registre.sqlite3'}", copie)
    try:
        # Un fichier intact en trop : nommé, code 2 (à examiner), le registre reste intact.
        intrus = registre.archive.deposer(b"un fichier que rien ne cite")
        trop = lancer("registre", "verifier", env=env, cwd=tmp)
        assert trop.returncode == 2, trop.stderr
        assert "Registre intact" in trop.stdout and intrus in "".join(trop.stdout.split())
        registre.archive.chemin(intrus).unlink()
        numeros = [c.numero for c in registre.courriers()]
        ecrase, supprime = numeros[1], numeros[5]
        _original(registre, ecrase).write_bytes(b"falsifie")
        _original(registre, supprime).unlink()
    finally:
        registre.fermer()
    ko = lancer("registre", "verifier", env=env, cwd=tmp)
    assert ko.returncode == 1
    sortie = " ".join(ko.stderr.split())
    assert "Registre altéré" in sortie
    assert f"L'original du courrier {ecrase} a été modifié dans l'archive" in sortie
    assert f"L'original du courrier {supprime} manque dans l'archive" in sortie


def test_le_banc_de_l_archive_tourne_et_ne_trouve_rien_a_redire(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from preuves.archive import main

    assert main(["--gio", "0.01", "--dossier", str(tmp_path)]) == 0
    sortie = capsys.readouterr().out
    assert "sha256sum, 1 processus" in sortie and "ratio débit verifier" in sortie
    assert not any(tmp_path.iterdir())  # l'archive du banc est effacée
