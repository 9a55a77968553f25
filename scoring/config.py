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

import contextlib
import datetime as dt
import itertools
import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

from scoring.exceptions import ConfigError
from scoring.geo import check_region_codes
from scoring.schema import CONSENT_PURPOSES, PUBLIC_RECORD_ITEMS

__all__ = [
    "EXPORT_FIELDS",
    "BankConfig",
    "CollectionConfig",
    "DisputesConfig",
    "ExportsConfig",
    "GBMParams",
    "ListReason",
    "ListsConfig",
    "MartsConfig",
    "ModelConfig",
    "ModelGateConfig",
    "ModelSegmentConfig",
    "PathsConfig",
    "ProvinceConfig",
    "RuralConfig",
    "RuralIndicator",
    "RuralRecordItem",
    "ScorecardParams",
    "SynthConfig",
    "TaxConfig",
    "TaxDeduction",
    "WorkbenchConfig",
    "default_config_path",
    "environment",
    "load_config",
]

T = TypeVar("T")

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def environment(values: Mapping[str, str], *, keep_set: bool = False) -> Iterator[None]:
    """Set environment variables for the block, then restore what was there.

    ``keep_set``: a variable already set keeps its value (defaults only).

    Examples
    --------
    >>> os.environ.pop("SCORING_EXAMPLE", None)
    >>> with environment({"SCORING_EXAMPLE": "1"}):
    ...     os.environ["SCORING_EXAMPLE"]
    '1'
    >>> "SCORING_EXAMPLE" in os.environ
    False
    """
    names = [k for k in values if not (keep_set and k in os.environ)]
    saved = {k: os.environ.get(k) for k in names}
    try:
        for k in names:
            os.environ[k] = values[k]
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


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
            rng = (
                f" in [{lo}, {hi}]"
                if lo is not None and hi is not None
                else f" >= {lo}"
                if lo is not None
                else f" <= {hi}"
                if hi is not None
                else ""
            )
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


EXPORT_FIELDS = ("score", "grade", "pd", "reasons", "features")
"""Field groups a bank export can carry; ``[exports] level_N`` picks them per permission level."""


@dataclass(frozen=True, slots=True)
class ExportsConfig:
    """Bank exports: the field groups each permission level receives, and id hashing.

    ``fields_by_level[0]`` is level 1; each level includes every field of the one below.
    """

    fields_by_level: tuple[tuple[str, ...], ...] = (
        ("score", "grade"),
        ("score", "grade", "pd", "reasons"),
        ("score", "grade", "pd", "reasons", "features"),
    )
    default_purpose: str = "credit_approval"
    hash_entity_ids: bool = False
    hash_key_env: str = "SCORING_EXPORT_ID_KEY"
    sign_key_env: str = "SCORING_EXPORT_SIGN_KEY"
    """Prefix of the environment variables holding each bank's manifest signing key:
    ``<sign_key_env>_<BANK CODE>`` (e.g. ``SCORING_EXPORT_SIGN_KEY_ICBCGD``)."""

    def sign_key_name(self, bank: str) -> str:
        """The environment variable of ``bank``'s signing key.

        Examples
        --------
        >>> ExportsConfig().sign_key_name("ICBCGD")
        'SCORING_EXPORT_SIGN_KEY_ICBCGD'
        """
        return f"{self.sign_key_env}_{bank}"

    def fields(self, level: int) -> tuple[str, ...]:
        """The field groups of permission ``level`` (1-3).

        Examples
        --------
        >>> ExportsConfig().fields(1)
        ('score', 'grade')
        """
        if not 1 <= level <= len(self.fields_by_level):
            raise ConfigError(
                f"'permission_level' must be 1..{len(self.fields_by_level)}; got {level!r}."
            )
        return self.fields_by_level[level - 1]


@dataclass(frozen=True, slots=True)
class DisputesConfig:
    """Objection handling: the settlement limit and the store's lock timeout."""

    settle_within_days: int = 20
    busy_timeout_seconds: float = 10.0


@dataclass(frozen=True, slots=True)
class MartsConfig:
    """Dashboard marts: groups with fewer than ``min_group_size`` entities are suppressed."""

    min_group_size: int = 10


