"""La page web : file d'attente, courrier, brouillon, registre, comptes (`courrier serveur`)."""
