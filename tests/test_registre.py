"""Le registre : numéro chrono, doublons, journal scellé. Sur SQLite et PostgreSQL."""

from __future__ import annotations

import json
import multiprocessing
import shutil
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from noyau.domaine import Canal, ElementRecu, EntetesCourrier, PieceExtraite, ResultatExtraction
from registre.registre import Registre
from tests.horloge import HorlogeDeTest


def element(contenu: bytes, *cles: str, canal: Canal = Canal.DEPOT) -> ElementRecu:
    return ElementRecu(
        source="depot_eml",
        canal=canal,
        reference=f"f{len(contenu)}.eml",
        recu_le=datetime(2025, 11, 20, 9, 30, tzinfo=UTC),
        contenu=contenu,
        cles=cles,
    )


def test_les_numeros_se_suivent_sans_trou_et_portent_l_annee(registre: Registre) -> None:
    numeros = [
        registre.enregistrer(element(f"courrier {i}".encode()), None).numero for i in range(12)
    ]
    annee = datetime.now(UTC).year
    assert numeros == [f"{annee}-{i:05d}" for i in range(1, 13)]


def test_un_meme_contenu_n_est_enregistre_qu_une_fois(registre: Registre) -> None:
    premier = registre.enregistrer(element(b"bonjour", "imap:a:1:1"), None)
    second = registre.enregistrer(element(b"bonjour", "imap:a:2:7"), None)
    assert premier.nouveau and not second.nouveau
    assert second.numero == premier.numero
    assert registre.nombre() == 1
    # la nouvelle clé (autre UIDVALIDITY) est rattachée au courrier existant
    troisieme = registre.enregistrer(element(b"autre octets", "imap:a:2:7"), None)
    assert not troisieme.nouveau
    types = [e.type for e in registre.evenements(premier.numero)]
    assert types == ["recu", "enregistre", "doublon", "doublon"]


def test_les_octets_bruts_sont_archives_avant_la_ligne(registre: Registre) -> None:
    e = element(b"\x00\xffoctets bruts\r\n")
    numero = registre.enregistrer(e, None).numero
    courrier = registre.courrier(numero)
    assert courrier is not None
    assert registre.archive.lire(courrier.empreinte) == e.contenu
    assert courrier.recu_le == datetime(2025, 11, 20, 9, 30, tzinfo=UTC)
    assert courrier.enregistre_le.tzinfo is not None


def test_les_entetes_hostiles_sont_nettoyes(registre: Registre) -> None:
    entetes = EntetesCourrier(expediteur="A\x00B <a@b.example>", objet="Objet \udcff cassé")
    numero = registre.enregistrer(element(b"x"), entetes).numero
    courrier = registre.courrier(numero)
    assert courrier is not None
    assert courrier.expediteur == "AB <a@b.example>"
    assert "\x00" not in courrier.objet
    assert registre.verifier() == []


def _registre_lu(registre: Registre, n: int = 3) -> list[str]:
    numeros = []
    for i in range(n):
        numeros.append(registre.enregistrer(element(f"lettre {i}".encode()), None).numero)
    for a in registre.a_extraire():
        registre.consigner_extraction(
            a.id,
            ResultatExtraction(
                texte="Monsieur le Maire,",
                methode="ocr",
                confiance_ocr=91.234,
                pieces=[
                    PieceExtraite(
                        rang=1,
                        nom="plan.pdf",
                        type_mime="application/pdf",
                        taille=10,
                        # Comme l'extraction : les octets de la pièce sont dans l'archive.
                        empreinte=registre.archive.deposer(b"plan %PDF-"),
                        texte="plan",
                    )
                ],
            ),
        )
    return numeros


def test_verifier_passe_sur_un_registre_intact(registre: Registre) -> None:
    _registre_lu(registre)
    assert registre.verifier() == []


def test_verifier_voit_une_ligne_modifiee_par_sql(registre: Registre) -> None:
    numeros = _registre_lu(registre)
    with registre.engine.begin() as c:
        c.execute(
            text("UPDATE courriers SET objet = 'falsifié' WHERE numero = :n"), {"n": numeros[1]}
        )
    anomalies = registre.verifier()
    assert anomalies and numeros[1] in anomalies[0] and "modifié" in anomalies[0]


def test_verifier_voit_une_piece_modifiee(registre: Registre) -> None:
    _registre_lu(registre)
    with registre.engine.begin() as c:
        c.execute(text("UPDATE pieces SET texte = 'autre' WHERE rang = 1"))
    assert registre.verifier()


def test_verifier_voit_un_evenement_modifie_et_le_nomme(registre: Registre) -> None:
    _registre_lu(registre)
    with registre.engine.begin() as c:
        c.execute(text("UPDATE evenements SET acteur = 'intrus' WHERE id = 4"))
    anomalies = registre.verifier()
    assert anomalies[0].startswith("L'événement n°4 ")


def test_verifier_voit_un_evenement_supprime(registre: Registre) -> None:
    _registre_lu(registre)
    with registre.engine.begin() as c:
        c.execute(text("DELETE FROM evenements WHERE id = 3"))
    anomalies = registre.verifier()
    assert "n°3" in anomalies[0]


