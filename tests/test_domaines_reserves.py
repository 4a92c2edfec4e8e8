"""Les adresses d'exemple n'écrivent qu'à des domaines réservés (RFC 2606, RFC 6761).

Une réponse de la démonstration ou d'un test validée par erreur devant un vrai serveur SMTP
partirait chez quelqu'un si son destinataire était « gmail.com » ou « loiret.gouv.fr ». Ce test
parcourt tous les fichiers suivis par git (démo, tests, preuves, déploiement, README, règles,
code), en tire chaque adresse électronique (Message-ID compris), chaque hôte d'URL et chaque nom
de domaine nu, et nomme fichier et ligne de tout domaine qui n'est pas réservé, hors de la courte
liste d'exceptions justifiées ci-dessous.

Les courriels (.eml) sont lus deux fois : ligne à ligne tels quels, puis partie par partie une
fois décodés (quoted-printable, base64), où une adresse coupée par le codage se recolle.
"""

from __future__ import annotations

import email
import email.policy
import re
import subprocess
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from courrier.domaines_reserves import domaine_reserve
from tests.conftest import RACINE

# Une adresse électronique (ou un Message-ID, qui en a la forme), l'hôte d'une URL, un nom de
# domaine nu sous un domaine de tête courant (une liste : « module.py » ou « README.md » ne
# sont pas des domaines, pour ce test).
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
# Une partie locale peut être un gabarit de code (« habitant{i}@… ») : les accolades en sont.
_ADRESSE = re.compile(rf"[\w.%+=$'{{}}-]+@((?:{_LABEL}\.)+{_LABEL})")
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://(?:[^/\s@]*@)?([A-Za-z0-9.-]+)")
_TETES_COURANTES = "fr|com|net|org|eu|de|be|ch|uk|io|biz|me|gov|edu|ai"
_NU = re.compile(rf"(?<![\w.@/-])((?:{_LABEL}\.)+(?:{_TETES_COURANTES}))(?![\w-]|\.\w)", re.I)

# Fichiers binaires sans texte à lire (images, PDF compressés) : un motif y naîtrait du hasard.
_ILLISIBLES = {".png", ".jpg", ".tif", ".pdf"}

