"""`courrier connexion-oauth` : la boîte de la mairie autorise Courrier une fois pour toutes.

Flux « device code » (RFC 8628) : la commande affiche une adresse et un code ; quelqu'un qui
connaît le compte de la boîte les saisit sur n'importe quel appareil (téléphone, poste de la
secrétaire) et consent. Le serveur n'a besoin ni de navigateur ni d'écran.
"""

from __future__ import annotations

from rich.markup import escape

from courrier.config import reglages
from interfaces.cli_commun import commande, console
from noyau.erreurs import CourrierErreur


@commande
def connexion_oauth() -> None:
    """Connecte la boîte de la mairie par OAuth2 (Microsoft 365, Gmail…) : affiche l'adresse
    et le code à saisir, attend le consentement, puis garde le jeton chiffré."""
    from connecteurs.oauth import attendre_consentement, demander_code

    r = reglages()
    p = r.parametres_oauth()
    coffre = r.coffre_oauth(creer_cle=True)
    coffre.preparer()
    demande = demander_code(p)
    minutes = max(1, demande.expires_in // 60)
    console.print(
        f"Ouvrez [bold]{escape(demande.adresse)}[/] sur un téléphone ou un ordinateur, "
        f"saisissez le code [bold]{escape(demande.user_code)}[/] et connectez-vous avec le "
        f"compte de la boîte (le code vaut {minutes} min).",
        soft_wrap=True,
    )
    if demande.verification_uri_complete:
        console.print(
            f"Ou ouvrez directement {escape(demande.verification_uri_complete)}.", soft_wrap=True
        )
    with console.status("En attente de votre consentement…"):
        jeton = attendre_consentement(p, demande)
    try:
        coffre.lire()
    except CourrierErreur:
        # Un fichier illisible (clé changée, fichier abîmé) n'est pas écrasé : ses octets
        # restent à côté, au cas où la bonne clé reviendrait.
        ancien = coffre.garder_l_ancien()
        if ancien is not None:
            console.print(f"L'ancien fichier de jeton, illisible, est gardé sous {ancien}.")
    coffre.ecrire(jeton)
    console.print(
        f"Connexion enregistrée : jeton chiffré dans {coffre.fichier}. Avec "
        "COURRIER_IMAP_AUTH=oauth2 (et COURRIER_SMTP_AUTH=oauth2), la relève et l'envoi s'en "
        "servent et le renouvellent seuls.",
        soft_wrap=True,
    )
    if r.imap_auth == "oauth2" and r.imap_configure:
        # Le jeton essayé tout de suite : une autorisation IMAP manquante se voit maintenant,
        # pas à la relève de la nuit.
        from connecteurs.imap import ouvrir

        client, _ = ouvrir(r.parametres_imap(), lambda c: None)
        client.logout()
        boite = escape(r.imap_utilisateur or "")
        console.print(f"Essai réussi : la boîte {boite} accepte le jeton.")
