"""Le noyau : types, erreurs, calendrier, sceaux. Aucune entrée-sortie ; n'importe que la
bibliothèque standard et pydantic."""
