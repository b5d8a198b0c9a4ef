"""Importing this package registers every claim: one module per theorem, each registering its
claims with :func:`dualreg.verify.registry.claim`. Every module of the package is imported
here (in file-name order), so a new claim module is one file."""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
