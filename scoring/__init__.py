"""Guangdong Credit Pilot Workbench: credit files, ratings, scorecards, exports.

The modelling API is importable from the package itself (loaded on first use, so that
``import scoring`` and the ``scoring`` command stay fast)::

    from scoring import Scorecard, WoEBinner, GBMChallenger, MasterScale, metrics

Examples
--------
>>> import scoring
>>> scoring.Scorecard.__module__, scoring.WoEBinner.__module__
('scoring.scorecard', 'scoring.binning')
>>> scoring.metrics.auc([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8])
1.0
>>> scoring.Nothing
Traceback (most recent call last):
...
AttributeError: module 'scoring' has no attribute 'Nothing'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scoring import metrics
    from scoring.binning import WoEBinner
    from scoring.challenger import GBMChallenger
    from scoring.grades import MasterScale, PointsScaling
    from scoring.scorecard import Scorecard
    from scoring.selection import select_features

__all__ = [
    "GBMChallenger",
    "MasterScale",
    "PointsScaling",
    "Scorecard",
    "WoEBinner",
    "metrics",
    "select_features",
]

_WHERE = {
    "GBMChallenger": "scoring.challenger",
    "MasterScale": "scoring.grades",
    "PointsScaling": "scoring.grades",
    "Scorecard": "scoring.scorecard",
    "WoEBinner": "scoring.binning",
    "select_features": "scoring.selection",
}


def __getattr__(name: str) -> Any:
    if name == "metrics":
        return importlib.import_module("scoring.metrics")
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'scoring' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
