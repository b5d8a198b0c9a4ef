"""T6, monotone rules are subquadratic penalties (proofs/T6_monotone_subquadratic.md)."""
