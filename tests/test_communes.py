"""Plusieurs communes sur une installation (issue #12, points 1 et 5) : chacune son registre,
sa numérotation sans trou, son journal vérifié seul, son archive, ses réglages et ses règles ;
une commune s'ajoute par la commande, sans rien changer pour la commune par défaut.

Les courriels viennent du corpus partagé (../shared/corpus/emails/MANIFEST.tsv).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from courrier import config
from courrier.communes import FICHIER, dossier_de, identifiants, reglages_de_la_commune
from courrier.etapes import sources_configurees
from noyau.communes import verifier_identifiant
from noyau.erreurs import ConfigurationErreur, RegistreErreur
from registre.registre import Registre
from tests.conftest import COURRIER, RACINE

# Trois courriels français et lisibles du corpus, puis d'autres pour la commune qui en a plus.
COURRIELS = [
    "19_phpmime_m0001.eml",
    "20_phpmime_m0003.eml",
    "13_spamscope_mail_test_5.eml",
    "10_spamscope_mail_test_1.eml",
    "12_spamscope_mail_test_3.eml",
]


def _env(installation: Path, **plus: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COURRIER_", "PREFECT_"))}
    env.update(
        PYTHONPATH=str(RACINE),
        COURRIER_DONNEES=str(installation / "donnees"),
        # Les fichiers copiés ici sont complets : pas d'attente de stabilité.
        COURRIER_DEPOT_DELAI_STABILITE_S="0",
        **plus,
    )
    return env


def _courrier(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COURRIER, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


def _ok(fait: subprocess.CompletedProcess[str]) -> str:
    assert fait.returncode == 0, fait.stdout + fait.stderr
    return fait.stdout


def _deposer(corpus: Path, dossier: Path, noms: list[str]) -> None:
    dossier.mkdir(parents=True, exist_ok=True)
    for nom in noms:
        shutil.copy(corpus / "emails" / nom, dossier / nom)


def _registre(donnees: Path, commune: str, base: str | None = None) -> Registre:
    r = config.charger(donnees=donnees, commune_id=commune, base_de_donnees=base)
    return Registre.ouvrir(r.url_base, r.donnees, commune=commune)


@pytest.fixture
def installation(tmp_path: Path, corpus: Path) -> tuple[Path, dict[str, str]]:
    """Une installation : la commune par défaut (son dépôt .eml, comme avant) et deux communes
    ajoutées par la commande, b recevant plus de courriers que a."""
    env = _env(tmp_path, COURRIER_DEPOT_EML=str(tmp_path / "eml-defaut"))
    _deposer(corpus, tmp_path / "eml-defaut", COURRIELS[:2])
    _deposer(corpus, tmp_path / "eml-a", COURRIELS[:3])
    _deposer(corpus, tmp_path / "eml-b", COURRIELS)
    for ident, nom in (("a", "Arsac"), ("b", "Bègles-sur-Lot")):
        sortie = _ok(
            _courrier(
                env,
                tmp_path,
                "commune",
                "ajouter",
                f"commune-{ident}",
                "--nom",
                nom,
                "--reglage",
                f"COURRIER_DEPOT_EML={tmp_path / f'eml-{ident}'}",
                "--reglage",
                f"destinataires_digest=maire@{ident}.example",
            )
        )
        assert f"Commune « {nom} » ajoutée (commune-{ident})" in sortie
    return tmp_path, env


def test_chaque_commune_numerote_scelle_et_archive_ses_courriers(
    installation: tuple[Path, dict[str, str]],
) -> None:
    tmp, env = installation
    donnees = tmp / "donnees"
    for commune in ("defaut", "commune-a", "commune-b"):
        options = [] if commune == "defaut" else ["--commune", commune]
        _ok(_courrier(env, tmp, *options, "releve"))

    registres = {c: _registre(donnees, c) for c in ("defaut", "commune-a", "commune-b")}
    try:
        attendus = {"defaut": 2, "commune-a": 3, "commune-b": 5}
        for commune, registre in registres.items():
            courriers = registre.courriers()
            # Numérotation propre à la commune : 1, 2, 3… sans trou ni emprunt aux autres.
            assert sorted(c.rang for c in courriers) == list(range(1, attendus[commune] + 1))
            assert len({c.annee for c in courriers}) == 1
            assert registre.verifier() == [], commune
        # Le même courriel reçu par deux communes (une circulaire) est enregistré dans chacune.
        objets_a = {c.objet for c in registres["commune-a"].courriers()}
        objets_b = {c.objet for c in registres["commune-b"].courriers()}
        assert objets_a < objets_b
        # Chaque archive ne tient que les originaux de sa commune.
        archive_a = {
            p.name for p in registres["commune-a"].archive.racine.rglob("*") if p.is_file()
        }
        archive_b = {
            p.name for p in registres["commune-b"].archive.racine.rglob("*") if p.is_file()
        }
        assert archive_a and archive_a < archive_b
        assert registres["commune-a"].archive.racine.is_relative_to(donnees / "communes")
        # La commune par défaut garde ses données où elles étaient.
        assert (donnees / "registre.sqlite3").is_file()
        assert registres["defaut"].archive.racine == donnees / "archive"
    finally:
        for registre in registres.values():
            registre.fermer()

    # Une ligne de b modifiée en douce : la vérification de b le voit, celles de a et de la
    # commune par défaut n'en dépendent pas.
    base_b = sqlite3.connect(donnees / "communes" / "commune-b" / "registre.sqlite3")
    with base_b:
        base_b.execute("UPDATE courriers SET objet = 'falsifié' WHERE rang = 2")
    base_b.close()
    verif_b = _courrier(env, tmp, "--commune", "commune-b", "registre", "verifier")
    assert verif_b.returncode != 0
    assert "a été modifié après l'événement" in verif_b.stdout + verif_b.stderr
    for options in ([], ["--commune", "commune-a"]):
        _ok(_courrier(env, tmp, *options, "registre", "verifier"))

    # Les commandes d'une commune ne montrent que ses courriers.
    liste_a = _ok(_courrier(env, tmp, "--commune", "commune-a", "registre", "lister"))
    assert liste_a.count("-0000") == 3
    assert _ok(_courrier(env, tmp, "commune", "lister")).count("commune-") == 2


def test_un_registre_donne_a_une_autre_commune_refuse_de_s_ouvrir(
    installation: tuple[Path, dict[str, str]],
) -> None:
    tmp, env = installation
    donnees = tmp / "donnees"
    fichier_a = donnees / "communes" / "commune-a" / FICHIER
    base_b = donnees / "communes" / "commune-b" / "registre.sqlite3"
    avant = base_b.read_bytes()
    with fichier_a.open("a", encoding="utf-8") as f:
        f.write(f'COURRIER_BASE_DE_DONNEES="sqlite:///{base_b}"\n')
    fait = _courrier(env, tmp, "--commune", "commune-a", "releve")
    assert fait.returncode != 0
    assert "Ce registre est celui de la commune « commune-b », pas de « commune-a »" in fait.stderr
    assert "Traceback" not in fait.stderr
    assert base_b.read_bytes() == avant  # rien d'écrit dans le registre de b
    # Et directement, sans la commande :
    with pytest.raises(RegistreErreur, match="celui de la commune « commune-b »"):
        Registre.ouvrir(f"sqlite:///{base_b}", tmp / "ailleurs", commune="commune-a")


def test_une_commune_n_herite_ni_la_boite_ni_les_destinataires_de_l_installation(
    env_courrier: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env_courrier.setenv("COURRIER_IMAP_HOTE", "imap.installation.example")
    env_courrier.setenv("COURRIER_IMAP_UTILISATEUR", "mairie@installation.example")
    env_courrier.setenv("COURRIER_IMAP_MOT_DE_PASSE", "secret-de-l-installation")
    env_courrier.setenv("COURRIER_DESTINATAIRES_DIGEST", "maire@installation.example")
    env_courrier.setenv("COURRIER_SIGNATAIRE", "Le maire de l'installation")
    env_courrier.setenv("COURRIER_LLM_URL", "http://127.0.0.1:9/v1")
    env_courrier.setenv("COURRIER_LLM_MODELE", "modele-commun")
    env_courrier.setenv("COURRIER_SMTP_HOTE", "smtp.intercommunalite.example")
    env_courrier.setenv("COURRIER_URL_PUBLIQUE", "https://courrier.cc.example/")
    installation = config.charger()
    dossier = dossier_de(installation, "saint-jean")
    dossier.mkdir(parents=True)
    (dossier / FICHIER).write_text(
        'COURRIER_COMMUNE="Saint-Jean"\nCOURRIER_SIGNATAIRE="La maire de Saint-Jean"\n',
        encoding="utf-8",
    )
    r = reglages_de_la_commune(installation, "saint-jean")
    assert sources_configurees(r) == []  # ni la boîte de l'installation…
    assert r.liste_destinataires_digest == []  # … ni ses destinataires
    assert r.signataire == "La maire de Saint-Jean"
    assert r.commune == "Saint-Jean" and r.commune_id == "saint-jean"
    # Ce qui est commun reste commun : le LLM, le serveur d'envoi.
    assert (r.llm_url, r.llm_modele) == ("http://127.0.0.1:9/v1", "modele-commun")
    assert r.smtp_hote == "smtp.intercommunalite.example"
    # Les liens de ses digests passent par le chemin de la commune sur la page web commune.
    assert r.url_publique == "https://courrier.cc.example/c/saint-jean"
    assert r.donnees == dossier and r.racine == tmp_path / "donnees"
    assert r.url_base.endswith("/communes/saint-jean/registre.sqlite3")

    # Relu à chaque fois : une commune se corrige sans redémarrer.
    (dossier / FICHIER).write_text(
        'COURRIER_COMMUNE="Saint-Jean-de-Luz"\nCOURRIER_IMAP_HOTE=imap.saint-jean.example\n'
        "COURRIER_IMAP_UTILISATEUR=mairie@saint-jean.example\nCOURRIER_IMAP_MOT_DE_PASSE=x\n",
        encoding="utf-8",
    )
    r = config.charger(commune_id="saint-jean")
    assert r.commune == "Saint-Jean-de-Luz"
    assert r.parametres_imap().hote == "imap.saint-jean.example"
    # La variable d'environnement choisit la commune pour tout le processus.
    env_courrier.setenv("COURRIER_COMMUNE_ID", "saint-jean")
    config.reglages.cache_clear()
    assert config.reglages().commune == "Saint-Jean-de-Luz"
    assert identifiants(installation) == ["defaut", "saint-jean"]


def test_les_regles_propres_d_une_commune_s_ajoutent_aux_regles_livrees(
    env_courrier: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from regles.chargement import charger_regles
    from regles.repartition import charger_repartition

    installation = config.charger()
    for ident in ("a", "b"):
        dossier = dossier_de(installation, f"commune-{ident}")
        dossier.mkdir(parents=True)
        (dossier / FICHIER).write_text(f'COURRIER_COMMUNE="{ident.upper()}"\n', encoding="utf-8")
    propres = dossier_de(installation, "commune-a") / "regles"
    propres.mkdir()
    (propres / "elus.yaml").write_text(
        'elus:\n  voirie:\n    nom: "Paul Durand"\n    fonction: "adjoint à la voirie"\n'
        "repartition:\n  - elu: voirie\n    mots_cles: [nid-de-poule]\n",
        encoding="utf-8",
    )
    (propres / "gabarits").mkdir()
    (propres / "gabarits" / "autre.txt.j2").write_text("Réponse propre à A.\n", encoding="utf-8")

    ra = reglages_de_la_commune(installation, "commune-a")
    rb = reglages_de_la_commune(installation, "commune-b")
    assert set(charger_repartition(ra.regles).elus) == {"voirie"}
    assert charger_repartition(rb.regles).elus == {}
    # Le reste vient des règles livrées : les catégories sont les mêmes.
    assert (
        charger_regles(ra.regles).categories.keys() == charger_regles(rb.regles).categories.keys()
    )
    assert ra.gabarits is not None
    assert (ra.gabarits / "autre.txt.j2").read_text(encoding="utf-8") == "Réponse propre à A.\n"
    assert (ra.gabarits / "accuse_reception.txt.j2").is_file()  # livré, non redéfini
    assert rb.gabarits is None

    # Les règles de l'installation (COURRIER_REGLES) valent pour une commune sans règles propres.
    communes_regles = tmp_path / "regles-intercommunales"
    shutil.copytree(Path(charger_regles.__code__.co_filename).parent, communes_regles)
    env_courrier.setenv("COURRIER_REGLES", str(communes_regles))
    installation = config.charger()
    assert reglages_de_la_commune(installation, "commune-b").regles == communes_regles
    ra = reglages_de_la_commune(installation, "commune-a")
    assert ra.regles is not None and (ra.regles / "categories.yaml").resolve() == (
        communes_regles / "categories.yaml"
    )

    # Une faute dans une règle propre est nommée dans le vrai fichier de la commune.
    (propres / "mots_cles.yaml").write_text("categories: [ouvert\n", encoding="utf-8")
    ra = reglages_de_la_commune(installation, "commune-a")
    with pytest.raises(ConfigurationErreur) as e:
        charger_regles(ra.regles)
    assert str(propres / "mots_cles.yaml") in str(e.value)


@pytest.mark.parametrize(
    "identifiant",
    [
        "",
        "A",
        "Défaut",
        "../etc",
        "a/b",
        "a b",
        "-a",
        "a-",
        "a--b",
        "x" * 41,
        "a\x00b",
        "1abc",
        "ars\n",
    ],
)
def test_un_identifiant_de_commune_hostile_est_refuse_en_francais(identifiant: str) -> None:
    with pytest.raises(ConfigurationErreur, match="L'identifiant de commune"):
        verifier_identifiant(identifiant)


def test_les_ajouts_de_commune_hostiles_ne_laissent_rien(tmp_path: Path) -> None:
    env = _env(tmp_path)
    communes = tmp_path / "donnees" / "communes"

    def refuse(*args: str) -> str:
        fait = _courrier(env, tmp_path, "commune", "ajouter", *args)
        assert fait.returncode != 0 and "Traceback" not in fait.stderr, fait.stderr
        assert fait.stderr.startswith("Erreur : "), fait.stderr
        return fait.stderr

    assert "identifiant de commune « ../x »" in refuse("../x", "--nom", "X")
    assert "« defaut » est l'installation" in refuse("defaut", "--nom", "X")
    assert "n'est pas un dossier existant" in refuse(
        "ars", "--nom", "Ars", "--reglage", f"COURRIER_DEPOT_SCANS={tmp_path / 'absent'}"
    )
    assert "COURRIER_IMAP_PORT doit être un nombre entier" in refuse(
        "ars", "--nom", "Ars", "--reglage", "COURRIER_IMAP_PORT=abc"
    )
    assert "COURRIER_DONNEES ne peut pas être réglé pour une commune" in refuse(
        "ars", "--nom", "Ars", "--reglage", f"COURRIER_DONNEES={tmp_path}"
    )
    assert "n'est pas de la forme VARIABLE=valeur" in refuse(
        "ars", "--nom", "Ars", "--reglage", "sans-egal"
    )
    assert "une ligne de 1 à 120 signes" in refuse("ars", "--nom", "A\nB")
    assert "est introuvable" in refuse("ars", "--nom", "Ars", "--depuis", str(tmp_path / "absent"))
    assert not communes.exists() or not any(communes.iterdir())

    _ok(_courrier(env, tmp_path, "commune", "ajouter", "ars", "--nom", "Ars"))
    assert "existe déjà" in refuse("ars", "--nom", "Ars encore")
    assert (communes / "ars" / FICHIER).stat().st_mode & 0o077 == 0  # secrets : 0600
    inconnue = _courrier(env, tmp_path, "--commune", "nulle", "registre", "lister")
    assert inconnue.returncode != 0
    assert "La commune « nulle » n'existe pas dans cette installation" in inconnue.stderr
    assert "(communes : defaut, ars)" in inconnue.stderr


def test_un_fichier_de_commune_abime_est_nomme_avec_sa_faute(
    env_courrier: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    installation = config.charger()
    dossier = dossier_de(installation, "ars")
    dossier.mkdir(parents=True)
    cas = {
        "IMAP_HOTE=x\n": "n'est pas un réglage de Courrier",
        "COURRIER_INCONNU=1\n": "COURRIER_INCONNU ne peut pas être réglé pour une commune",
        "COURRIER_COMMUNE_ID=autre\n": "c'est l'installation qui le pose",
        "COURRIER_SMTP_PORT=999999\n": "COURRIER_SMTP_PORT est trop grand",
    }
    for texte, attendu in cas.items():
        (dossier / FICHIER).write_text(texte, encoding="utf-8")
        with pytest.raises(ConfigurationErreur, match=attendu) as e:
            reglages_de_la_commune(installation, "ars")
        assert str(dossier / FICHIER) in str(e.value)
    (dossier / FICHIER).write_bytes(b"COURRIER_COMMUNE=\xff\xfe\n")
    with pytest.raises(ConfigurationErreur, match="illisible"):
        reglages_de_la_commune(installation, "ars")


def test_le_digest_d_une_commune_part_a_ses_destinataires_avec_ses_seuls_courriers(
    installation: tuple[Path, dict[str, str]],
) -> None:
    from preuves.serveurs import serveur_smtp

    tmp, env = installation
    with (tmp / "donnees" / "communes" / "commune-a" / FICHIER).open("a", encoding="utf-8") as f:
        f.write("COURRIER_ADRESSE_MAIRIE=mairie@a.example\n")
    for commune in ("commune-a", "commune-b"):
        _ok(_courrier(env, tmp, "--commune", commune, "releve"))
    with serveur_smtp() as smtp:
        env_smtp = {
            **env,
            "COURRIER_SMTP_HOTE": "127.0.0.1",
            "COURRIER_SMTP_PORT": str(smtp.port),
            "COURRIER_SMTP_SECURITE": "aucune",
            "COURRIER_URL_PUBLIQUE": "https://courrier.cc.example",
        }
        _ok(_courrier(env_smtp, tmp, "--commune", "commune-a", "digest", "--envoyer"))
        # Sans adresse d'expédition propre, b ne prend pas celle de l'installation : refus clair.
        sans = _courrier(env_smtp, tmp, "--commune", "commune-b", "digest", "--envoyer")
        messages = smtp.lus()
    assert [m["To"] for m in messages] == ["maire@a.example"]
    assert "mairie@a.example" in messages[0]["From"]
    texte = messages[0].get_body(("plain",)).get_content()
    assert "Arsac" in texte and "Bègles" not in texte
    assert "https://courrier.cc.example/c/commune-a/courrier/" in texte
    assert sans.returncode != 0 and "Traceback" not in sans.stderr, sans.stderr
    assert "COURRIER_ADRESSE_MAIRIE manque" in sans.stderr
