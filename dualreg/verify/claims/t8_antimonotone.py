"""T8, anti-monotone rules are superquadratic (proofs/T8_antimonotone_superquadratic.md)."""