TAX_FILING_INDICATORS = ("LATE_FILING", "LATE_PAYMENT")
"""Tax indicators derived from ``tax_filings`` (``source = "filings"`` in the deduction table)."""


@dataclass(frozen=True, slots=True)
class TaxDeduction:
    """One row of the tax deduction table ``[[tax.deductions]]``.

    ``kind``: ``deduct`` takes ``points`` off, ``direct_d`` sets the grade to D,
    ``no_a`` bars grade A. ``per``: ``event`` counts each event, ``once`` at most one
    a year. ``source``: ``filings`` is derived from ``tax_filings`` (the codes of
    ``TAX_FILING_INDICATORS``), ``violations`` matches ``tax_violations.indicator_code``.
    """

    code: str
    name_zh: str
    name_en: str
    points: float
    per: Literal["event", "once"]
    kind: Literal["deduct", "direct_d", "no_a"]
    source: Literal["filings", "violations"]


@dataclass(frozen=True, slots=True)
class TaxConfig:
    """Tax credit rating (纳税信用评价): scores, grade bounds, A bars and D carry-over.

    A taxpayer with fewer than ``complete_filing_months`` monthly filings in the year
    counts as missing indicators and starts at ``start_score_incomplete``.

    Examples
    --------
    >>> load_config().tax.deduction("LATE_FILING").points
    5.0
    """

    start_score: float = 100.0
    start_score_incomplete: float = 90.0
    complete_filing_months: int = 12
    publication_month: int = 4
    grade_a_min: float = 90.0
    grade_b_min: float = 70.0
    grade_c_min: float = 40.0
    min_years_for_a: int = 3
    zero_declaration_run_no_a: int = 3
    zero_declaration_year_no_a: int = 6
    d_next_year_penalty: float = 11.0
    direct_d_years: int = 2
    deductions: tuple[TaxDeduction, ...] = ()

    def deduction(self, code: str) -> TaxDeduction:
        """The deduction table row with this indicator code."""
        for d in self.deductions:
            if d.code == code:
                return d
        known = ", ".join(d.code for d in self.deductions)
        raise ConfigError(f"'indicator_code' must be one of {known}; got {code!r}.")


@dataclass(frozen=True, slots=True)
class RuralIndicator:
    """One household indicator of ``[[rural.indicators]]``.

    Binned: ``edges`` e1 < ... < ek and ``points`` p0..pk score ``[-inf, e1)`` with p0,
    ``[e1, e2)`` with p1, ..., ``[ek, inf)`` with pk. Coded: ``categories`` and
    ``points`` of equal length; a value outside them scores 0.
    """

    code: str
    name_zh: str
    name_en: str
    block: Literal["basics", "finances", "credit"]
    feature: str
    points: tuple[float, ...]
    edges: tuple[float, ...] = ()
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RuralRecordItem:
    """A public-record item's points (plus or minus), each ``event`` or ``once``."""

    item: str
    name_zh: str
    name_en: str
    points: float
    per: Literal["event", "once"]


@dataclass(frozen=True, slots=True)
class RuralConfig:
    """Household ratings (信用户) and credit village / town / county thresholds.

    Examples
    --------
    >>> load_config().rural.village_min_credit_household_share
    0.7
    """

    grade_aaa_min: float = 80.0
    grade_aa_min: float = 70.0
    grade_a_min: float = 60.0
    max_points: float = 100.0
    record_years: int = 5
    arrears_dpd: int = 1
    npl_dpd: int = 90
    village_min_credit_household_share: float = 0.70
    village_min_clean_borrower_share: float = 0.85
    village_max_npl_ratio: float = 0.05
    village_max_npl_increase: float = 0.01
    town_min_credit_village_share: float = 0.50
    town_min_clean_borrower_share: float = 0.90
    town_max_npl_ratio: float = 0.05
    county_min_credit_village_share: float = 0.60
    indicators: tuple[RuralIndicator, ...] = ()
    records: tuple[RuralRecordItem, ...] = ()


