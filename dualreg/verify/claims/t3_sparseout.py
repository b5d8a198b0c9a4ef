"""T3, Sparseout is an ℓq penalty (proofs/T3_sparseout_lq.md)."""
