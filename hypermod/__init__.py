"""hypermod: hypernetworks versus embedding methods, after Galanti and Wolf (NeurIPS 2020).

The main names are re-exported here; docs/architecture.md maps the subpackages.

They are imported on first use (PEP 562), not with the package: `import hypermod.cli`
must not pay for torch (about 2 s) just to print `hypermod --help`.
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> the module that defines it
_EXPORTS = {
    "DATASETS": "hypermod.data",
    "ImageDataset": "hypermod.data",
    "load_dataset": "hypermod.data",
    "EmbeddingNetwork": "hypermod.models",
    "HyperNetwork": "hypermod.models",
    "MLPPrimary": "hypermod.models",
    "MLPSpec": "hypermod.models",
    "ModulePrimary": "hypermod.models",
    "build_model": "hypermod.models",
    "paper": "hypermod.models",
    "ClassificationTask": "hypermod.tasks",
    "RotationConfig": "hypermod.tasks",
    "RotationTask": "hypermod.tasks",
    "TrainConfig": "hypermod.training",
    "fit": "hypermod.training",
    "train": "hypermod.training",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from hypermod.results import package_version

        value: Any = package_version()
    elif name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    else:
        raise AttributeError(f"module 'hypermod' has no attribute {name!r}")
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS, "__version__"])
