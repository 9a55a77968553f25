"""The workbench's exceptions, one tree for the whole package.

Every error a user can cause derives from :class:`WorkbenchError`, and each also
subclasses the builtin error it resembles so that generic handlers still work::

    WorkbenchError (Exception)
    ├── ConfigError (ValueError)            a TOML key with a bad value
    ├── DataError (ValueError)              input data the workbench cannot use
    │   ├── SchemaError                     missing column or wrong type
    │   ├── ValidationFailed                validation found errors (carries the report)
    │   ├── VerificationFailed              an export disagrees with its manifest
    │   └── UnknownRegionError              a region code not in the province
    ├── InputFileError (OSError)            a missing, empty or unreadable file
    ├── NotFittedError (ValueError, AttributeError)
    │                                       an estimator used before ``fit``
    ├── ModelError (ValueError)             fitting/scoring cannot proceed
    ├── DisputeError (ValueError)           an unknown dispute or a transition it cannot make
    ├── StoreError (RuntimeError)           the dispute store is locked too long or unusable
    ├── TrackingError (RuntimeError)        the MLflow store is unusable
    └── MissingExtraError (ImportError)     an optional extra (e.g. dashboards) is not installed

Messages follow one shape: ``"'<name>' must be <constraint>; got <value>."``
with the file, column and row where they are known.
"""

from __future__ import annotations

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

__all__ = [
    "ConfigError",
    "DataError",
    "DisputeError",
    "InputFileError",
    "MissingExtraError",
    "ModelError",
    "NotFittedError",
    "SchemaError",
    "StoreError",
    "TrackingError",
    "UnknownRegionError",
    "ValidationFailed",
    "VerificationFailed",
    "WorkbenchError",
]


class WorkbenchError(Exception):
    """Base class of every error the workbench raises on purpose."""


class ConfigError(WorkbenchError, ValueError):
    """A configuration value is missing or invalid (names the key and the file)."""


class DataError(WorkbenchError, ValueError):
    """Input data cannot be used as given."""


class SchemaError(DataError):
    """A table misses a column or a column has the wrong type."""


class ValidationFailed(DataError):
    """Validation found errors; ``report`` holds the full validation report."""

    def __init__(self, message: str, report: object | None = None) -> None:
        super().__init__(message)
        self.report = report


class VerificationFailed(DataError):
    """An export's files disagree with its manifest; ``report`` holds every problem found."""

    def __init__(self, message: str, report: object | None = None) -> None:
        super().__init__(message)
        self.report = report


class UnknownRegionError(DataError):
    """A region code that is not a city or county of the province."""


class InputFileError(WorkbenchError, OSError):
    """A file or folder is missing, empty, truncated or unreadable."""


class NotFittedError(WorkbenchError, _SklearnNotFittedError):  # type: ignore[misc]
    """An estimator was used before it was fitted (also scikit-learn's NotFittedError)."""


class ModelError(WorkbenchError, ValueError):
    """A model cannot be fitted or applied to the data given."""


class DisputeError(WorkbenchError, ValueError):
    """An unknown dispute, or a state change it cannot make (e.g. resolving it twice)."""


class StoreError(WorkbenchError, RuntimeError):
    """The dispute store stayed locked past its timeout, or is not a usable database."""


class TrackingError(WorkbenchError, RuntimeError):
    """The MLflow tracking store or registry cannot be used."""


class MissingExtraError(WorkbenchError, ImportError):
    """An optional dependency group is not installed; the message names the extra."""
