"""Les exceptions de Courrier. Chaque message est une phrase française lisible par la secrétaire."""


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
