"""Mutation testing of the verification suite: planted bugs and the score of ``dualreg verify``
against them (``dualreg mutate``)."""

from dualreg.verify.mutations.plant import LAYERS, PLANTS, Patcher, Plant, load_plants, plant
from dualreg.verify.mutations.run import (
    CONTROL,
    ControlFailed,
    Outcome,
    run_control,
    run_inprocess,
    run_plants,
    run_subprocess,
    score_line,
    select_plants,
    write_report,
)

__all__ = [
    "CONTROL",
    "LAYERS",
    "PLANTS",
    "ControlFailed",
    "Outcome",
    "Patcher",
    "Plant",
    "load_plants",
    "plant",
    "run_control",
    "run_inprocess",
    "run_plants",
    "run_subprocess",
    "score_line",
    "select_plants",
    "write_report",
]
