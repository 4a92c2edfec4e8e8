"""Le digest du maire : ce que la nuit a apporté, en un courriel lisible sur un téléphone.

Tout est pur ici : les lignes du registre arrivent déjà traduites en petits enregistrements
(`CourrierDigest`, `BrouillonEnAttente`, `ErreurGenerale`), le digest est un enregistrement
(`Digest`) que deux gabarits Jinja2 rendent en texte et en HTML, puis `composer_message` en
fait un `EmailMessage`. L'envoi (SMTP) et la lecture du registre vivent ailleurs
(`connecteurs/smtp.py`, `courrier/publication.py`).

Le HTML ne charge rien de l'extérieur : styles en ligne, graphique joint au message et
désigné par `cid:`. Tout texte venu d'un courrier (objet, expéditeur, résumé) est échappé.

Chaque étape a son module : les enregistrements (`digest_donnees`), les libellés et mises en
forme (`digest_libelles`), la construction (`digest_construction`), le rendu et le courriel
(`digest_rendu`), le graphique (`digest_graphique`). Les noms publics d'avant le découpage
restent importables d'ici.
"""

from __future__ import annotations

from courrier.digest_construction import (
    ALERTE_URGENTE_J,
    ALERTES_SANS_SIGNAL,
    ECHEANCE_PASSEE_MAX_J,
    ECHEANCE_PROCHE_J,
    FICHES_MAX,
    ORDRE_URGENCE,
    RESUME_MAX,
    _etat_brouillon,
    construire_digest,
    hors_des_comptes,
)
from courrier.digest_donnees import (
    BrouillonEnAttente,
    Compte,
    CourrierDigest,
    Digest,
    ErreurGenerale,
    Fiche,
    LigneBrouillon,
    LigneEcheance,
    LigneErreur,
)
from courrier.digest_graphique import (
    CATEGORIES_MONTREES,
    COULEUR_AUTRES,
    COULEURS,
    GRAPHIQUE_JOURS,
    graphique_volumes,
)
from courrier.digest_libelles import (
    BROUILLONS_FEMININS,
    LIBELLES_ALERTE,
    LIBELLES_BROUILLON,
    LIBELLES_CANAL,
    LIBELLES_STATUT_BROUILLON,
    NOMS_SOURCES,
    NON_CLASSE,
    j_moins,
    lien_courrier,
    nom_court,
    pluriel,
    sans_accents,
    une_ligne,
)
from courrier.digest_rendu import (
    GABARITS,
    composer_message,
    identifiant,
    image_en_ligne,
    rendre_html,
    rendre_texte,
)

__all__ = [
    "ALERTES_SANS_SIGNAL",
    "ALERTE_URGENTE_J",
    "BROUILLONS_FEMININS",
    "CATEGORIES_MONTREES",
    "COULEURS",
    "COULEUR_AUTRES",
    "ECHEANCE_PASSEE_MAX_J",
    "ECHEANCE_PROCHE_J",
    "FICHES_MAX",
    "GABARITS",
    "GRAPHIQUE_JOURS",
    "LIBELLES_ALERTE",
    "LIBELLES_BROUILLON",
    "LIBELLES_CANAL",
    "LIBELLES_STATUT_BROUILLON",
    "NOMS_SOURCES",
    "NON_CLASSE",
    "ORDRE_URGENCE",
    "RESUME_MAX",
    "BrouillonEnAttente",
    "Compte",
    "CourrierDigest",
    "Digest",
    "ErreurGenerale",
    "Fiche",
    "LigneBrouillon",
    "LigneEcheance",
    "LigneErreur",
    "_etat_brouillon",  # tests/test_digest.py l'essaie directement
    "composer_message",
    "construire_digest",
    "graphique_volumes",
    "hors_des_comptes",
    "identifiant",
    "image_en_ligne",
    "j_moins",
    "lien_courrier",
    "nom_court",
    "pluriel",
    "rendre_html",
    "rendre_texte",
    "sans_accents",
    "une_ligne",
]