@dataclass(frozen=True, slots=True)
class ListReason:
    """A reason for a red or black list entry and its publicity period in months."""

    code: str
    list: Literal["red", "black"]
    name_zh: str
    name_en: str
    months: int


@dataclass(frozen=True, slots=True)
class ListsConfig:
    """Joint reward and punishment lists (红名单 / 黑名单).

    Examples
    --------
    >>> load_config().lists.reason("SERIOUS_PENALTY").months
    36
    """

    red_excludes_black: bool = True
    tax_a_years: int = 3
    reasons: tuple[ListReason, ...] = ()

    def reason(self, code: str) -> ListReason | None:
        """The configured reason ``code``, or None when that reason is not listed."""
        for r in self.reasons:
            if r.code == code:
                return r
        return None


@dataclass(frozen=True, slots=True)
class ScorecardParams:
    """Scorecard settings of one segment, ``[model.<segment>.scorecard]``.

    Selection rules and the ridge penalty go to :class:`~scoring.scorecard.Scorecard`, the
    binning rules to its :class:`~scoring.binning.WoEBinner`; ``max_n_bins = 0`` means no limit.
    """

    min_iv: float = 0.005
    max_correlation: float = 0.7
    max_vif: float = 5.0
    l2: float = 1.0
    max_n_bins: int = 6
    min_bin_share: float = 0.02
    min_bad_count: int = 5
    min_good_count: int = 5


@dataclass(frozen=True, slots=True)
class GBMParams:
    """ML challenger settings of one segment, ``[model.<segment>.gbm]``.

    Passed to :class:`~scoring.challenger.GBMChallenger`; ``n_splits`` and
    ``min_child_samples`` take an integer or ``"auto"``.
    """

    calibration: str = "sigmoid"
    n_splits: int | str = "auto"
    learning_rate: float = 0.05
    max_rounds: int = 2000
    early_stopping_rounds: int = 100
    num_leaves: int = 7
    min_child_samples: int | str = "auto"
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    reg_lambda: float = 5.0


@dataclass(frozen=True, slots=True)
class ModelSegmentConfig:
    """Model settings of one segment: both model types and the master-scale PD limits.

    ``pd_bounds`` empty: the default limits of :func:`scoring.grades.default_pd_bounds`.
    """

    scorecard: ScorecardParams = ScorecardParams()
    gbm: GBMParams = GBMParams()
    pd_bounds: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class ModelGateConfig:
    """The promotion gate, ``[model.gate]``: what a challenger must show to become champion.

    Its out-of-time AUC beats the champion's by ``min_auc_gain``; its score PSI from training
    to out-of-time stays at most ``max_psi``; in at least ``calibration_min_share`` of the
    grades holding ``calibration_min_count`` or more out-of-time rows, the grade PD lies in the
    ``calibration_confidence`` interval of the observed default rate; and no coefficient sign
    or monotone constraint contradicts a feature's expected direction.
    """

    min_auc_gain: float = 0.005
    max_psi: float = 0.25
    calibration_confidence: float = 0.99
    calibration_min_count: int = 50
    calibration_min_share: float = 0.75


@dataclass(frozen=True, slots=True)
class ModelConfig:
    """Training, evaluation and promotion of the credit models, ``[model]``.

    Training uses the observable rows of the credit files: ``train_snapshots`` rows, of which
    a random ``test_share`` (drawn with ``seed``) is held out as the test split, and the
    ``oot_snapshots`` rows as the out-of-time split. Without a ``[model]`` table the last
    province snapshot is out-of-time and the earlier ones train.

    Examples
    --------
    >>> m = load_config().model
    >>> [d.year for d in m.oot_snapshots], m.segment("sme").scorecard.min_iv
    ([2013], 0.005)
    """

    train_snapshots: tuple[dt.date, ...] = ()
    oot_snapshots: tuple[dt.date, ...] = ()
    test_share: float = 0.25
    seed: int = 42
    region_min_count: int = 50
    base_points: float = 600.0
    base_odds: float = 50.0
    pdo: float = 20.0
    gate: ModelGateConfig = ModelGateConfig()
    sme: ModelSegmentConfig = ModelSegmentConfig()
    household: ModelSegmentConfig = ModelSegmentConfig()

    def segment(self, name: str) -> ModelSegmentConfig:
        """The settings of segment ``name`` (``sme`` or ``household``)."""
        if name == "sme":
            return self.sme
        if name == "household":
            return self.household
        raise ConfigError(f"'segment' must be one of sme, household; got {name!r}.")