# Le fichier ou le domaine gardé, et pourquoi. Chaque exception vise un domaine précis d'un
# fichier précis : une adresse réelle ajoutée ailleurs fait échouer le test.
EXCEPTIONS: dict[tuple[str, str], str] = {
    # Des messages écrits par d'autres, lus tels quels dans le corpus partagé
    # (../shared/corpus/emails/MANIFEST.tsv) : le test vérifie ce que contiennent leurs octets.
    ("tests/test_extraction_courriels.py", "google.com"): "corpus 57 (expéditeur réel)",
    ("tests/test_extraction_courriels.py", "gmail.com"): "corpus 57 (destinataire réel)",
    ("tests/test_extraction_courriels.py", "free-quilting.com"): "corpus 44 (expéditeur réel)",
    ("tests/test_extraction_courriels.py", "enron.com"): "corpus 46 (jeu Enron public)",
    ("tests/test_extraction_courriels.py", "xxxx.com"): "corpus 38 (message transféré)",
    ("tests/test_extraction_courriels.py", "w-vwa.de"): "corpus 79 (.msg Outlook réel)",
    ("tests/test_extraction_bureautique.py", "w-vwa.de"): "corpus 79 (.msg Outlook réel)",
    ("tests/test_extraction_bureautique.py", "kreis-tuebingen.de"): "corpus 79 (destinataire)",
    # Deux vrais fichiers TNEF des tests de tnefparse (LGPL-3.0), gardés octet pour octet avec
    # leur provenance (tests/donnees/tnef/README.md) : aucune bibliothèque n'écrit de TNEF.
    ("tests/donnees/tnef/README.md", "github.com"): "provenance des fichiers TNEF",
    ("tests/donnees/tnef/body.tnef", "br-exch-dev1.brexchange.dolphinsearch.com"): "TNEF réel",
    ("tests/donnees/tnef/winmail.dat", "world.std.com"): "TNEF réel",
    ("tests/donnees/tnef/winmail.dat", "numega.com"): "TNEF réel",
    ("tests/donnees/tnef/winmail.dat", "localhost.localdomain"): "TNEF réel",
    ("tests/donnees/tnef/winmail.dat", "boll.ch"): "TNEF réel",
    # Base de l'ancien schéma, gardée octet pour octet : le test de migration
    # (tests/test_registre.py) vérifie sa chaîne de sceaux telle qu'elle a été écrite.
    ("tests/donnees/registre_v1.sqlite3", "exemple.fr"): "base v1 figée",
    # Le jeu étiqueté mesure les règles livrées : ces expéditeurs (adresses inventées) sont des
    # organismes réels que reconnaît une règle de regles/expediteurs.yaml ; le jeu est analysé,
    # jamais répondu.
    ("tests/donnees/courriers_etiquetes.yaml", "enedis.fr"): "règle livrée « enedis.fr »",
    ("tests/donnees/courriers_etiquetes.yaml", "edf.fr"): "règle livrée « edf.fr »",
    ("tests/donnees/courriers_etiquetes.yaml", "ac-orleans-tours.fr"): "règle « ac-*.fr »",
    ("tests/donnees/courriers_etiquetes.yaml", "gendarmerie.interieur.gouv.fr"): (
        "règle livrée « interieur.gouv.fr »"
    ),
    ("tests/donnees/courriers_etiquetes.yaml", "dgfip.finances.gouv.fr"): (
        "règle livrée « dgfip.finances.gouv.fr »"
    ),
    # Des services publics réels que les lettres et les mentions légales indiquent à l'usager.
    ("regles/crpa.yaml", "www.telerecours.fr"): "voie de recours (mentions du CRPA)",
    ("regles/crpa.yaml", "www.cada.fr"): "saisine de la CADA (mentions du CRPA)",
    ("noyau/crpa.py", "www.telerecours.fr"): "voie de recours (mentions du CRPA)",
    ("regles/gabarits/elections.txt.j2", "service-public.fr"): "inscription en ligne",
    ("regles/gabarits/elections.txt.j2", "maprocuration.gouv.fr"): "procuration en ligne",
    # Un vrai point d'accès de LLM proposé comme réglage : on n'y écrit pas de courriel.
    ("deploiement/.env.exemple", "api.mistral.ai"): "fournisseur réel cité en exemple de réglage",
    # La règle livrée de l'État, lue par son motif pour la comparer à la préfecture d'exemple.
    ("tests/test_regles.py", "gouv.fr"): "motif de regles/expediteurs.yaml, pas une adresse",
    # L'adresse réelle que le garde-fou de la démonstration doit refuser : le message est
    # construit, jamais remis à un serveur d'envoi.
    ("tests/test_envoi.py", "gmail.com"): "cible du garde-fou de la démonstration",
    # L'espace de noms XML du SVG des graphiques : un identifiant, jamais une adresse où écrire.
    ("interfaces/web/gabarits/indicateurs.html.j2", "www.w3.org"): "espace de noms SVG",
    # OAuth2 (#12.4) : les vrais points d'accès et autorisations de Microsoft et de Google, que
    # Courrier appelle pour de vrai (aucun courriel n'y est écrit), et leur documentation.
    ("connecteurs/oauth.py", "login.microsoftonline.com"): "point de jeton de Microsoft Entra",
    ("connecteurs/oauth.py", "outlook.office.com"): "nom des autorisations IMAP et SMTP",
    ("connecteurs/oauth.py", "oauth2.googleapis.com"): "points d'accès OAuth2 de Google",
    ("connecteurs/oauth.py", "mail.google.com"): "nom de l'autorisation Gmail",
    ("tests/test_oauth.py", "login.microsoftonline.com"): "point de jeton déduit du tenant",
    ("deploiement/README.md", "outlook.office365.com"): "serveur IMAP de Microsoft 365",
    ("deploiement/README.md", "smtp.office365.com"): "serveur SMTP de Microsoft 365",
    ("deploiement/README.md", "outlook.office.com"): "nom des autorisations IMAP et SMTP",
    ("deploiement/README.md", "mail.google.com"): "nom de l'autorisation Gmail",
    ("deploiement/README.md", "microsoft.com"): "page où saisir le code (devicelogin)",
    # Une source citée en commentaire.
    ("courrier/lettre.py", "edics.fr"): "source des marges de la fenêtre d'enveloppe",
}
# Les règles de production reconnaissent de vrais domaines d'administrations : chaque « motif »
# de regles/expediteurs.yaml est permis dans les règles (regles/*.yaml), et là seulement.
_MOTIF = re.compile(r'^\s*- \{motif: "([^"*]+)"', re.M)
_DOSSIER_REGLES = "regles/"


