"""Typed configuration, loaded once from TOML into frozen dataclasses.

The default file is ``configs/workbench.toml``; ``SCORING_CONFIG`` or ``--config``
points elsewhere. Relative paths in ``[paths]`` are resolved against the folder
that holds the project (the parent of ``configs/``), so commands work from any
working directory. A bad value raises :class:`~scoring.exceptions.ConfigError`
naming the file, the key and what was expected.

Examples
--------
>>> cfg = load_config()
>>> cfg.province.pilot_regions[:2]
('440100', '440400')
>>> cfg.synth.seed
42
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from scoring.exceptions import ConfigError
from scoring.geo import check_region_codes

__all__ = [
    "BankConfig",
    "CollectionConfig",
    "PathsConfig",
    "ProvinceConfig",
    "SynthConfig",
    "WorkbenchConfig",
    "default_config_path",
    "load_config",
]

T = TypeVar("T")

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def default_config_path() -> Path:
    """The configuration file in use: ``$SCORING_CONFIG`` or ``configs/workbench.toml``.

    Examples
    --------
    >>> default_config_path().name
    'workbench.toml'
    """
    env = os.environ.get("SCORING_CONFIG")
    return Path(env) if env else PROJECT_ROOT / "configs" / "workbench.toml"


class _Section:
    """Typed access to one TOML table, with errors that name file and key."""

    def __init__(self, data: Mapping[str, Any], *, path: Path, prefix: str) -> None:
        self._data = data
        self._path = path
        self._prefix = prefix

    def _fail(self, key: str, expected: str, got: object) -> ConfigError:
        return ConfigError(
            f"'{self._prefix}{key}' in {self._path} must be {expected}; got {got!r}."
        )

    def _get(self, key: str, default: object) -> object:
        if key in self._data:
            return self._data[key]
        if default is _REQUIRED:
            raise self._fail(key, "present", None)
        return default

    def section(self, key: str) -> _Section:
        value = self._get(key, {})
        if not isinstance(value, Mapping):
            raise self._fail(key, "a table", value)
        return _Section(value, path=self._path, prefix=f"{self._prefix}{key}.")

    def sections(self, key: str) -> list[_Section]:
        value = self._get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise self._fail(key, "an array of tables", value)
        return [
            _Section(v, path=self._path, prefix=f"{self._prefix}{key}[{i}].")
            for i, v in enumerate(value)
        ]

    def text(self, key: str, default: object = None) -> str:
        value = self._get(key, _REQUIRED if default is None else default)
        if not isinstance(value, str) or not value:
            raise self._fail(key, "a non-empty string", value)
        return value

    def integer(self, key: str, default: object = None, *, lo: int | None = None) -> int:
        value = self._get(key, _REQUIRED if default is None else default)
        if not isinstance(value, int) or isinstance(value, bool) or (lo is not None and value < lo):
            bound = f" >= {lo}" if lo is not None else ""
            raise self._fail(key, f"an integer{bound}", value)
        return value

    def number(
        self,
        key: str,
        default: object = None,
        *,
        lo: float | None = None,
        hi: float | None = None,
    ) -> float:
        value = self._get(key, _REQUIRED if default is None else default)
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and lo is not None and float(value) < lo:  # type: ignore[arg-type]
            ok = False
        if ok and hi is not None and float(value) > hi:  # type: ignore[arg-type]
            ok = False
        if not ok:
            rng = f" in [{lo}, {hi}]" if lo is not None or hi is not None else ""
            raise self._fail(key, f"a number{rng}", value)
        return float(value)  # type: ignore[arg-type]

    def flag(self, key: str, default: object = None) -> bool:
        value = self._get(key, _REQUIRED if default is None else default)
        if not isinstance(value, bool):
            raise self._fail(key, "true or false", value)
        return value

    def date(self, key: str, default: object = None) -> dt.date:
        value = self._get(key, _REQUIRED if default is None else default)
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        raise self._fail(key, "a date (YYYY-MM-DD)", value)

    def text_list(self, key: str, default: object = None) -> tuple[str, ...]:
        value = self._get(key, _REQUIRED if default is None else default)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._fail(key, "a list of strings", value)
        return tuple(value)

    def date_list(self, key: str) -> tuple[dt.date, ...]:
        value = self._get(key, _REQUIRED)
        if not isinstance(value, list) or not value:
            raise self._fail(key, "a non-empty list of dates", value)
        out = []
        for v in value:
            if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
                out.append(v)
            else:
                try:
                    out.append(dt.date.fromisoformat(str(v)))
                except ValueError:
                    raise self._fail(key, "a non-empty list of dates", value) from None
        return tuple(sorted(out))

    def path(self, key: str, root: Path) -> Path:
        p = Path(self.text(key))
        return p if p.is_absolute() else root / p

    def raw(self, key: str) -> object:
        return self._get(key, _REQUIRED)


_REQUIRED = object()


@dataclass(frozen=True, slots=True)
class PathsConfig:
    """Where data lives. ``raw`` is immutable input; everything else is derived."""

    raw: Path
    validated: Path
    curated: Path
    truth: Path
    quarantine: Path
    ratings: Path
    scored: Path
    marts: Path
    exports: Path
    reports: Path
    mlruns: Path
    disputes_db: Path


@dataclass(frozen=True, slots=True)
class ProvinceConfig:
    """The pilot: which regions, when, and which snapshot dates."""

    pilot_regions: tuple[str, ...]
    pilot_start: dt.date
    data_start: dt.date
    data_end: dt.date
    snapshots: tuple[dt.date, ...]
    outcome_months: int
    default_dpd: int


@dataclass(frozen=True, slots=True)
class SynthConfig:
    """The synthetic province: size, seed, planted effects and faults."""

    scale: float
    seed: int
    smes_per_scale: int
    households_per_scale: int
    faults: bool
    fault_rate: float
    effect_sme_access: float
    effect_sme_default: float
    effect_household_rated: float


@dataclass(frozen=True, slots=True)
class BankConfig:
    """A bank that may receive exports, with its permission level (1-3)."""

    code: str
    name_zh: str
    name_en: str
    permission_level: int


@dataclass(frozen=True, slots=True)
class CollectionConfig:
    """Rules applied while collecting records into credit files."""

    retention_years: int
    exclude_open_disputes: bool


@dataclass(frozen=True, slots=True)
class WorkbenchConfig:
    """The whole configuration, as loaded from one TOML file."""

    source: Path
    paths: PathsConfig
    province: ProvinceConfig
    synth: SynthConfig
    banks: tuple[BankConfig, ...]
    collection: CollectionConfig

    def with_root(self, root: str | Path) -> WorkbenchConfig:
        """A copy whose data paths are re-rooted under ``root`` (same relative layout).

        Examples
        --------
        >>> load_config().with_root("/tmp/x").paths.raw.as_posix()
        '/tmp/x/data/raw'
        """
        base = Path(root)
        here = self.source.resolve().parent
        old_root = here.parent if here.name == "configs" else here
        moved = {}
        for name in PathsConfig.__dataclass_fields__:
            old: Path = getattr(self.paths, name)
            try:
                moved[name] = base / old.relative_to(old_root)
            except ValueError:
                moved[name] = old
        return replace(self, paths=PathsConfig(**moved))

    def bank(self, code: str) -> BankConfig:
        """The bank with this code, or a ConfigError listing the known ones."""
        for b in self.banks:
            if b.code == code:
                return b
        known = ", ".join(b.code for b in self.banks)
        raise ConfigError(f"'bank' must be one of {known} (from {self.source}); got {code!r}.")


def _paths(s: _Section, root: Path) -> PathsConfig:
    return PathsConfig(**{name: s.path(name, root) for name in PathsConfig.__dataclass_fields__})


def _province(s: _Section) -> ProvinceConfig:
    pilots = s.text_list("pilot_regions")
    try:
        check_region_codes(pilots, what="province.pilot_regions")
    except Exception as exc:
        raise ConfigError(f"{exc} (in {s._path})") from None
    start, end = s.date("data_start"), s.date("data_end")
    if end <= start:
        raise s._fail("data_end", f"after data_start {start}", end)
    snaps = s.date_list("snapshots")
    bad = [d for d in snaps if not start <= d <= end]
    if bad:
        raise s._fail("snapshots", f"dates between {start} and {end}", [str(d) for d in bad])
    return ProvinceConfig(
        pilot_regions=pilots,
        pilot_start=s.date("pilot_start"),
        data_start=start,
        data_end=end,
        snapshots=snaps,
        outcome_months=s.integer("outcome_months", lo=1),
        default_dpd=s.integer("default_dpd", lo=1),
    )


def _synth(s: _Section) -> SynthConfig:
    return SynthConfig(
        scale=s.number("scale", lo=0.001),
        seed=s.integer("seed", lo=0),
        smes_per_scale=s.integer("smes_per_scale", lo=1),
        households_per_scale=s.integer("households_per_scale", lo=1),
        faults=s.flag("faults"),
        fault_rate=s.number("fault_rate", lo=0.0, hi=0.2),
        effect_sme_access=s.number("effect_sme_access", lo=-1.0, hi=1.0),
        effect_sme_default=s.number("effect_sme_default", lo=-1.0, hi=1.0),
        effect_household_rated=s.number("effect_household_rated", lo=-1.0, hi=1.0),
    )


def _banks(items: list[_Section]) -> tuple[BankConfig, ...]:
    banks = tuple(
        BankConfig(
            code=b.text("code"),
            name_zh=b.text("name_zh"),
            name_en=b.text("name_en"),
            permission_level=b.integer("permission_level", lo=1),
        )
        for b in items
    )
    for b, s in zip(banks, items, strict=True):
        if b.permission_level > 3:
            raise s._fail("permission_level", "1, 2 or 3", b.permission_level)
    return banks


def load_config(path: str | Path | None = None) -> WorkbenchConfig:
    """Load and validate the configuration.

    Parameters
    ----------
    path
        A TOML file; default :func:`default_config_path`.

    Examples
    --------
    >>> load_config().province.pilot_start.isoformat()
    '2012-09-01'
    """
    p = Path(path) if path is not None else default_config_path()
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"'config' must be a readable TOML file; got {str(p)!r} ({exc.strerror})."
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"'config' must be valid TOML; {p}: {exc}.") from None
    folder = p.resolve().parent
    root_dir = folder.parent if folder.name == "configs" else folder
    top = _Section(data, path=p, prefix="")
    coll = top.section("collection")
    return WorkbenchConfig(
        source=p,
        paths=_paths(top.section("paths"), root_dir),
        province=_province(top.section("province")),
        synth=_synth(top.section("synth")),
        banks=_banks(top.sections("banks")),
        collection=CollectionConfig(
            retention_years=coll.integer("retention_years", lo=1),
            exclude_open_disputes=coll.flag("exclude_open_disputes"),
        ),
    )