@dataclass(frozen=True, slots=True)
class WorkbenchConfig:
    """The whole configuration, as loaded from one TOML file."""

    source: Path
    paths: PathsConfig
    province: ProvinceConfig
    synth: SynthConfig
    banks: tuple[BankConfig, ...]
    collection: CollectionConfig
    exports: ExportsConfig = ExportsConfig()
    disputes: DisputesConfig = DisputesConfig()
    tax: TaxConfig = TaxConfig()
    rural: RuralConfig = RuralConfig()
    lists: ListsConfig = ListsConfig()
    marts: MartsConfig = MartsConfig()
    model: ModelConfig = ModelConfig()
    root: Path | None = None
    """The folder relative paths were resolved against, once :meth:`with_root` moved them
    (None: the project folder of ``source``)."""

    def with_root(self, root: str | Path) -> WorkbenchConfig:
        """A copy whose data paths are re-rooted under ``root`` (same relative layout).

        Paths outside the current root (absolute in the TOML file) stay where they are.

        Examples
        --------
        >>> load_config().with_root("/tmp/x").paths.raw.as_posix()
        '/tmp/x/data/raw'
        >>> load_config().with_root("/tmp/x").with_root("/tmp/y").paths.raw.as_posix()
        '/tmp/y/data/raw'
        """
        base = Path(root)
        if self.root is not None:
            old_root = self.root
        else:
            here = self.source.resolve().parent
            old_root = here.parent if here.name == "configs" else here
        moved = {}
        for name in PathsConfig.__dataclass_fields__:
            old: Path = getattr(self.paths, name)
            try:
                moved[name] = base / old.relative_to(old_root)
            except ValueError:
                moved[name] = old
        return replace(self, paths=PathsConfig(**moved), root=base)

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


def _exports(s: _Section) -> ExportsConfig:
    d = ExportsConfig()
    levels: list[tuple[str, ...]] = []
    for i, default in enumerate(d.fields_by_level, start=1):
        key = f"level_{i}"
        fields = s.text_list(key, list(default))
        unknown = [f for f in fields if f not in EXPORT_FIELDS]
        if unknown or not fields:
            raise s._fail(key, f"a non-empty list of {', '.join(EXPORT_FIELDS)}", fields)
        if levels and not set(levels[-1]) <= set(fields):
            raise s._fail(key, f"a superset of level_{i - 1} {list(levels[-1])}", fields)
        levels.append(fields)
    purpose = s.text("default_purpose", d.default_purpose)
    if purpose not in CONSENT_PURPOSES:
        raise s._fail("default_purpose", f"one of {', '.join(CONSENT_PURPOSES)}", purpose)
    return ExportsConfig(
        fields_by_level=tuple(levels),
        default_purpose=purpose,
        hash_entity_ids=s.flag("hash_entity_ids", d.hash_entity_ids),
        hash_key_env=s.text("hash_key_env", d.hash_key_env),
        sign_key_env=s.text("sign_key_env", d.sign_key_env),
    )


def _disputes(s: _Section) -> DisputesConfig:
    d = DisputesConfig()
    return DisputesConfig(
        settle_within_days=s.integer("settle_within_days", d.settle_within_days, lo=1),
        busy_timeout_seconds=s.number("busy_timeout_seconds", d.busy_timeout_seconds, lo=0.0),
    )


def _number_list(s: _Section, key: str, *, default: object = None) -> tuple[float, ...]:
    value = s._get(key, _REQUIRED if default is None else default)
    if not isinstance(value, list) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    ):
        raise s._fail(key, "a list of numbers", value)
    return tuple(float(v) for v in value)


def _choice(s: _Section, key: str, choices: tuple[str, ...], default: object = None) -> str:
    value = s.text(key, default)
    if value not in choices:
        raise s._fail(key, f"one of {', '.join(choices)}", value)
    return value


