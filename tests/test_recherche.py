"""La recherche plein texte du registre (issue #10, point 6), sur SQLite (FTS5) et sur un vrai
PostgreSQL (unaccent + tsvector) : accents et casse ignorés, texte lu cherché, saisies hostiles
sans erreur ni changement de sens, purge RGPD, pertinence, registre de l'ancien schéma migré.
Les courriers passent par l'API du registre (enregistrement, extraction, analyse), horloge du test.
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from noyau.analyse import Analyse, Urgence
from noyau.domaine import (
    Canal,
    ElementRecu,
    EntetesCourrier,
    PieceExtraite,
    ResultatExtraction,
)
from registre.conservation import Conservation, purger
from registre.recherche import Filtres, pour_export, rechercher
from registre.registre import Registre
from tests.horloge import HorlogeDeTest

_compte = iter(range(1, 10_000))


def _courrier(
    registre: Registre,
    objet: str,
    texte: str = "",
    expediteur: str = "",
    resume: str = "",
    categorie: str = "autre",
    pieces: tuple[tuple[str, str], ...] = (),
) -> str:
    """Un courrier enregistré, lu et analysé ; `pieces` : (nom, texte lu) de ses pièces jointes."""
    i = next(_compte)
    element = ElementRecu(
        source="imap",
        canal=Canal.EMAIL,
        reference=f"INBOX:1:{i}",
        recu_le=registre.horloge(),
        contenu=f"Courrier de test {i} : {objet}".encode(),
    )
    entetes = EntetesCourrier(
        expediteur=expediteur, expediteur_adresse=f"usager{i}@commune.example", objet=objet
    )
    numero = registre.enregistrer(element, entetes).numero
    ident = next(a.id for a in registre.a_extraire() if a.numero == numero)
    lues = [
        PieceExtraite(
            rang=rang,
            nom=nom,
            type_mime="application/pdf",
            taille=len(texte_piece),
            empreinte=f"{i:032x}{rang:032x}",
            texte=texte_piece,
            methode="pdf",
        )
        for rang, (nom, texte_piece) in enumerate(pieces, 1)
    ]
    registre.consigner_extraction(
        ident, ResultatExtraction(texte=texte, methode="ocr", pieces=lues)
    )
    registre.consigner_analyse(
        ident, Analyse(categorie=categorie, urgence=Urgence.NORMALE, resume=resume), []
    )
    return numero


@pytest.fixture
def garni(registre: Registre) -> tuple[Registre, dict[str, str]]:
    horloge = HorlogeDeTest(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    registre = Registre(registre.engine, registre.archive, horloge)
    n = {
        "ecole": _courrier(
            registre,
            "Inscription à l'École Jules-Ferry",
            "Madame, je souhaite inscrire mon fils à l'école maternelle.",
            "Mme Françoise Lefèvre",
            categorie="scolaire",
        ),
        "mairie": _courrier(
            registre,
            "Demande à la MAIRIE",
            "Bonjour, pourriez-vous transmettre ce dossier.",
            "M. Durand",
            categorie="voirie",
        ),
        "ocr": _courrier(
            registre,
            "Courrier scanné",
            "Le lampadaire de l'impasse des Coquelicots est cassé depuis trois semaines.",
            "",
        ),
        "hostile": _courrier(
            registre,
            'Réclamation "urgente" (NEAR OR AND) * 100 % _',
            "Texte avec des guillemets \" et des apostrophes ' et un NUL.",
            "Robert'); DROP TABLE courriers;--",
        ),
    }
    return registre, n


def _numeros(registre: Registre, texte: str, **autres: object) -> list[str]:
    return [c.numero for c in rechercher(registre.engine, Filtres(texte=texte, **autres)).lignes]  # type: ignore[arg-type]


def test_accents_et_casse_sont_ignores_dans_les_deux_sens(
    garni: tuple[Registre, dict[str, str]],
) -> None:
    registre, n = garni
    for saisie in ("ecole", "École", "ÉCOLE", "école", "ecol"):
        assert _numeros(registre, saisie) == [n["ecole"]], saisie
    for saisie in ("mairie", "Mairie", "MAIRIE"):
        assert _numeros(registre, saisie) == [n["mairie"]], saisie
    assert _numeros(registre, "francoise lefevre") == [n["ecole"]]
    # Saisie décomposée (e + accent combinant), comme certains claviers l'envoient.
    assert _numeros(registre, "e\u0301cole") == [n["ecole"]]
    # Tous les mots doivent y être.
    assert _numeros(registre, "école mairie") == []


def test_le_texte_lu_seul_et_le_numero_sont_cherches(
    garni: tuple[Registre, dict[str, str]],
) -> None:
    registre, n = garni
    assert _numeros(registre, "coquelicots lampadaire") == [n["ocr"]]
    numero = n["mairie"]
    assert _numeros(registre, numero) == [numero]
    annee, rang = numero.split("-")
    assert _numeros(registre, f"{annee}-{int(rang)}") == [numero]


# Ce que chaque saisie doit trouver : le courrier « école », aucun, ou tous (pas de texte).
# « objet:école » ne filtre pas sur la colonne objet et « école OR mairie » exige le mot « or ».
@pytest.mark.parametrize(
    ("saisie", "attendu"),
    [
        ('"', "aucun"),
        ('"école', "ecole"),
        ("école*", "ecole"),
        ("*", "aucun"),
        ("NEAR(école mairie)", "aucun"),
        ("école OR mairie", "aucun"),
        ("école AND NOT mairie", "aucun"),
        ("(école", "ecole"),
        ("école)", "ecole"),
        ("-école", "ecole"),
        ("^école", "ecole"),
        ("objet:école", "aucun"),
        ("'école'", "ecole"),
        ("école' OR '1'='1", "aucun"),
        ("école:*", "ecole"),
        ("école & | ! <->", "ecole"),
        ("%", "aucun"),
        ("_", "aucun"),
        ("%école%", "ecole"),
        ("\\", "aucun"),
        ("\x00école", "ecole"),
        ("   ", "tous"),
        ("½ ① ²", "aucun"),
        ("x" * 10_000, "aucun"),
        ("école " * 5_000, "ecole"),
    ],
)
def test_les_saisies_hostiles_ne_font_ni_erreur_ni_operateur(
    garni: tuple[Registre, dict[str, str]], saisie: str, attendu: str
) -> None:
    registre, n = garni
    trouves = _numeros(registre, saisie)
    assert (
        trouves == {"ecole": [n["ecole"]], "aucun": [], "tous": list(reversed(n.values()))}[attendu]
    )


def test_les_operateurs_tapes_sont_des_mots_ordinaires(
    garni: tuple[Registre, dict[str, str]],
) -> None:
    registre, n = garni
    # Le courrier « hostile » contient vraiment ces mots : ils le trouvent, lui seul.
    assert _numeros(registre, "NEAR OR AND") == [n["hostile"]]
    assert _numeros(registre, '"urgente"') == [n["hostile"]]
    assert _numeros(registre, "DROP TABLE courriers") == [n["hostile"]]
    assert _numeros(registre, "école OR mairie") == []
    assert _numeros(registre, "100 %") == [n["hostile"]]
    assert _numeros(registre, "%") == []  # rien à chercher : aucun courrier, pas tous


def test_les_autres_filtres_se_combinent_et_l_export_suit(
    garni: tuple[Registre, dict[str, str]],
) -> None:
    registre, n = garni
    assert _numeros(registre, "madame", categorie="scolaire") == [n["ecole"]]
    assert _numeros(registre, "madame", categorie="voirie") == []
    assert _numeros(registre, "bonjour", expediteur="durand") == [n["mairie"]]
    # PostgreSQL refuse le caractère NUL dans un paramètre : il est retiré, pas d'erreur.
    assert _numeros(registre, "", expediteur="dur\x00and") == [n["mairie"]]
    assert _numeros(registre, "", expediteur="100%") == []
    assert _numeros(registre, "bonjour", du=date(2026, 3, 3)) == []
    assert _numeros(registre, "bonjour", au=date(2026, 3, 2)) == [n["mairie"]]
    exportes = pour_export(registre.engine, Filtres(texte="ECOLE"))
    assert [c.numero for c in exportes] == [n["ecole"]]


def test_le_plus_pertinent_vient_d_abord(registre: Registre) -> None:
    horloge = HorlogeDeTest(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    registre = Registre(registre.engine, registre.archive, horloge)
    une_fois = _courrier(registre, "Demande diverse", "Il est question de la cantine ici.")
    partout = _courrier(
        registre, "Cantine scolaire", "La cantine, encore la cantine.", resume="Cantine."
    )
    apres = _courrier(registre, "Autre demande", "Rien à voir avec la cantine.")
    # Sans le classement, le plus récent (`apres`) viendrait en tête.
    trouves = _numeros(registre, "cantine")
    assert trouves[0] == partout and set(trouves) == {une_fois, partout, apres}
    # Sans texte cherché, l'ordre reste celui du registre, le plus récent d'abord.
    assert _numeros(registre, "") == [apres, partout, une_fois]
    page = rechercher(registre.engine, Filtres(texte="cantine", par_page=2, page=2))
    assert (page.total, page.pages, len(page.lignes)) == (3, 2, 1)


def test_le_texte_lu_des_pieces_jointes_est_cherche(registre: Registre) -> None:
    horloge = HorlogeDeTest(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    registre = Registre(registre.engine, registre.archive, horloge)
    # Un courriel presque vide dont la lettre Word jointe est tout le courrier.
    word = _courrier(
        registre,
        "Courrier",
        "Bonjour, voir la pièce jointe.",
        pieces=(("lettre.docx", "Demande de dérogation scolaire pour mon fils Théo Nowakowski"),),
    )
    # Le même mot dans l'objet d'un autre courrier : il passe avant.
    objet = _courrier(registre, "Dérogation scolaire", "Texte sans rapport.")
    sans = _courrier(registre, "Voirie", "Nid-de-poule", pieces=(("photo.pdf", "chaussée"),))
    assert _numeros(registre, "nowakowski") == [word]
    assert _numeros(registre, "NOWAKOW") == [word]  # préfixe, casse
    assert _numeros(registre, "derogation") == [objet, word]  # pertinence : l'objet d'abord
    # Les mots d'une saisie se répartissent entre le courrier et ses pièces…
    assert _numeros(registre, "bonjour theo") == [word]
    # … mais chacun doit se trouver quelque part.
    assert _numeros(registre, "bonjour chaussee") == []
    assert _numeros(registre, "lettre.docx") == [word]  # le nom de la pièce
    assert _numeros(registre, "chaussée") == [sans]
    # Les opérateurs tapés restent des mots, là aussi.
    assert _numeros(registre, 'nowakowski OR "chaussée"') == []
    assert _numeros(registre, "nowakowski*") == [word]
    export = pour_export(registre.engine, Filtres(texte="nowakowski"))
    assert [c.numero for c in export] == [word]


def _index_brut(registre: Registre) -> bytes:
    with registre.engine.connect() as connexion:
        blocs = [
            b
            for index in ("courriers_fts", "pieces_fts")
            for b in connexion.exec_driver_sql(f"SELECT block FROM {index}_data").scalars()
        ]
        return b"".join(b for b in blocs if b)


def test_la_purge_rend_un_nom_introuvable(registre: Registre) -> None:
    horloge = HorlogeDeTest(datetime(2014, 3, 10, 9, 0, tzinfo=UTC))
    registre = Registre(registre.engine, registre.archive, horloge)
    ancien = _courrier(
        registre,
        "Demande de Mme Wojciechowska",
        "Je soussignée Anna Wojciechowska, voisine de M. Kowalczyk…",
        "Anna Wojciechowska",
        pieces=(("attestation.pdf", "Attestation de Mme Przybylska, témoin"),),
    )
    horloge.regler(datetime(2026, 5, 4, 9, 0, tzinfo=UTC))
    recent = _courrier(registre, "Voirie", "Signalement de M. Kowalczyk", "Jan Kowalczyk")
    assert set(_numeros(registre, "kowalczyk")) == {ancien, recent}
    assert _numeros(registre, "wojciechowska") == [ancien]
    assert _numeros(registre, "przybylska") == [ancien]
    sqlite = registre.engine.dialect.name == "sqlite"
    if sqlite:
        assert b"wojciechowska" in _index_brut(registre)
        # FTS5 écrit chaque terme sans le début qu'il partage avec le précédent (« pdf ») : on
        # cherche la fin du mot.
        assert b"zybylska" in _index_brut(registre)
    horloge.regler(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    bilan = purger(registre, Conservation(defaut_ans=10), date(2026, 12, 2))
    assert bilan.purges == [ancien]
    assert _numeros(registre, "kowalczyk") == [recent]
    assert _numeros(registre, "Wojciechowska") == []
    assert _numeros(registre, "anna") == []
    assert _numeros(registre, "przybylska") == []  # le texte lu de la pièce est effacé aussi
    if sqlite:
        # Ni trouvé, ni lisible dans le fichier de l'index (l'index est compacté après la purge).
        assert b"wojciechowska" not in _index_brut(registre)
        assert b"zybylska" not in _index_brut(registre)
    # La ligne purgée reste trouvable par son numéro (ce que la preuve garde).
    assert _numeros(registre, ancien) == [ancien]
    assert registre.verifier() == []


def test_un_registre_de_l_ancien_schema_migre_est_cherchable(tmp_path: Path) -> None:
    # Même fichier que le test de migration de tests/test_registre.py (schéma 20261122_0001,
    # 3 courriers lus) : la migration remplit l'index avec les lignes déjà là.
    copie = tmp_path / "v1.sqlite3"
    shutil.copy(Path(__file__).with_name("donnees") / "registre_v1.sqlite3", copie)
    horloge = HorlogeDeTest(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    registre = Registre.ouvrir(f"sqlite:///{copie}", tmp_path / "donnees", horloge)
    try:
        tous = rechercher(registre.engine, Filtres()).lignes
        assert len(tous) == 3
        for c in tous:
            mot = next(m for m in (c.texte or c.objet).split() if len(m) > 3 and m.isalpha())
            assert c.numero in _numeros(registre, mot.upper()), mot
            assert _numeros(registre, c.numero) == [c.numero]
    finally:
        registre.fermer()


def test_le_banc_a_petite_echelle_trouve_les_bons_courriers(
    grappe_postgres: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from preuves.recherche import attendus, main

    voulus = attendus(2_000)
    # Les plantages tombent où on les attend : 13 et 1 010 pour KOWALCZYK (tous les 997).
    assert voulus["Kowalczyk"] == {"2026-00014", "2026-01011"}
    assert voulus["écoles"] < voulus["ÉCOLE"] and len(voulus["ÉCOLE"]) == 10 + 6
    mesures = main(["--nombre", "2000", "--tours", "1", "--postgres", grappe_postgres])
    assert [(m.base, m.nombre, m.erreurs) for m in mesures] == [
        ("SQLite", 2_000, []),
        ("PostgreSQL", 2_000, []),
    ]
    sortie = capsys.readouterr().out
    assert sortie.count("coût des déclencheurs ×") == 2
    assert sortie.count("ratio plein texte/LIKE ×") == 2


def test_les_mots_extraits_de_la_saisie() -> None:
    from registre.plein_texte import mots

    assert mots("L'ÉCOLE d'été") == ["école", "été"]
    assert mots("2026-42") == ["2026", "00042"]
    assert mots("le 2026-12-05") == ["le", "2026", "12", "05"]  # une date reste une date
    assert mots("a") == ["a"]
    assert mots(" ".join(f"mot{i}" for i in range(30))) == [f"mot{i}" for i in range(10)]
    assert mots('"*" OR ( ) % _ \\') == ["or"]
