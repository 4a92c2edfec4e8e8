-- Exécuté une seule fois, au premier démarrage du conteneur postgres (volume vide), par
-- l'utilisateur POSTGRES_USER : une base pour Prefect, une pour le registre de Courrier.
CREATE DATABASE prefect;
CREATE DATABASE courrier;
