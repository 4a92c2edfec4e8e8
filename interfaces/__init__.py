"""Les points d'entrée des personnes : la ligne de commande et la page web."""
