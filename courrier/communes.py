"""Les communes d'une installation : leurs réglages, leur dossier, leur registre.

La commune par défaut (`defaut`) est l'installation elle-même : ses réglages sont ceux de
l'environnement et du `.env`, ses données dans `COURRIER_DONNEES` ; une installation d'une
seule commune ne voit rien de ce qui suit. Chaque autre commune a son dossier
`COURRIER_DONNEES/communes/<identifiant>/` :

- `commune.env` : ses réglages (`COURRIER_COMMUNE`, `COURRIER_IMAP_…`, `COURRIER_DEPOT_SCANS`,
  `COURRIER_DESTINATAIRES_DIGEST`, `COURRIER_SIGNATAIRE`…), relus à chaque ouverture : une
  commune s'ajoute ou se corrige sans redémarrer la page web ni les workers ;
- son registre (`registre.sqlite3`, ou le schéma PostgreSQL `commune_<identifiant>` de la base
  de l'installation), son archive, ses jetons OAuth2 ;
- `regles/` : ses règles propres, fichier par fichier, par-dessus celles de l'installation.

Ce qui est propre à une commune (sa boîte, son dépôt de scans, son signataire, ses
destinataires…) n'est jamais hérité de l'installation : une commune nouvelle ne relève pas la
boîte d'une autre. Le reste (LLM, OCR, serveur SMTP, page web) est commun.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from dotenv import dotenv_values
from pydantic import ValidationError
from sqlalchemy.engine import make_url

from courrier.config import PREFIXE, Reglages, traduire_erreur
from noyau.communes import COMMUNE_PAR_DEFAUT, schema_postgres, verifier_identifiant
from noyau.erreurs import ConfigurationErreur
from regles.superposition import superposer

FICHIER = "commune.env"
# Jamais hérités de l'installation : ce qui désigne la commune, sa boîte, ses destinataires.
PROPRES = frozenset(
    {
        "commune",
        "maire",
        "commune_adresse",
        "commune_telephone",
        "commune_email",
        "signataire",
        "adresse_mairie",
        "destinataires_digest",
        "imap_hote",
        "imap_port",
        "imap_utilisateur",
        "imap_mot_de_passe",
        "imap_securite",
        "imap_dossier",
        "imap_dossier_traite",
        "imap_dossier_envoyes",
        "imap_auth",
        "smtp_auth",
        "smtp_utilisateur",
        "smtp_mot_de_passe",
        "depot_scans",
        "depot_eml",
        "oauth_fichier_jeton",
        "oauth_fichier_cle",
        "base_de_donnees",
        "regles",
    }
)
# Posés par l'installation, pas par le fichier d'une commune.
INTERDITS = frozenset({"donnees", "installation", "commune_id"})


def dossier_des_communes(installation: Reglages) -> Path:
    return installation.racine / "communes"


def dossier_de(installation: Reglages, identifiant: str) -> Path:
    return dossier_des_communes(installation) / verifier_identifiant(identifiant)


def identifiants(installation: Reglages) -> list[str]:
    """La commune par défaut, puis les autres par ordre alphabétique."""
    dossier = dossier_des_communes(installation)
    autres = (
        sorted(
            d.name
            for d in dossier.iterdir()
            if d.is_dir() and d.name != COMMUNE_PAR_DEFAUT and (d / FICHIER).is_file()
        )
        if dossier.is_dir()
        else []
    )
    return [COMMUNE_PAR_DEFAUT, *autres]


def lire_fichier(chemin: Path) -> dict[str, str]:
    """Les réglages d'un fichier de commune, noms de champs en minuscules sans préfixe."""
    try:
        brut = dotenv_values(chemin, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigurationErreur(
            f"Le fichier de réglages {chemin} est illisible ({e}) : il doit être un texte UTF-8."
        ) from e
    valeurs: dict[str, str] = {}
    for cle, valeur in brut.items():
        nom = cle.strip().upper()
        if not nom.startswith(PREFIXE):
            raise ConfigurationErreur(
                f"Dans {chemin}, « {cle[:60]} » n'est pas un réglage de Courrier (ils commencent "
                f"par {PREFIXE}, par exemple COURRIER_IMAP_HOTE=imap.commune.example)."
            )
        champ = nom[len(PREFIXE) :].lower()
        if champ in INTERDITS or champ not in Reglages.model_fields:
            raise ConfigurationErreur(
                f"Dans {chemin}, {nom} ne peut pas être réglé pour une commune"
                + (" (c'est l'installation qui le pose)." if champ in INTERDITS else " (inconnu).")
            )
        valeurs[champ] = valeur or ""
    return valeurs


def url_de_la_commune(installation: Reglages, identifiant: str, dossier: Path) -> str:
    """La base du registre d'une commune : un fichier SQLite dans son dossier, ou son schéma
    dans la base PostgreSQL de l'installation."""
    if not installation.base_de_donnees or installation.base_de_donnees.startswith("sqlite"):
        return f"sqlite:///{(dossier / 'registre.sqlite3').resolve()}"
    url = make_url(installation.base_de_donnees)
    chemin = quote(f"-csearch_path={schema_postgres(identifiant)},public", safe="")
    return (
        url.difference_update_query(["options"]).render_as_string(hide_password=False)
        + ("&" if url.query else "?")
        + f"options={chemin}"
    )


def reglages_de_la_commune(installation: Reglages, identifiant: str) -> Reglages:
    """Les réglages d'une commune : ceux de l'installation, moins ce qui est propre à une
    commune, plus son fichier `commune.env` (relu à chaque appel)."""
    if identifiant == COMMUNE_PAR_DEFAUT:
        return installation
    dossier = dossier_de(installation, identifiant)
    fichier = dossier / FICHIER
    if not fichier.is_file():
        connues = ", ".join(identifiants(installation))
        raise ConfigurationErreur(
            f"La commune « {identifiant} » n'existe pas dans cette installation (communes : "
            f"{connues}). Ajoutez-la avec « courrier commune ajouter {identifiant} --nom … »."
        )
    propres = lire_fichier(fichier)
    valeurs = {
        nom: valeur
        for nom, valeur in installation.model_dump().items()
        if nom not in PROPRES and nom not in INTERDITS
    }
    # Passés explicitement, même vides : sinon Reglages les relirait dans l'environnement (et le
    # .env) de l'installation, et la commune hériterait de sa boîte.
    for nom in PROPRES:
        valeurs[nom] = Reglages.model_fields[nom].get_default(call_default_factory=True)
    valeurs.update(propres)
    valeurs.update(
        donnees=dossier,
        installation=installation.racine,
        commune_id=identifiant,
    )
    if installation.url_publique and "url_publique" not in propres:
        # Les liens des digests et des bilans mènent à la page web commune, par le chemin de
        # la commune (/c/<id>/courrier/…) qui y choisit cette commune pour la session.
        valeurs["url_publique"] = f"{installation.url_publique.rstrip('/')}/c/{identifiant}"
    if "base_de_donnees" not in propres:
        valeurs["base_de_donnees"] = url_de_la_commune(installation, identifiant, dossier)
    if "regles" not in propres:
        # Celles de l'installation (COURRIER_REGLES, sinon celles livrées), plus les siennes.
        valeurs["regles"] = (
            superposer(installation.regles, dossier / "regles", dossier / ".regles-en-vigueur")
            if (dossier / "regles").is_dir()
            else installation.regles
        )
    try:
        reglages = Reglages(**valeurs)
    except ValidationError as e:
        raise ConfigurationErreur(
            f"Commune « {identifiant} » ({fichier}) : {traduire_erreur(e)}"
        ) from e
    try:
        reglages.verifier_coherence()
    except ConfigurationErreur as e:
        raise ConfigurationErreur(f"Commune « {identifiant} » ({fichier}) : {e}") from e
    return reglages


def ecrire_fichier(chemin: Path, valeurs: dict[str, str]) -> None:
    """Écrit `commune.env` (droits 0600 : il peut porter un mot de passe), atomiquement."""
    lignes = ["# Réglages de la commune (courrier commune ajouter) ; relus à chaque relève.\n"]
    for nom, valeur in valeurs.items():
        if "\n" in valeur or "\r" in valeur or "\x00" in valeur:
            raise ConfigurationErreur(f"La valeur de {nom} tient sur une seule ligne.")
        echappee = valeur.replace("\\", "\\\\").replace('"', '\\"')
        lignes.append(f'{nom}="{echappee}"\n')
    provisoire = chemin.with_name(f".{chemin.name}.{os.getpid()}")
    descripteur = os.open(provisoire, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descripteur, "w", encoding="utf-8") as sortie:
        sortie.write("".join(lignes))
    os.replace(provisoire, chemin)
