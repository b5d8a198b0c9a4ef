"""The plant catalogue, one module per layer (each registers its plants with @plant)."""
