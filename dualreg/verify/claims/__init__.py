"""Importing this package registers every claim, one module per theorem."""

from dualreg.verify.claims import (  # noqa: F401
    t1_dropout_ridge,
    t2_glm,
    t3_sparseout,
    t3_training,
    t4_eta_trick,
    t5_irls,
    t6_monotone,
    t7_penalties,
    t7_training,
    t8_antimonotone,
    t8_training,
    t9_montecarlo,
)