def domaines(texte: str) -> Iterator[tuple[int, str]]:
    """Chaque (numéro de ligne, domaine) d'un texte : adresses, hôtes d'URL, domaines nus."""
    for numero, ligne in enumerate(texte.splitlines(), 1):
        for motif in (_ADRESSE, _URL, _NU):
            for trouve in motif.finditer(ligne):
                if ligne[trouve.end() :] == "=":
                    continue  # coupure quoted-printable : la partie décodée la recolle
                yield numero, trouve.group(1).lower().rstrip(".")


def _parties_decodees(octets: bytes) -> Iterator[tuple[str, str]]:
    message = email.message_from_bytes(octets, policy=email.policy.default)
    for i, partie in enumerate(message.walk()):
        if isinstance(partie, EmailMessage) and partie.get_content_maintype() == "text":
            try:
                yield f"partie {i}", partie.get_content()
            except (LookupError, ValueError):
                continue


def _textes(chemin: str, octets: bytes) -> Iterator[tuple[str, str]]:
    try:
        yield "", octets.decode("utf-8")
    except UnicodeDecodeError:
        yield "", octets.decode("latin-1")  # base SQLite : ses textes restent lisibles
    if chemin.endswith(".eml"):
        yield from _parties_decodees(octets)


def _fichiers_suivis() -> list[str]:
    sortie = subprocess.run(
        ["git", "ls-files", "-z"], cwd=RACINE, capture_output=True, check=True
    ).stdout
    return [nom for nom in sortie.decode().split("\0") if nom]


def _motifs_de_production() -> set[str]:
    texte = (RACINE / "regles" / "expediteurs.yaml").read_text(encoding="utf-8")
    return {m.lower() for m in _MOTIF.findall(texte)}


def domaines_non_reserves(chemin: str, octets: bytes, motifs: set[str]) -> list[str]:
    """Les fautes d'un fichier, une par occurrence : « chemin:ligne : domaine »."""
    fautes = []
    for ou, texte in _textes(chemin, octets):
        for numero, domaine in domaines(texte):
            if domaine_reserve(domaine) or (chemin, domaine) in EXCEPTIONS:
                continue
            regles = chemin.startswith(_DOSSIER_REGLES) and chemin.endswith(".yaml")
            if regles and domaine in motifs:
                continue
            lieu = f"{chemin}:{numero}" + (f" ({ou})" if ou else "")
            fautes.append(f"{lieu} : {domaine}")
    return fautes


