"""La consigne de panne des preuves, lue dans l'environnement par les points d'entrée seuls.

`COURRIER_PANNE=apres_enregistrement:3` tue le processus au 3e passage par ce point ;
`COURRIER_PANNE=apres_enregistrement:3:pause` le suspend (voir connecteurs/pannes.py). Les
points d'entrée (la ligne de commande, les flows, les programmes des preuves et des tests)
appellent `depuis_environnement()` une fois et passent le point de panne obtenu, en paramètre,
au code qu'ils lancent ; sans la variable, c'est `aucune`.
"""

from __future__ import annotations

import os

from connecteurs.pannes import consigne
from noyau.pannes import PointDePanne


def depuis_environnement() -> PointDePanne:
    return consigne(os.environ.get("COURRIER_PANNE"))
