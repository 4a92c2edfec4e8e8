"""Le courrier de démonstration : courriels et scans fictifs de Saint-Aubin-sur-Loire."""