def test_les_exemples_n_ecrivent_qu_a_des_domaines_reserves() -> None:
    ce_fichier = Path(__file__).resolve().relative_to(RACINE).as_posix()
    motifs = _motifs_de_production()
    fautes = []
    for chemin in _fichiers_suivis():
        if chemin == ce_fichier or Path(chemin).suffix in _ILLISIBLES:
            continue
        chemin_complet = RACINE / chemin
        if not chemin_complet.is_file():
            continue  # suivi mais effacé de la copie de travail
        fautes += domaines_non_reserves(chemin, chemin_complet.read_bytes(), motifs)

    assert not fautes, (
        "Domaines réels dans des exemples (utilisez « .example », RFC 2606, ou justifiez une "
        "exception dans tests/test_domaines_reserves.py) :\n" + "\n".join(fautes)
    )


def test_chaque_exception_sert_encore() -> None:
    # Une exception devenue inutile (fichier corrigé, renommé) rouvrirait la porte en silence.
    motifs = _motifs_de_production()
    for (chemin, domaine), raison in EXCEPTIONS.items():
        octets = (RACINE / chemin).read_bytes()
        trouves = {d for _, texte in _textes(chemin, octets) for _, d in domaines(texte)}
        assert domaine in trouves, f"{chemin} ne contient plus {domaine} ({raison})"
    assert "gouv.fr" in motifs and "prefecture-loiret.example" in motifs


@pytest.mark.parametrize(
    ("texte", "attendu"),
    [
        ("From: Jean <jean.dupont@gmail.com>", ["gmail.com"]),
        ("Message-ID: <CAF3k9m+Qx2@mail.gmail.com>", ["mail.gmail.com"]),
        ('<a href="https://www.urbaneo-collectivites.fr/noel">', ["www.urbaneo-collectivites.fr"]),
        ("motif: loiret.gouv.fr", ["loiret.gouv.fr"]),
        ("by smtp.orange.fr with ESMTPS", ["smtp.orange.fr"]),
        ("imaps://Mairie@IMAP.Exemple.FR:993/INBOX", ["imap.exemple.fr"]),
        ("mairie@saint-aubin-sur-loire.example, maire@mairie.test", []),
        ("http://localhost:8000/v1 http://127.0.0.1:11434 http://testserver/", []),
        ("postgresql+psycopg://courrier:secret@127.0.0.1:5432/courrier", []),
        ("https://www.example.org/ et pref@prefecture-loiret.example", []),
        ("from courrier.demo.generer import CATALOGUE ; voir README.md et lancer.sh", []),
    ],
)
def test_le_releve_des_domaines_trouve_les_vrais_et_laisse_les_reserves(
    texte: str, attendu: list[str]
) -> None:
    trouves = [d for _, d in domaines(texte) if not domaine_reserve(d)]

    assert sorted(set(trouves)) == attendu


def test_une_adresse_reelle_dans_un_courriel_code_est_trouvee() -> None:
    # Coupée par le quoted-printable et cachée en base64 : les deux sont relevées.
    eml = (
        b"From: mairie@saint-aubin-sur-loire.example\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"=C3=89crire =C3=A0 jean.martin@orange.=\r\nfr avant lundi.\r\n"
        b"--b\r\nContent-Type: text/html; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        b"PGEgaHJlZj0ibWFpbHRvOnNvcGhpZUBsYXBvc3RlLm5ldCI+w6ljcmlyZTwvYT4=\r\n"
        b"--b--\r\n"
    )

    fautes = domaines_non_reserves("demo.eml", eml, set())

    assert fautes == [
        "demo.eml:1 (partie 1) : orange.fr",
        "demo.eml:1 (partie 2) : laposte.net",
    ]


def test_un_motif_de_production_n_est_permis_que_dans_les_regles() -> None:
    ligne = b'  - {motif: "gouv.fr", nature: administration}\n'

    assert domaines_non_reserves("regles/expediteurs.yaml", ligne, {"gouv.fr"}) == []
    assert domaines_non_reserves("tests/test_x.py", ligne, {"gouv.fr"}) == [
        "tests/test_x.py:1 : gouv.fr"
    ]
