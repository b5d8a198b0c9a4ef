"""T1, dropout is a data-weighted ridge (proofs/T1_dropout_ridge.md)."""
