"""The workbench's exceptions, one tree for the whole package.

Every error a user can cause derives from :class:`WorkbenchError`, and each also
subclasses the builtin error it resembles so that generic handlers still work::

    WorkbenchError (Exception)
    ├── ConfigError (ValueError)            a TOML key with a bad value
    ├── DataError (ValueError)              input data the workbench cannot use
    │   ├── SchemaError                     missing column or wrong type
    │   ├── ValidationFailed                validation found errors (carries the report)
    │   └── UnknownRegionError              a region code not in the province
    ├── InputFileError (OSError)            a missing, empty or unreadable file
    ├── NotFittedError (ValueError, AttributeError)
    │                                       an estimator used before ``fit``
    ├── ModelError (ValueError)             fitting/scoring cannot proceed
    └── TrackingError (RuntimeError)        the MLflow store is unusable

Messages follow one shape: ``"'<name>' must be <constraint>; got <value>."``
with the file, column and row where they are known.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DataError",
    "InputFileError",
    "ModelError",
    "NotFittedError",
    "SchemaError",
    "TrackingError",
    "UnknownRegionError",
    "ValidationFailed",
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


class UnknownRegionError(DataError):
    """A region code that is not a city or county of the province."""


class InputFileError(WorkbenchError, OSError):
    """A file or folder is missing, empty, truncated or unreadable."""


class NotFittedError(WorkbenchError, ValueError, AttributeError):
    """An estimator was used before it was fitted."""


class ModelError(WorkbenchError, ValueError):
    """A model cannot be fitted or applied to the data given."""


class TrackingError(WorkbenchError, RuntimeError):
    """The MLflow tracking store or registry cannot be used."""
