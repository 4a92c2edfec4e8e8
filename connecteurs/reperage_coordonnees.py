"""Le repérage des coordonnées et identifiants d'un texte pour la pseudonymisation : adresses
électroniques, téléphones, NIR et IBAN (clé vérifiée), adresses postales et « code postal ville ».
"""

from __future__ import annotations

import re

MAJ = "A-ZÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸÆŒ"
_MIN = "a-zàâäçéèêëîïôöùûüÿæœß"
LETTRE = MAJ + _MIN

RE_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")

# 06 12 34 56 78, 06.12.34.56.78, 06-12-34-56-78, 0612345678, +33 6 12 34 56 78,
# +33 (0)6 12 34 56 78, 0033 6 12 34 56 78.
RE_TEL = re.compile(
    r"(?<![\w+])(?:(?:\+|00)33[ .-]?(?:\(0\)[ .-]?)?|0)[1-9](?:[ .-]?\d{2}){4}(?![\d])"
)

# Sexe (1, 2 ; 7, 8 pour les numéros provisoires), année, mois (01-12, ou 20-99 quand le mois
# est inconnu), département (dont 2A/2B), commune, rang, clé facultative.
RE_NIR = re.compile(
    r"(?<![\w])[1278][ .]?\d{2}[ .]?(?:0[1-9]|1[0-2]|[2-9]\d)[ .]?(?:\d{2}|2[AB])"
    r"[ .]?\d{3}[ .]?\d{3}(?:[ .]?\d{2})?(?![\w])"
)

# Le début d'un IBAN ; la fin se trouve en vérifiant la clé (mod 97), voir trouver_iban.
_RE_DEBUT_IBAN = re.compile(r"(?<![\w])[A-Z]{2}\d{2}(?=[ ]?[A-Z0-9])")

_TYPES_VOIE = (
    r"rue|ruelle|avenue|av\.|boulevard|bd|bld|chemin|impasse|all[ée]e|place|route|quai|cours"
    r"|square|sentier|passage|hameau|clos|voie|mont[ée]e|domaine|cit[ée]|faubourg|fg"
    r"|promenade|esplanade|rond-point|traverse|venelle|lotissement|r[ée]sidence|parvis"
    r"|chauss[ée]e|carrefour|r[ée]sidence|zone|za|zi|zac"
)
_PARTICULE = r"(?:de|du|des|la|le|les|au|aux|à|en|sur|sous|et|saint|sainte)"
_MOT_MAJ = rf"[{MAJ}0-9][{LETTRE}0-9'’-]*"
# Le nom d'une voie : des particules puis des mots en majuscule (« de l'Église »,
# « du Moulin Neuf », « Victor Hugo ») ; un mot en minuscule l'arrête (« rue des Lilas depuis »).
_NOM_VOIE = rf"(?:[ \t]+(?:(?i:{_PARTICULE})[ \t]+)*(?:(?i:[dl])['’])?{_MOT_MAJ})+"
RE_VOIE = re.compile(
    rf"(?<![\w])\d{{1,4}}(?:[ \t]?(?i:bis|ter|quater|[a-d]))?,?[ \t]+(?i:{_TYPES_VOIE})(?![\w])"
    rf"{_NOM_VOIE}"
)
RE_LIEU_DIT = re.compile(rf"(?<![\w])(?i:lieu[- ]?dit|hameau)(?![\w]){_NOM_VOIE}")
RE_BOITE_POSTALE = re.compile(r"(?<![\w])(?:BP|B\.P\.|CS)[ \t]?\d{1,6}(?![\w])")
# « 76000 Rouen », « 76230 Bois-Guillaume », « 14000 CAEN CEDEX 9 ».
_MOT_VILLE = rf"(?!CEDEX\b)[{MAJ}][{LETTRE}'’-]*"
_LIAISON_VILLE = rf"(?:sur|sous|en|lès|lez|le|la|les|de|du|d'|l')(?=[ \t-]+[{MAJ}])"
_RE_CODE_POSTAL_VILLE = re.compile(
    rf"(?<![\w.,])\d{{5}}[ \t]+{_MOT_VILLE}(?:[ \t-]+(?:{_MOT_VILLE}|{_LIAISON_VILLE}))*"
    r"(?:[ \t]+CEDEX(?:[ \t]+\d{1,2})?)?"
)
# Ce qui suit un nombre de cinq chiffres sans être une ville.
_PAS_UNE_VILLE = {"euros", "euro", "eur", "habitants", "personnes", "km", "kilomètres"}


def valider_iban(iban: str) -> bool:
    """La clé d'un IBAN (ISO 13616, mod 97), espaces ignorés."""
    compact = iban.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", compact):
        return False
    retourne = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in retourne)) % 97 == 1


def valider_nir(nir: str) -> bool:
    """La clé d'un NIR de 15 caractères : 97 - (13 premiers chiffres mod 97), Corse comprise."""
    compact = re.sub(r"[ .]", "", nir).upper()
    if not re.fullmatch(r"[1278]\d{4}(?:\d{2}|2A|2B)\d{8}", compact):
        return False
    corps = compact[:13].replace("2A", "19").replace("2B", "18")
    return 97 - int(corps) % 97 == int(compact[13:])


def trouver_iban(texte: str) -> list[tuple[int, int]]:
    """Les IBAN dont la clé est juste ; le plus long préfixe valide, groupes de 4 ou non."""
    spans: list[tuple[int, int]] = []
    for m in _RE_DEBUT_IBAN.finditer(texte):
        # Les caractères qui peuvent suivre : alphanumériques et espaces simples.
        positions: list[int] = []  # position de fin après chaque caractère alphanumérique
        i = m.start()
        while i < len(texte) and len(positions) < 34:
            c = texte[i]
            if c.isascii() and (c.isupper() or c.isdigit()):
                positions.append(i + 1)
            elif not (c == " " and i + 1 < len(texte) and texte[i + 1] != " "):
                break
            i += 1
        for n in range(len(positions), 14, -1):
            fin = positions[n - 1]
            if fin < len(texte) and (texte[fin].isalnum()):
                continue
            if valider_iban(texte[m.start() : fin]):
                spans.append((m.start(), fin))
                break
    return spans


def trouver_villes(texte: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for m in _RE_CODE_POSTAL_VILLE.finditer(texte):
        ville = m.group(0)[5:].strip().split()[0].casefold()
        if ville not in _PAS_UNE_VILLE:
            spans.append(m.span())
    return spans
