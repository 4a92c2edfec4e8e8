"""L'identifiant d'une commune de l'installation : court, stable, sûr dans un chemin ou un nom
de schéma PostgreSQL.

Une installation sert une commune (`defaut`, le cas d'avant l'intercommunalité) ou plusieurs :
chacune a son registre (sa base ou son schéma), son archive, son journal, ses réglages et ses
règles propres, rangés sous son identifiant (courrier/communes.py).
"""

from __future__ import annotations

import re

from noyau.erreurs import ConfigurationErreur

COMMUNE_PAR_DEFAUT = "defaut"
# Des minuscules sans accent, des chiffres, des tirets : « saint-jean-de-luz », « ars-2 ».
_IDENTIFIANT = re.compile(r"^[a-z][a-z0-9-]{1,39}$")


def verifier_identifiant(identifiant: str) -> str:
    """L'identifiant tel quel s'il convient ; sinon une phrase qui dit quoi écrire."""
    if not isinstance(identifiant, str) or not _IDENTIFIANT.fullmatch(identifiant):
        # Montré tel quel, sauf les caractères invisibles (retour à la ligne, octet nul…).
        montre = "".join(
            c if c.isprintable() else f"\\x{ord(c):02x}" for c in str(identifiant)[:60]
        )
        raise ConfigurationErreur(
            f"L'identifiant de commune « {montre} » ne convient pas : de 2 à 40 signes, "
            "minuscules sans accent, chiffres et tirets, en commençant par une lettre (par "
            "exemple « saint-jean » ou « ars-2 »)."
        )
    if identifiant.endswith("-") or "--" in identifiant:
        raise ConfigurationErreur(
            f"L'identifiant de commune « {identifiant} » ne convient pas : pas de tiret à la "
            "fin ni de tirets doublés."
        )
    return identifiant


def schema_postgres(identifiant: str) -> str:
    """Le schéma PostgreSQL d'une commune (la commune par défaut garde `public`)."""
    return "commune_" + verifier_identifiant(identifiant).replace("-", "_")