def _unique_codes(items: list[_Section], codes: list[str], key: str) -> None:
    seen: set[str] = set()
    for s, code in zip(items, codes, strict=True):
        if code in seen:
            raise s._fail(key, "unique in its table", code)
        seen.add(code)


def _tax(s: _Section) -> TaxConfig:
    d = TaxConfig()
    items = s.sections("deductions")
    rows = []
    for r in items:
        source = _choice(r, "source", ("filings", "violations"))
        code = r.text("code")
        if source == "filings" and code not in TAX_FILING_INDICATORS:
            known = ", ".join(TAX_FILING_INDICATORS)
            raise r._fail("code", f"one of {known} for source filings", code)
        rows.append(
            TaxDeduction(
                code=code,
                name_zh=r.text("name_zh"),
                name_en=r.text("name_en"),
                points=r.number("points", lo=0.0),
                per=_choice(r, "per", ("event", "once")),  # type: ignore[arg-type]
                kind=_choice(r, "kind", ("deduct", "direct_d", "no_a")),  # type: ignore[arg-type]
                source=source,  # type: ignore[arg-type]
            )
        )
    _unique_codes(items, [r.code for r in rows], "code")
    cfg = TaxConfig(
        start_score=s.number("start_score", d.start_score, lo=0.0),
        start_score_incomplete=s.number("start_score_incomplete", d.start_score_incomplete, lo=0.0),
        complete_filing_months=s.integer("complete_filing_months", d.complete_filing_months, lo=0),
        publication_month=s.integer("publication_month", d.publication_month, lo=1),
        grade_a_min=s.number("grade_a_min", d.grade_a_min),
        grade_b_min=s.number("grade_b_min", d.grade_b_min),
        grade_c_min=s.number("grade_c_min", d.grade_c_min),
        min_years_for_a=s.integer("min_years_for_a", d.min_years_for_a, lo=0),
        zero_declaration_run_no_a=s.integer(
            "zero_declaration_run_no_a", d.zero_declaration_run_no_a, lo=1
        ),
        zero_declaration_year_no_a=s.integer(
            "zero_declaration_year_no_a", d.zero_declaration_year_no_a, lo=1
        ),
        d_next_year_penalty=s.number("d_next_year_penalty", d.d_next_year_penalty, lo=0.0),
        direct_d_years=s.integer("direct_d_years", d.direct_d_years, lo=1),
        deductions=tuple(rows),
    )
    if cfg.complete_filing_months > 12:
        raise s._fail("complete_filing_months", "an integer in [0, 12]", cfg.complete_filing_months)
    if cfg.publication_month > 12:
        raise s._fail("publication_month", "a month 1..12", cfg.publication_month)
    if not cfg.grade_a_min > cfg.grade_b_min > cfg.grade_c_min:
        raise s._fail("grade_a_min", "above grade_b_min, itself above grade_c_min", cfg.grade_a_min)
    return cfg


