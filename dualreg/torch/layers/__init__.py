"""Dropout layers as ``nn.Module``\\ s, one kind per file, each with the penalty it implements.

Every module of this package is imported here, so a new layer is one file: a public,
concrete :class:`DropoutLayer` subclass is found by :func:`registered_layers` (``LAYERS``),
exported by :mod:`dualreg.torch`, and checked by the generic contract test
(``tests/test_dropout_contract.py``).
"""

import importlib
import pkgutil

from dualreg.torch.layers.adaptive import AdaptiveDropout
from dualreg.torch.layers.base import DropoutLayer, MaskKind, registered_layers
from dualreg.torch.layers.bernoulli import BernoulliDropout
from dualreg.torch.layers.gaussian import GaussianDropout
from dualreg.torch.layers.sparseout import Sparseout, _SparseoutNoise  # noqa: F401 (tests patch it)
from dualreg.torch.layers.targeted import TargetedDropout
from dualreg.torch.layers.variational import VariationalDropout
from dualreg.torch.layers.ydrop import YDrop

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

LAYERS = registered_layers()
"""Every layer class by name (the ones above and any new file of this package)."""

__all__ = [
    "LAYERS",
    "AdaptiveDropout",
    "BernoulliDropout",
    "DropoutLayer",
    "GaussianDropout",
    "MaskKind",
    "Sparseout",
    "TargetedDropout",
    "VariationalDropout",
    "YDrop",
    "registered_layers",
]
