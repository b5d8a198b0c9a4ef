"""T9, Monte-Carlo dropout training converges to the IRLS point.

See proofs/T9_monte_carlo_convergence.md.
"""