def _rural(s: _Section) -> RuralConfig:
    d = RuralConfig()
    items = s.sections("indicators")
    indicators = []
    for r in items:
        points = _number_list(r, "points")
        edges = _number_list(r, "edges", default=[])
        categories = r.text_list("categories", [])
        if categories and edges:
            raise r._fail("edges", "absent when categories are given", list(edges))
        if categories and len(points) != len(categories):
            raise r._fail("points", f"{len(categories)} numbers, one per category", list(points))
        if not categories and len(points) != len(edges) + 1:
            raise r._fail("points", f"{len(edges) + 1} numbers, one more than edges", list(points))
        if any(b <= a for a, b in itertools.pairwise(edges)):
            raise r._fail("edges", "strictly increasing", list(edges))
        indicators.append(
            RuralIndicator(
                code=r.text("code"),
                name_zh=r.text("name_zh"),
                name_en=r.text("name_en"),
                block=_choice(r, "block", ("basics", "finances", "credit")),  # type: ignore[arg-type]
                feature=r.text("feature"),
                points=points,
                edges=edges,
                categories=categories,
            )
        )
    _unique_codes(items, [i.code for i in indicators], "code")
    rec_items = s.sections("records")
    records = tuple(
        RuralRecordItem(
            item=_choice(r, "item", PUBLIC_RECORD_ITEMS),
            name_zh=r.text("name_zh"),
            name_en=r.text("name_en"),
            points=r.number("points"),
            per=_choice(r, "per", ("event", "once")),  # type: ignore[arg-type]
        )
        for r in rec_items
    )
    _unique_codes(rec_items, [r.item for r in records], "item")

    def share(key: str) -> float:
        return s.number(key, getattr(d, key), lo=0.0, hi=1.0)

    cfg = RuralConfig(
        grade_aaa_min=s.number("grade_aaa_min", d.grade_aaa_min),
        grade_aa_min=s.number("grade_aa_min", d.grade_aa_min),
        grade_a_min=s.number("grade_a_min", d.grade_a_min),
        max_points=s.number("max_points", d.max_points, lo=1.0),
        record_years=s.integer("record_years", d.record_years, lo=1),
        arrears_dpd=s.integer("arrears_dpd", d.arrears_dpd, lo=1),
        npl_dpd=s.integer("npl_dpd", d.npl_dpd, lo=1),
        village_min_credit_household_share=share("village_min_credit_household_share"),
        village_min_clean_borrower_share=share("village_min_clean_borrower_share"),
        village_max_npl_ratio=share("village_max_npl_ratio"),
        village_max_npl_increase=share("village_max_npl_increase"),
        town_min_credit_village_share=share("town_min_credit_village_share"),
        town_min_clean_borrower_share=share("town_min_clean_borrower_share"),
        town_max_npl_ratio=share("town_max_npl_ratio"),
        county_min_credit_village_share=share("county_min_credit_village_share"),
        indicators=tuple(indicators),
        records=records,
    )
    if not cfg.grade_aaa_min > cfg.grade_aa_min > cfg.grade_a_min:
        raise s._fail(
            "grade_aaa_min", "above grade_aa_min, itself above grade_a_min", cfg.grade_aaa_min
        )
    return cfg


def _lists(s: _Section) -> ListsConfig:
    d = ListsConfig()
    items = s.sections("reasons")
    reasons = tuple(
        ListReason(
            code=r.text("code"),
            list=_choice(r, "list", ("red", "black")),  # type: ignore[arg-type]
            name_zh=r.text("name_zh"),
            name_en=r.text("name_en"),
            months=r.integer("months", lo=1),
        )
        for r in items
    )
    _unique_codes(items, [r.code for r in reasons], "code")
    return ListsConfig(
        red_excludes_black=s.flag("red_excludes_black", d.red_excludes_black),
        tax_a_years=s.integer("tax_a_years", d.tax_a_years, lo=1),
        reasons=reasons,
    )


def _auto_or_int(s: _Section, key: str, default: int | str) -> int | str:
    value = s._get(key, default)
    if value == "auto" or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        return value
    raise s._fail(key, 'a positive integer or "auto"', value)


