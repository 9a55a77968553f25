"""Generate the whole province: every raw table, the data dictionary and the ground truth."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow.parquet as pq

from scoring import geo
from scoring.config import WorkbenchConfig
from scoring.exceptions import ConfigError
from scoring.progress import track
from scoring.schema import TABLES, data_dictionary_markdown
from scoring.storage import atomic_dir, write_json, write_text
from scoring.synth import (
    _admin,
    _courts,
    _credit,
    _entities,
    _faults,
    _household_records,
    _sme_records,
    _truth,
)
from scoring.synth._common import (
    Calendar,
    FloatArray,
    IntArray,
    date_series,
    sequence_ids,
    stream,
)
from scoring.synth._taxcodes import violation_indicators

__all__ = ["GenerationSummary", "build_segments", "generate_province"]

ID_PREFIX = {
    "tax_filings": "TF",
    "tax_violations": "TV",
    "loans": "LN",
    "loan_repayments": "RP",
    "social_insurance": "SI",
    "utility_payments": "UT",
    "court_enforcement": "CE",
    "admin_penalties": "AP",
    "agri_subsidies": "AS",
    "agri_insurance": "AI",
    "public_records": "PR",
    "consents": "CS",
    "disputes": "DS",
}


@dataclass(frozen=True, slots=True)
class GenerationSummary:
    """What :func:`generate_province` wrote.

    ``rows`` counts the rows of each raw table as written (faults included), ``faults``
    the rows of the fault manifest, ``ceiling`` the AUC of the true PD per segment
    (``"sme"``, ``"household"``, ``"overall"``) and ``default_rate`` the share of defaults
    among observable entity-snapshots per segment.

    Examples
    --------
    >>> s = GenerationSummary(out=Path("raw"), truth=Path("truth"), scale=1.0, seed=42,
    ...     faults_planted=False, smes=2, households=3, rows={"enterprises": 2,
    ...     "households": 3}, faults=0, seconds=0.1)
    >>> s.total_rows
    5
    """

    out: Path
    truth: Path
    scale: float
    seed: int
    faults_planted: bool
    smes: int
    households: int
    rows: dict[str, int]
    faults: int
    seconds: float
    ceiling: dict[str, float | None] = field(default_factory=dict)
    default_rate: dict[str, float | None] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        """Rows over all raw tables."""
        return sum(self.rows.values())


def _check(config: WorkbenchConfig, out: Path, truth: Path, scale: float, seed: int) -> Calendar:
    if not (isinstance(scale, int | float) and math.isfinite(scale) and scale > 0):
        raise ConfigError(f"'scale' must be a number > 0; got {scale!r}.")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"'seed' must be an integer >= 0; got {seed!r}.")
    a, b = out.resolve(), truth.resolve()
    if a == b or a in b.parents or b in a.parents:
        raise ConfigError(
            f"'truth' must be a folder apart from 'out' (neither inside the other); "
            f"got out={str(out)!r}, truth={str(truth)!r}."
        )
    p = config.province
    src = config.source
    if (p.data_start.month, p.data_start.day) != (1, 1):
        raise ConfigError(
            f"'province.data_start' in {src} must be a January 1 for the generator; "
            f"got {p.data_start}."
        )
    if (p.data_end.month, p.data_end.day) != (12, 31) or p.data_end.year <= p.data_start.year:
        raise ConfigError(
            f"'province.data_end' in {src} must be a December 31 of a later year than "
            f"data_start; got {p.data_end}."
        )
    bad = [str(d) for d in p.snapshots if (d.month, d.day) != (12, 31)]
    if bad:
        raise ConfigError(f"'province.snapshots' in {src} must be year ends; got {bad}.")
    if not p.data_start < p.pilot_start <= p.data_end or p.pilot_start.day != 1:
        raise ConfigError(
            f"'province.pilot_start' in {src} must be the first day of a month after "
            f"data_start and by data_end; got {p.pilot_start}."
        )
    s = config.synth
    if not 0.0 <= s.effect_household_rated <= _entities.REGISTERED_BEFORE_START:
        raise ConfigError(
            f"'synth.effect_household_rated' in {src} must be in "
            f"[0, {_entities.REGISTERED_BEFORE_START}]; got {s.effect_household_rated}."
        )
    if not config.banks:
        raise ConfigError(f"'banks' in {src} must list at least one bank; got none.")
    return Calendar(first_year=p.data_start.year, n_years=p.data_end.year - p.data_start.year + 1)


def _conform(name: str, df: pl.DataFrame) -> pl.DataFrame:
    """Exactly the schema's columns, in order, with the schema's types."""
    return df.select([pl.col(c.name).cast(c.dtype) for c in TABLES[name].columns])


BLOCK = 20_000
"""Entities per block of the large monthly tables: bounds memory at any scale."""


def _blocks(n: int) -> list[npt.NDArray[np.int64]]:
    return [np.arange(a, min(a + BLOCK, n), dtype=np.int64) for a in range(0, n, BLOCK)]


class _TableWriter:
    """Writes one table chunk by chunk: record ids, faults, Parquet row groups."""

    def __init__(self, run: _Run, name: str) -> None:
        self.run = run
        self.name = name
        self.table = TABLES[name]
        self.rows = 0
        self.originals = 0
        self.duplicates = 0
        self.chunks = 0
        self.schema = pl.DataFrame(schema=self.table.schema).to_arrow().schema
        self.writer = pq.ParquetWriter(run.out / f"{name}.parquet", self.schema, compression="zstd")

    def add(self, df: pl.DataFrame) -> pl.DataFrame:
        """Write one chunk; returns it with its ids, before faults (private columns kept)."""
        if self.name in ID_PREFIX:
            df = df.with_columns(
                sequence_ids(self.table.key, ID_PREFIX[self.name], self.originals + 1, df.height)
            )
        out = _conform(self.name, df)
        if self.run.faults:
            out, manifest = _faults.plant(
                self.name,
                out,
                rng=self.run.rng(f"faults:{self.name}:{self.chunks}"),
                rate=self.run.fault_rate,
                known=self.run.known,
                duplicate_ids_from=_faults.DUPLICATE_IDS_FROM + self.duplicates,
            )
            self.run.manifests.append(manifest)
            self.duplicates += out.height - df.height
        self.writer.write_table(out.to_arrow().cast(self.schema))
        self.rows += out.height
        self.originals += df.height
        self.chunks += 1
        return df

    def close(self) -> None:
        self.writer.close()
        self.run.rows[self.name] = self.rows


class _Run:
    """One generation: the shared state of the steps, written table by table."""

    def __init__(
        self,
        config: WorkbenchConfig,
        cal: Calendar,
        out: Path,
        truth: Path,
        *,
        scale: float,
        seed: int,
        faults: bool,
    ) -> None:
        self.config = config
        self.cal = cal
        self.out = out
        self.truth = truth
        self.seed = seed
        self.faults = faults
        self.fault_rate = config.synth.fault_rate
        self.n_sme = max(1, round(config.synth.smes_per_scale * scale))
        self.n_hh = max(1, round(config.synth.households_per_scale * scale))
        self.pilot = _entities.pilot_mask(config.province.pilot_regions)
        self.pilot_month = int(
            cal.month_of(np.array([config.province.pilot_start], dtype="datetime64[D]"))[0]
        )
        self.bank_codes = tuple(b.code for b in config.banks)
        self.rows: dict[str, int] = {}
        self.manifests: list[pl.DataFrame] = []
        self.dispute_sources: dict[str, list[pl.DataFrame]] = {}
        self.outcomes: dict[str, tuple[list[IntArray], list[IntArray]]] = {}
        self.fault_rows = 0
        self.ceiling: dict[str, Any] = {}
        self.indicators = violation_indicators(config.tax.deductions, source=str(config.source))

    # ----------------------------------------------------------------- helpers

    def rng(self, name: str) -> np.random.Generator:
        return stream(self.seed, name)

    def write(
        self,
        name: str,
        parts: Iterable[pl.DataFrame],
        *,
        keep: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
        disputable: Callable[[pl.DataFrame], pl.DataFrame] | None = None,
    ) -> list[pl.DataFrame]:
        """Write a table from its chunks (each with its record ids, before faults).

        ``keep`` selects what to return of each chunk; ``disputable`` selects the records
        a dispute may later name (``entity_type``, ``entity_id``, ``record_id``,
        ``record_date``).
        """
        writer = _TableWriter(self, name)
        kept: list[pl.DataFrame] = []
        candidates: list[pl.DataFrame] = []
        try:
            for part in parts:
                with_ids = writer.add(part)
                if keep is not None:
                    kept.append(keep(with_ids))
                if disputable is not None:
                    candidates.append(disputable(with_ids))
        finally:
            writer.close()
        if disputable is not None:
            self.dispute_sources[name] = candidates
        return kept

    # ----------------------------------------------------------------- steps

    def entities(self) -> None:
        geog, self.sme, self.hh = _build(
            self.config, self.cal, self.n_sme, self.n_hh, self.pilot_month, self.seed
        )
        self.known = _faults.KnownIds(
            credit_codes=np.sort(self.sme.ids.to_numpy().astype("S18")),
            city_codes=np.array(geog.city_codes),
            n_loans=0,
            id_prefix=ID_PREFIX,
        )
        self.write("enterprises", [self.sme.frame])
        self.write("households", [self.hh.frame])

    def credit(self) -> None:
        s = self.config.synth
        effects = _credit.PilotEffects(
            treated_region=self.pilot,
            pilot_month=self.pilot_month,
            access=s.effect_sme_access,
            default=s.effect_sme_default,
        )
        n_regions = len(geo.REGION_CODES)
        self.sme_book = _credit.simulate_credit(
            self.sme,
            self.cal,
            self.rng("credit:sme"),
            _credit.SME_CREDIT,
            n_banks=len(self.bank_codes),
            n_regions=n_regions,
            effects=effects,
        )
        self.hh_book = _credit.simulate_credit(
            self.hh,
            self.cal,
            self.rng("credit:household"),
            _credit.HOUSEHOLD_CREDIT,
            n_banks=len(self.bank_codes),
            n_regions=n_regions,
            effects=None,
        )
        established = self.sme.established
        assert established is not None
        parts = [
            _credit.loans_frame(self.sme_book, self.sme, self.cal, self.bank_codes).with_columns(
                date_series("_not_before", established[self.sme_book.entity])
            ),
            _credit.loans_frame(self.hh_book, self.hh, self.cal, self.bank_codes).with_columns(
                pl.lit(self.cal.start).alias("_not_before")
            ),
        ]
        self.known = _faults.KnownIds(
            credit_codes=self.known.credit_codes,
            city_codes=self.known.city_codes,
            n_loans=self.sme_book.n + self.hh_book.n,
            id_prefix=ID_PREFIX,
        )
        (self.loans,) = self.write(
            "loans",
            [pl.concat(parts)],
            keep=lambda df: df.select(
                "loan_id",
                "entity_type",
                "entity_id",
                "bank_code",
                "origination_date",
                "maturity_date",
                "_not_before",
            ),
        )

    def loan_repayments(self) -> None:
        loan_ids = self.loans.get_column("loan_id")

        def parts() -> Iterator[pl.DataFrame]:
            offset = 0
            for seg, book, params in (
                (self.sme, self.sme_book, _credit.SME_CREDIT),
                (self.hh, self.hh_book, _credit.HOUSEHOLD_CREDIT),
            ):
                observed: list[IntArray] = []
                defaulted: list[IntArray] = []
                for i, block in enumerate(_blocks(book.n)):
                    rep = _credit.repayments(
                        book, seg, self.cal, self.rng(f"repay:{seg.kind}:{i}"), params, block
                    )
                    obs, bad = _truth.outcome_pairs(book, rep.loan, rep.month, rep.dpd, self.cal)
                    observed.append(obs)
                    defaulted.append(bad)
                    yield rep.frame.with_columns(
                        loan_ids.gather(offset + rep.loan),
                        pl.Series("_cured", rep.cured),
                        pl.lit(seg.kind).alias("_type"),
                        seg.ids.gather(book.entity[rep.loan]).alias("_entity"),
                    )
                self.outcomes[seg.kind] = (observed, defaulted)
                offset += book.n

        self.write(
            "loan_repayments",
            parts(),
            disputable=lambda df: df.filter(pl.col("_cured")).select(
                pl.col("_type").alias("entity_type"),
                pl.col("_entity").alias("entity_id"),
                "record_id",
                pl.col("month").alias("record_date"),
            ),
        )

    def tax(self) -> None:
        self.write(
            "tax_filings",
            (
                _sme_records.tax_filings(part, self.cal, self.rng(f"tax_filings:{i}"), growth)
                for i, part, growth in self._sme_blocks()
            ),
        )
        df = _sme_records.tax_violations(
            self.sme, self.cal, self.rng("tax_violations"), self.indicators
        )
        self.write(
            "tax_violations",
            [df],
            disputable=lambda d: d.select(
                pl.lit("sme").alias("entity_type"),
                pl.col("credit_code").alias("entity_id"),
                "record_id",
                pl.col("event_date").alias("record_date"),
            ),
        )

    def _sme_blocks(self) -> Iterator[tuple[int, _entities.Segment, FloatArray]]:
        """SME blocks with their activity growth (the same in social insurance and power)."""
        for i, b in enumerate(_blocks(self.sme.n)):
            part = self.sme.subset(b)
            yield i, part, _sme_records.growth_path(part, self.cal, self.rng(f"growth:{i}"))

    def social_insurance(self) -> None:
        self.write(
            "social_insurance",
            (
                _sme_records.social_insurance(
                    part, self.cal, self.rng(f"social_insurance:{i}"), growth
                )
                for i, part, growth in self._sme_blocks()
            ),
        )

    def utility_payments(self) -> None:
        def parts() -> Iterator[pl.DataFrame]:
            for i, part, growth in self._sme_blocks():
                yield _sme_records.utilities(part, self.cal, self.rng(f"utility:sme:{i}"), growth)
            for i, b in enumerate(_blocks(self.hh.n)):
                yield _household_records.utilities(
                    self.hh.subset(b), self.cal, self.rng(f"utility:household:{i}")
                )

        self.write("utility_payments", parts())

    def court_enforcement(self) -> None:
        df = pl.concat(
            [
                _courts.court_enforcement(self.sme, self.sme_book, self.cal, self.rng("court:sme")),
                _courts.court_enforcement(
                    self.hh, self.hh_book, self.cal, self.rng("court:household")
                ),
            ]
        ).sort("filed_date", "entity_id", maintain_order=True)
        self.write(
            "court_enforcement",
            [_courts.with_case_numbers(df)],
            disputable=lambda d: d.select(
                "entity_type", "entity_id", "record_id", pl.col("filed_date").alias("record_date")
            ),
        )

    def admin_penalties(self) -> None:
        df = _sme_records.admin_penalties(self.sme, self.cal, self.rng("admin_penalties"))
        self.write(
            "admin_penalties",
            [df],
            disputable=lambda d: d.select(
                pl.lit("sme").alias("entity_type"),
                pl.col("credit_code").alias("entity_id"),
                "record_id",
                pl.col("decision_date").alias("record_date"),
            ),
        )

    def agriculture(self) -> None:
        hh = self.hh
        self.write(
            "agri_subsidies",
            [_household_records.agri_subsidies(hh, self.cal, self.rng("agri_subsidies"))],
        )
        self.write(
            "agri_insurance",
            [_household_records.agri_insurance(hh, self.cal, self.rng("agri_insurance"))],
        )
        self.write(
            "public_records",
            [_household_records.public_records(hh, self.cal, self.rng("public_records"))],
            disputable=lambda d: d.filter(
                ~pl.col("item_code").is_in(_household_records.PLUS_ITEMS)
            ).select(
                pl.lit("household").alias("entity_type"),
                pl.col("household_id").alias("entity_id"),
                "record_id",
                pl.col("event_date").alias("record_date"),
            ),
        )

    def consents_and_disputes(self) -> None:
        df = _admin.consents(
            self.loans,
            {"sme": self.sme, "household": self.hh},
            self.cal,
            self.rng("consents"),
            self.bank_codes,
        )
        self.write("consents", [df])
        sources = {k: pl.concat(v) for k, v in self.dispute_sources.items()}
        self.write("disputes", [_admin.disputes(sources, self.cal, self.rng("disputes"))])
        self.dispute_sources.clear()

    def ground_truth(self) -> None:
        p = self.config.province
        parts = []
        for seg, book, params in (
            (self.sme, self.sme_book, _credit.SME_CREDIT),
            (self.hh, self.hh_book, _credit.HOUSEHOLD_CREDIT),
        ):
            observed, defaulted = self.outcomes[seg.kind]
            parts.append(
                _truth.true_pd(
                    seg,
                    book,
                    params,
                    self.cal,
                    p.snapshots,
                    observed=np.unique(np.concatenate(observed)),
                    defaulted=np.unique(np.concatenate(defaulted)),
                )
            )
        truth = pl.concat(parts)
        truth.write_parquet(self.truth / "true_pd.parquet")
        self.ceiling = _truth.ceiling(truth)
        write_json(self.ceiling, self.truth / "ceiling.json")
        batch = self.hh.filed_by_pilot
        assert batch is not None
        batch_share = {
            geo.REGION_CODES[r]: float(batch[self.hh.region == r].mean())
            for r in np.flatnonzero(self.pilot)
            if (self.hh.region == r).any()
        }
        s = self.config.synth
        write_json(
            _truth.effects(
                sme_book=self.sme_book,
                sme=self.sme,
                households=self.hh,
                cal=self.cal,
                pilot=self.pilot,
                pilot_regions=p.pilot_regions,
                pilot_start=p.pilot_start,
                pilot_month=self.pilot_month,
                access=s.effect_sme_access,
                default=s.effect_sme_default,
                rated=s.effect_household_rated,
                batch_share=batch_share,
            ),
            self.truth / "effects.json",
        )
        manifest = pl.concat(self.manifests) if self.manifests else _faults.empty_manifest()
        manifest.write_parquet(self.truth / "faults.parquet")
        self.fault_rows = manifest.height
        write_text(_truth.README, self.truth / "README.md")
        write_text(data_dictionary_markdown(), self.out / "DICTIONARY.md")


def _build(
    config: WorkbenchConfig, cal: Calendar, n_sme: int, n_hh: int, pilot_month: int, seed: int
) -> tuple[_entities.Geography, _entities.Segment, _entities.Segment]:
    geog = _entities.build_geography(stream(seed, "geography"))
    sme = _entities.build_smes(stream(seed, "enterprises"), geog, cal, n_sme)
    hh = _entities.build_households(
        stream(seed, "households"),
        geog,
        cal,
        n_hh,
        pilot=_entities.pilot_mask(config.province.pilot_regions),
        pilot_month=pilot_month,
        effect_rated=config.synth.effect_household_rated,
    )
    return geog, sme, hh


def build_segments(
    config: WorkbenchConfig, *, scale: float, seed: int
) -> tuple[_entities.Segment, _entities.Segment]:
    """The SMEs and households of :func:`generate_province` (same config, scale, seed).

    Their ``latent`` and ``state`` arrays are what every record and every outcome of that
    run were drawn from; evaluation code and tests use them to check the ground truth.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> sme, hh = build_segments(load_config(), scale=0.01, seed=1)
    >>> sme.n, hh.n, hh.state.shape
    (200, 500, (500, 5))
    """
    cal = _check(config, Path("out"), Path("truth"), scale, seed)
    run = _Run(config, cal, Path("out"), Path("truth"), scale=scale, seed=seed, faults=False)
    _, sme, hh = _build(config, cal, run.n_sme, run.n_hh, run.pilot_month, seed)
    return sme, hh


def generate_province(
    config: WorkbenchConfig,
    *,
    out: Path,
    truth: Path,
    scale: float,
    seed: int,
    faults: bool,
) -> GenerationSummary:
    """Generate the synthetic province: raw tables under ``out``, ground truth under ``truth``.

    Writes one Parquet file per table of :data:`scoring.schema.TABLES` (exact columns,
    order and types) and ``DICTIONARY.md`` under ``out``; ``true_pd.parquet``,
    ``ceiling.json``, ``effects.json``, ``faults.parquet`` and ``README.md`` under
    ``truth``. Both folders are built under temporary names and moved into place at the
    end, so an interrupted run leaves the previous folders (or none) untouched.

    Parameters
    ----------
    config
        The workbench configuration: ``province`` (calendar, pilot regions and start,
        snapshots), ``synth`` (sizes per unit of scale, planted effects, fault rate),
        ``banks`` and the ``[[tax.deductions]]`` of its file.
    out, truth
        Destination folders; neither may lie inside the other.
    scale
        1.0 is ``synth.smes_per_scale`` SMEs and ``synth.households_per_scale`` households.
    seed
        Same seed, same bytes.
    faults
        Plant the faults of :mod:`scoring.synth._faults` at ``synth.fault_rate``.

    Returns
    -------
    GenerationSummary

    Raises
    ------
    ConfigError
        A bad scale or seed, overlapping folders, or a calendar the generator cannot use.

    Examples
    --------
    >>> import tempfile
    >>> from scoring.config import load_config
    >>> root = Path(tempfile.mkdtemp())
    >>> s = generate_province(load_config(), out=root / "raw", truth=root / "truth",
    ...                       scale=0.01, seed=1, faults=False)
    >>> s.smes, s.households, s.faults
    (200, 500, 0)
    >>> sorted(p.name for p in (root / "truth").iterdir())[:2]
    ['README.md', 'ceiling.json']
    """
    cal = _check(config, Path(out), Path(truth), scale, seed)
    t0 = time.perf_counter()
    with atomic_dir(out) as out_tmp, atomic_dir(truth) as truth_tmp:
        run = _Run(config, cal, out_tmp, truth_tmp, scale=scale, seed=seed, faults=faults)
        steps = (
            run.entities,
            run.credit,
            run.loan_repayments,
            run.tax,
            run.social_insurance,
            run.utility_payments,
            run.court_enforcement,
            run.admin_penalties,
            run.agriculture,
            run.consents_and_disputes,
            run.ground_truth,
        )
        for step in track(steps, description="Generating the province"):
            step()
    seg = run.ceiling["segments"]
    return GenerationSummary(
        out=Path(out),
        truth=Path(truth),
        scale=float(scale),
        seed=seed,
        faults_planted=faults,
        smes=run.n_sme,
        households=run.n_hh,
        rows={name: run.rows[name] for name in TABLES},
        faults=run.fault_rows,
        seconds=round(time.perf_counter() - t0, 3),
        ceiling={
            "sme": seg["sme"]["auc"],
            "household": seg["household"]["auc"],
            "overall": run.ceiling["overall"]["auc"],
        },
        default_rate={k: seg[k]["default_rate"] for k in ("sme", "household")},
    )
