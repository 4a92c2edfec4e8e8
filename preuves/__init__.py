"""Les preuves de robustesse : des bancs d'essai qui rejouent ce que « What must hold » promet."""
