"""T5, adaptive dropout is η-trick IRLS; IRLS against cvxpy and scikit-learn.

See proofs/T5_adaptive_dropout_irls.md.
"""
