"""T2, the second-order GLM penalty and its error (proofs/T2_glm_second_order.md)."""