def test_verifier_voit_la_fin_du_journal_supprimee(registre: Registre) -> None:
    _registre_lu(registre)
    with registre.engine.begin() as c:
        c.execute(text("DELETE FROM evenements WHERE id = (SELECT MAX(id) FROM evenements)"))
    assert any("fin du journal" in a for a in registre.verifier())


def test_verifier_voit_un_courrier_supprime(registre: Registre) -> None:
    numeros = _registre_lu(registre)
    with registre.engine.begin() as c:
        c.execute(text("DELETE FROM pieces"))
        c.execute(text("DELETE FROM identites"))
        c.execute(text("UPDATE evenements SET courrier_id = NULL"))
        c.execute(text("DELETE FROM courriers WHERE numero = :n"), {"n": numeros[0]})
    anomalies = " ".join(registre.verifier())
    assert numeros[0] in anomalies
    assert "manquants" in anomalies


def test_une_extraction_en_echec_garde_la_raison(registre: Registre) -> None:
    numero = registre.enregistrer(element(b"%PDF-1.4 tronque"), None).numero
    (a,) = registre.a_extraire()
    statut = registre.consigner_extraction(
        a.id, ResultatExtraction(echec=True, erreurs=["PDF illisible ou tronqué."])
    )
    courrier = registre.courrier(numero)
    assert statut == "erreur" and courrier is not None
    assert courrier.erreur == "PDF illisible ou tronqué."
    assert registre.a_extraire() == []
    assert registre.verifier() == []


def test_un_registre_de_la_premiere_version_migre_et_reste_verifiable(tmp_path: Path) -> None:
    # Fabriqué par le code du premier commit (schéma 20261122_0001, sceaux sans les champs
    # vides) : 3 courriers lus. La migration suivante ajoute des colonnes vides.
    copie = tmp_path / "v1.sqlite3"
    shutil.copy(Path(__file__).with_name("donnees") / "registre_v1.sqlite3", copie)
    # Le registre de 2026 continue en 2026 : l'horloge du test, pas le jour où la suite tourne.
    horloge = HorlogeDeTest(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    registre = Registre.ouvrir(f"sqlite:///{copie}", tmp_path / "donnees", horloge)
    assert registre.nombre() == 3
    # Le fichier a été gardé sans son archive : seuls la chaîne et les sceaux sont relus.
    assert registre.verifier_journal()[0] == []
    suivant = registre.enregistrer(element(b"apres migration"), None)
    assert suivant.numero.endswith("-00004")
    assert registre.verifier_journal()[0] == []


def test_une_date_de_reception_posterieure_a_l_enregistrement_est_ecartee_et_dite(
    url_base: str, tmp_path: Path
) -> None:
    """Un serveur de courriel ou un copieur en avance d'un jour : la date de réception retenue
    est l'heure d'enregistrement (les délais légaux partent de là), celle de la source reste
    au journal, avec la raison."""
    horloge = HorlogeDeTest(datetime(2025, 11, 19, 22, 0, tzinfo=UTC))
    registre = Registre.ouvrir(url_base, tmp_path / "donnees", horloge)
    try:
        numero = registre.enregistrer(element(b"venu du futur"), None).numero
        (courrier,) = registre.courriers()
        assert courrier.recu_le == courrier.enregistre_le
        assert courrier.enregistre_le.date().isoformat() == "2025-11-19"
        (recu,) = [e for e in registre.evenements(numero) if e.type == "recu"]
        details = json.loads(recu.details)
        assert details["date_de_la_source"].startswith("2025-11-20T09:30")
        assert "reçu le 20/11/2025 10:30, après son enregistrement" in details["remarque"]
        assert registre.verifier_journal()[0] == []
        # Une date passée est gardée telle quelle.
        horloge.regler(datetime(2025, 11, 21, 8, 0, tzinfo=UTC))
        registre.enregistrer(element(b"venu la veille"), None)
        assert registre.courriers()[1].recu_le == datetime(2025, 11, 20, 9, 30, tzinfo=UTC)
    finally:
        registre.fermer()


def _ouvrir(url: str, donnees: str) -> None:
    Registre.ouvrir(url, Path(donnees)).fermer()


def test_deux_processus_qui_ouvrent_une_base_neuve_la_migrent_une_fois(
    url_base: str, tmp_path: Path
) -> None:
    contexte = multiprocessing.get_context("spawn")
    processus = [
        contexte.Process(target=_ouvrir, args=(url_base, str(tmp_path / "d"))) for _ in range(3)
    ]
    for p in processus:
        p.start()
    for p in processus:
        p.join(60)
    assert [p.exitcode for p in processus] == [0, 0, 0]
    registre = Registre.ouvrir(url_base, tmp_path / "d")
    assert registre.enregistrer(element(b"premier"), None).numero.endswith("-00001")


def test_les_migrations_donnent_exactement_les_tables_des_modeles(registre: Registre) -> None:
    """Une colonne ajoutée au modèle sans migration (ou l'inverse) se voit ici, sur les deux
    bases."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from registre.plein_texte import hors_tables
    from registre.tables import Base

    with registre.engine.connect() as connexion:
        contexte = MigrationContext.configure(connexion, opts={"include_name": hors_tables})
        ecarts = compare_metadata(contexte, Base.metadata)
    assert ecarts == []
