"""Les exceptions de Courrier. Chaque message est une phrase française lisible par la secrétaire."""

import errno


class CourrierErreur(Exception):
    """Base : une erreur dont le message peut être montré tel quel à l'utilisateur."""


class ConfigurationErreur(CourrierErreur):
    """Un réglage manque ou est invalide ; le message nomme la variable."""


class ConnecteurErreur(CourrierErreur):
    """Un système extérieur (IMAP, OCR, dossier…) n'a pas répondu comme prévu."""


class ErreurEntreeSortie(ConnecteurErreur):
    """Panne passagère : réseau, serveur, disque. Une nouvelle tentative a un sens."""


class RegistreErreur(CourrierErreur):
    """Le registre (base de données ou archive) refuse une opération."""


class TexteTropLong(RegistreErreur):
    """Un texte dépasse sa longueur permise : refusé, jamais coupé en silence."""


# Les erreurs de fichier les plus courantes, dites en français (`strerror` parle anglais :
# « Permission denied », « Read-only file system »).
_RAISONS_SYSTEME = {
    errno.ENOSPC: "le disque est plein",
    errno.EDQUOT: "le quota du disque est atteint",
    errno.EACCES: "les droits du dossier ne le permettent pas",
    errno.EPERM: "les droits du dossier ne le permettent pas",
    errno.EROFS: "le disque est en lecture seule",
    errno.EIO: "le disque a rendu une erreur de lecture ou d'écriture",
    errno.ENOENT: "le fichier ou le dossier n'existe pas",
    errno.ENOTDIR: "un élément du chemin n'est pas un dossier",
    errno.EISDIR: "c'est un dossier, pas un fichier",
    errno.EEXIST: "un fichier de ce nom existe déjà",
    errno.ENAMETOOLONG: "le nom du fichier est trop long",
    errno.EBUSY: "le fichier est occupé par un autre programme",
    errno.ETXTBSY: "le fichier est occupé par un autre programme",
    errno.EMFILE: "trop de fichiers sont ouverts à la fois",
    errno.ENFILE: "trop de fichiers sont ouverts à la fois",
    errno.ESTALE: "le partage réseau ne reconnaît plus ce fichier (reconnectez le partage)",
    errno.ENOTCONN: "le partage réseau est déconnecté",
    errno.EHOSTDOWN: "le serveur du partage réseau est éteint",
    errno.ETIMEDOUT: "le partage réseau ne répond pas",
}


def raison_systeme(e: OSError) -> str:
    """La cause d'une erreur de fichier, en français (le numéro d'erreur s'il est inconnu)."""
    if e.errno in _RAISONS_SYSTEME:
        return _RAISONS_SYSTEME[e.errno]
    return f"erreur système n° {e.errno}" if e.errno else f"erreur du système ({e})"


def citer(elements: list[str], maximum: int) -> str:
    """Les `maximum` premiers éléments, séparés par des virgules, puis combien il en reste :
    un message nomme ce qu'il faut aller voir sans devenir une liste de cinq cents noms."""
    cites = ", ".join(elements[:maximum])
    if len(elements) > maximum:
        cites += f" et {len(elements) - maximum} autre(s)"
    return cites