def _model_segment(s: _Section) -> ModelSegmentConfig:
    sc, gb = s.section("scorecard"), s.section("gbm")
    d, g = ScorecardParams(), GBMParams()
    scorecard = ScorecardParams(
        min_iv=sc.number("min_iv", d.min_iv, lo=0.0),
        max_correlation=sc.number("max_correlation", d.max_correlation, lo=0.0, hi=1.0),
        max_vif=sc.number("max_vif", d.max_vif, lo=1.0),
        l2=sc.number("l2", d.l2, lo=0.0),
        max_n_bins=sc.integer("max_n_bins", d.max_n_bins, lo=0),
        min_bin_share=sc.number("min_bin_share", d.min_bin_share, lo=0.0, hi=0.5),
        min_bad_count=sc.integer("min_bad_count", d.min_bad_count, lo=0),
        min_good_count=sc.integer("min_good_count", d.min_good_count, lo=0),
    )
    gbm = GBMParams(
        calibration=_choice(gb, "calibration", ("sigmoid", "isotonic", "none"), g.calibration),
        n_splits=_auto_or_int(gb, "n_splits", g.n_splits),
        learning_rate=gb.number("learning_rate", g.learning_rate, lo=1e-6, hi=1.0),
        max_rounds=gb.integer("max_rounds", g.max_rounds, lo=1),
        early_stopping_rounds=gb.integer("early_stopping_rounds", g.early_stopping_rounds, lo=1),
        num_leaves=gb.integer("num_leaves", g.num_leaves, lo=2),
        min_child_samples=_auto_or_int(gb, "min_child_samples", g.min_child_samples),
        subsample=gb.number("subsample", g.subsample, lo=0.01, hi=1.0),
        colsample_bytree=gb.number("colsample_bytree", g.colsample_bytree, lo=0.01, hi=1.0),
        reg_lambda=gb.number("reg_lambda", g.reg_lambda, lo=0.0),
    )
    bounds = _number_list(s, "pd_bounds", default=[])
    if bounds and not all(0 < a < b < 1 for a, b in itertools.pairwise((0.0, *bounds, 1.0))):
        raise s._fail("pd_bounds", "strictly increasing PDs in (0, 1)", list(bounds))
    return ModelSegmentConfig(scorecard=scorecard, gbm=gbm, pd_bounds=bounds)


def _model(s: _Section, province: ProvinceConfig) -> ModelConfig:
    d, gd = ModelConfig(), ModelGateConfig()
    snaps = province.snapshots
    train = s.date_list("train_snapshots") if "train_snapshots" in s._data else snaps[:-1]
    oot = s.date_list("oot_snapshots") if "oot_snapshots" in s._data else snaps[-1:]
    for key, dates in (("train_snapshots", train), ("oot_snapshots", oot)):
        unknown = [str(x) for x in dates if x not in snaps]
        if unknown or not dates:
            known = ", ".join(str(x) for x in snaps)
            raise s._fail(key, f"a non-empty list of province.snapshots ({known})", unknown)
    if max(train) >= min(oot):
        raise s._fail("oot_snapshots", f"dates after every train snapshot ({max(train)})", oot)
    g = s.section("gate")
    gate = ModelGateConfig(
        min_auc_gain=g.number("min_auc_gain", gd.min_auc_gain, lo=-1.0, hi=1.0),
        max_psi=g.number("max_psi", gd.max_psi, lo=0.0),
        calibration_confidence=g.number(
            "calibration_confidence", gd.calibration_confidence, lo=0.5, hi=0.9999
        ),
        calibration_min_count=g.integer("calibration_min_count", gd.calibration_min_count, lo=1),
        calibration_min_share=g.number(
            "calibration_min_share", gd.calibration_min_share, lo=0.0, hi=1.0
        ),
    )
    return ModelConfig(
        train_snapshots=train,
        oot_snapshots=oot,
        test_share=s.number("test_share", d.test_share, lo=0.01, hi=0.9),
        seed=s.integer("seed", d.seed, lo=0),
        region_min_count=s.integer("region_min_count", d.region_min_count, lo=1),
        base_points=s.number("base_points", d.base_points, lo=1.0),
        base_odds=s.number("base_odds", d.base_odds, lo=1e-6),
        pdo=s.number("pdo", d.pdo, lo=1e-6),
        gate=gate,
        sme=_model_segment(s.section("sme")),
        household=_model_segment(s.section("household")),
    )


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
    province = _province(top.section("province"))
    return WorkbenchConfig(
        source=p,
        paths=_paths(top.section("paths"), root_dir),
        province=province,
        synth=_synth(top.section("synth")),
        banks=_banks(top.sections("banks")),
        collection=CollectionConfig(
            retention_years=coll.integer("retention_years", lo=1),
            exclude_open_disputes=coll.flag("exclude_open_disputes"),
        ),
        exports=_exports(top.section("exports")),
        disputes=_disputes(top.section("disputes")),
        tax=_tax(top.section("tax")),
        rural=_rural(top.section("rural")),
        lists=_lists(top.section("lists")),
        marts=MartsConfig(min_group_size=top.section("marts").integer("min_group_size", 10, lo=1)),
        model=_model(top.section("model"), province),
    )
