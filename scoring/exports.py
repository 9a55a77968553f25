"""Bank exports: scored entities a bank may see, as Parquet + CSV with a checksummed manifest.

Input contract (written by ``scoring score``, the model lifecycle): one scored table per segment
and as-of date at ``paths.scored/<segment>/<as_of YYYY-MM-DD>.parquet`` with the columns

================================  ==========  ===============================================
``entity_id``                     String      SME: credit code; household: ``household_id``
``segment``                       String      ``sme`` or ``household``
``as_of``                         Date        the snapshot (data as-of) date
``region_code``                   String      GB/T 2260 code (not exported)
``score``                         Int32       scorecard points
``grade``                         String      master-scale grade
``pd``                            Float64     probability of default, in [0, 1]
``reason_{1,2,3}_code|_zh|_en``   String      top-3 reasons (null when fewer)
``model_name``, ``model_version``, ``run_id``  String   the MLflow model that scored
================================  ==========  ===============================================

one row per entity, one model per file.

:func:`export_scores` keeps the entities with a consent valid on the as-of date for that bank
and purpose (:mod:`scoring.consent`), and writes the fields of the bank's permission level
(``[exports] level_N``; level 3 adds the credit-file features of that snapshot, read from
``paths.curated/<segment>_credit_files.parquet`` (the rows with ``snapshot_date`` = as-of),
every model feature of ``scoring.features.feature_names``, named ``feature_<name>``).
Every row carries ``under_dispute`` (an objection open at the end of the as-of date in the
dispute store, :mod:`scoring.disputes`) and the ``consent_id`` it relies on. Negative records
older than ``collection.retention_years`` were already left out when the credit files were
collected; the manifest says so.

The scored table is streamed in entity-id order (``batch_rows`` rows at a time, as
``scoring score`` writes it; a table in another order is sorted in memory first), so a
10-million-entity export needs memory for the entity ids and one batch, not the whole table.

Output: ``paths.exports/<bank>/<segment>/<as_of>/<export_id>/`` with ``scores.parquet``,
``scores.csv`` (UTF-8 with a byte-order mark, so Excel shows Chinese) and ``manifest.json``.
The folder is built as ``.tmp-<export_id>`` next to its final place, flushed to disk and renamed
in one step: a reader sees a complete export or none, an interrupted export leaves only a
hidden ``.tmp-*`` folder (removed by a later export once a day old), and an existing export is
never replaced (ids are unique: UTC time plus 8 random hex digits).

Entity ids: households are exported by ``household_id``, never by the head's resident id number
or name; a guard refuses to write an export in which any text cell is a resident id number (or,
when the households table is available, a head's id number or name). With
``[exports] hash_entity_ids = true`` (or ``hash_ids=True``) ids are exported as
``HMAC-SHA256(key, id)`` in hex, the key taken from the environment variable named by
``[exports] hash_key_env`` (default ``SCORING_EXPORT_ID_KEY``, at least 16 characters); the bank
holding the same key computes the same digests for its customers' ids.

:func:`verify_export` recomputes the checksums, row counts and schema from the manifest.

Signature: when the environment variable ``<[exports] sign_key_env>_<BANK>`` (default
``SCORING_EXPORT_SIGN_KEY_<BANK>``, at least 16 characters) holds a key shared with that bank,
the folder also holds ``manifest.sig``: the HMAC-SHA256 of the bytes of ``manifest.json`` in
hex. The manifest lists every file's SHA-256, so a valid signature vouches for the whole
export; the bank checks it with the same key (``scoring export verify --require-signature``,
or ``openssl dgst -sha256 -hmac "$KEY" manifest.json``).

Examples
--------
>>> from scoring.config import load_config
>>> export_columns(("score", "grade"))[:5]
('entity_id', 'segment', 'as_of', 'score', 'grade')
>>> scored_path(load_config(), segment="sme", as_of=dt.date(2013, 12, 31)).name
'2013-12-31.parquet'
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import polars as pl

from scoring.codes import resident_id_valid_expr
from scoring.config import WorkbenchConfig
from scoring.consent import (
    EXCLUSION_REASONS,
    EXPORTED,
    REASON_COLUMNS,
    classify_entities,
    export_columns,
    permitted_fields,
)
from scoring.disputes import DisputeStore
from scoring.exceptions import (
    ConfigError,
    DataError,
    InputFileError,
    SchemaError,
    VerificationFailed,
)
from scoring.features import feature_names
from scoring.progress import track
from scoring.schema import CONSENT_PURPOSES, ENTITY_TYPES, TABLES
from scoring.storage import find_table, parquet_batches, scan_table

__all__ = [
    "BATCH_ROWS",
    "CSV_NAME",
    "EXPORT_SCHEMA_VERSION",
    "MANIFEST_NAME",
    "PARQUET_NAME",
    "SCORED_SCHEMA",
    "SIGNATURE_NAME",
    "TEMP_PREFIX",
    "ExportResult",
    "VerifyReport",
    "export_columns",
    "export_scores",
    "manifest_signature",
    "scored_path",
    "signing_key",
    "verify_export",
]

EXPORT_SCHEMA_VERSION = 1
"""Version of the export layout (files, manifest keys, column types); bumped on any change."""
PARQUET_NAME = "scores.parquet"
CSV_NAME = "scores.csv"
MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.sig"
BATCH_ROWS = 500_000
"""Scored rows exported at a time by default."""
TEMP_PREFIX = ".tmp-"
"""Prefix of an export folder still being written (hidden; never a complete export)."""
_PAUSE_ENV = "SCORING_TEST_EXPORT_PAUSE"
# Testing hook: seconds to sleep after each file written into the temporary folder, so a test
# can kill a real export half-way. Unset in normal use.

SCORED_SCHEMA: dict[str, pl.DataType] = {
    "entity_id": pl.String(),
    "segment": pl.String(),
    "as_of": pl.Date(),
    "region_code": pl.String(),
    "score": pl.Int32(),
    "grade": pl.String(),
    "pd": pl.Float64(),
    **{c: pl.String() for c in REASON_COLUMNS},
    "model_name": pl.String(),
    "model_version": pl.String(),
    "run_id": pl.String(),
}
"""Columns and types of a scored table (the contract with ``scoring score``)."""

_FIXED_TYPES: dict[str, pl.DataType] = {
    **{k: v for k, v in SCORED_SCHEMA.items() if k != "region_code"},
    "under_dispute": pl.Boolean(),
    "consent_id": pl.String(),
}
_ID_KIND = {"sme": "unified social credit code", "household": "household id"}
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What :func:`export_scores` wrote."""

    path: Path
    export_id: str
    rows_exported: int
    excluded: Mapping[str, int]
    manifest: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of :func:`verify_export`; ``problems`` is empty when the export is intact."""

    path: Path
    export_id: str | None
    rows: int | None
    files_checked: tuple[str, ...]
    problems: tuple[str, ...]
    signature: str = "unsigned"
    """``valid``, ``unsigned`` (no ``manifest.sig``), ``unchecked`` (signed, but no key was
    at hand) or ``invalid``."""

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems


def scored_path(config: WorkbenchConfig, *, segment: str, as_of: dt.date) -> Path:
    """The scored table of ``segment`` on ``as_of`` (see the module docstring).

    Examples
    --------
    >>> from scoring.config import load_config
    >>> scored_path(load_config(), segment="household", as_of=dt.date(2013, 12, 31)).parent.name
    'household'
    """
    return config.paths.scored / segment / f"{as_of.isoformat()}.parquet"


def _credit_file_path(config: WorkbenchConfig, *, segment: str) -> Path:
    # scoring.collect writes one file per segment, one row per entity per snapshot_date.
    return config.paths.curated / f"{segment}_credit_files.parquet"


# -- reading and checking the inputs -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Scored:
    """A checked scored table: read lazily, batch by batch, in entity-id order."""

    path: Path
    lazy: pl.LazyFrame
    rows: int
    model: dict[str, Any]
    in_id_order: bool

    def batches(self, batch_rows: int) -> Iterator[pl.DataFrame]:
        """``batch_rows`` rows at a time, sorted by entity id; at least one (maybe empty)."""
        if not self.in_id_order:  # not as `scoring score` writes it: sorted in memory
            whole = self.lazy.sort("entity_id").collect()
            yield from whole.iter_slices(batch_rows) if whole.height else iter([whole])
            return
        import pyarrow.parquet as pq

        casts = self.lazy.collect_schema()
        seen = False
        source = pq.ParquetFile(self.path)
        for arrow in source.iter_batches(batch_size=batch_rows, columns=list(SCORED_SCHEMA)):
            frame = pl.from_arrow(arrow)
            assert isinstance(frame, pl.DataFrame)
            seen = True
            yield frame.lazy().select(casts.names()).cast(casts).collect()
        if not seen:
            yield pl.DataFrame(schema=casts)


def _read_scored(path: Path, *, segment: str, as_of: dt.date) -> _Scored:
    if not path.is_file():
        raise InputFileError(
            f"'{path}' must exist: the {segment} scores on {as_of} (run `scoring score "
            f"--segment {segment} --as-of {as_of}` first)."
        )
    lf = scan_table(path)
    schema = lf.collect_schema()
    missing = [c for c in SCORED_SCHEMA if c not in schema]
    if missing:
        raise SchemaError(f"'{path}' must have the columns {missing}; got {list(schema)}.")
    casts = []
    for name, dtype in SCORED_SCHEMA.items():
        got = schema[name]
        if name == "score" and got.is_integer():
            casts.append(pl.col(name).cast(pl.Int32, strict=True))
        elif got == dtype or got == pl.Null():
            casts.append(pl.col(name).cast(dtype))
        else:
            raise SchemaError(f"'{path}' column {name!r} must be of type {dtype}; got {got}.")
    lazy = lf.select(casts)
    # checked on the whole table, reading only the columns each check needs
    eid, pd_ = pl.col("entity_id"), pl.col("pd")
    checks = lazy.select(
        (eid.null_count() > 0) | (eid.n_unique() != pl.len()),
        (pl.col("segment") != segment).any() | (pl.col("segment").null_count() > 0),
        (pl.col("as_of") != as_of).any() | (pl.col("as_of").null_count() > 0),
        pd_.is_nan().any() | ((pd_ < 0) | (pd_ > 1)).any() | (pd_.null_count() > 0),
        (pl.col("score").null_count() > 0) | (pl.col("grade").null_count() > 0),
        (eid > eid.shift(1)).all().alias("in_id_order"),
        pl.len().alias("rows"),
    ).collect()
    flags = checks.row(0)
    names = (
        "entity_id must be non-null and unique",
        f"segment must be {segment!r} on every row",
        f"as_of must be {as_of} on every row",
        "pd must be in [0, 1]",
        "score and grade must be non-null",
    )
    bad = [k for k, v in zip(names, flags[:5], strict=True) if v]
    if bad:
        raise DataError(f"'{path}' must be a valid scored table: {'; '.join(bad)}.")
    models = lazy.select("model_name", "model_version", "run_id").unique().collect()
    if models.height > 1 or models.null_count().sum_horizontal().item() > 0:
        raise DataError(
            f"'{path}' must come from one model (name, version, run id without nulls); "
            f"got {models.rows()[:3]}."
        )
    return _Scored(
        path=path,
        lazy=lazy,
        rows=int(flags[6]),
        model=models.row(0, named=True) if models.height else {},
        in_id_order=bool(flags[5]) and path.suffix == ".parquet",
    )


def _read_consents(config: WorkbenchConfig) -> pl.LazyFrame:
    try:
        path = find_table(config.paths.validated, "consents")
    except InputFileError as exc:
        raise InputFileError(
            f"{exc} Exports read the validated consents (run `scoring validate`)."
        ) from None
    return scan_table(path, schema=TABLES["consents"].schema)


def _credit_features(
    config: WorkbenchConfig, *, segment: str, as_of: dt.date
) -> tuple[pl.DataFrame, Path]:
    path = _credit_file_path(config, segment=segment)
    if not path.is_file():
        raise InputFileError(
            f"'{path}' must exist: the {segment} credit files on {as_of}, whose feature values "
            "a permission-level-3 export carries (run `scoring collect`)."
        )
    lf = scan_table(path)
    schema = lf.collect_schema()
    for key in ("entity_id", "snapshot_date"):
        if key not in schema:
            raise SchemaError(f"'{path}' must have a {key!r} column; got {list(schema)}.")
    personal = {c.name for t in TABLES.values() for c in t.columns if c.personal}
    names = [n for n in feature_names(segment) if n in schema and n not in personal]
    if not names:
        raise SchemaError(
            f"'{path}' must hold the {segment} features of scoring.features; found none."
        )
    lf = lf.filter(pl.col("snapshot_date") == pl.lit(as_of, dtype=pl.Date))
    frame = lf.select(
        pl.col("entity_id"), *[pl.col(n).alias(f"feature_{n}") for n in names]
    ).collect()
    if frame.height == 0:
        raise DataError(f"'{path}' must hold the snapshot {as_of}; it has no row on that date.")
    if frame["entity_id"].n_unique() != frame.height:
        raise DataError(f"'{path}' must have one row per entity on {as_of}; found duplicates.")
    return frame, path


def _households_personal(config: WorkbenchConfig) -> pl.DataFrame | None:
    """Head id numbers and names, for the privacy guard; None when no households table."""
    for folder in (config.paths.validated, config.paths.raw):
        try:
            path = find_table(folder, "households")
        except InputFileError:
            continue
        lf = scan_table(path, schema=TABLES["households"].schema)
        cols = lf.collect_schema()
        if "head_id_number" in cols and "head_name" in cols:
            return lf.select("head_id_number", "head_name").collect()
    return None


def _privacy_guard(frame: pl.DataFrame, households: pl.DataFrame | None) -> None:
    """Refuse an export in which a text cell is a resident id number or a head's name."""
    text_cols = [c for c, t in frame.schema.items() if t == pl.String]
    # entity_id is left to the exact check: a household id may look like an id number by chance.
    scan_cols = [c for c in text_cols if c != "entity_id"]
    # Checked on each column's distinct 18-character values: few, even for millions of rows.
    distinct = [pl.col(c).filter(pl.col(c).str.len_chars() == 18).unique() for c in scan_cols]
    id_hit = (
        bool(scan_cols)
        and frame.select(
            pl.any_horizontal(resident_id_valid_expr(d).any() for d in distinct)
        ).item()
    )
    known_hit = False
    if households is not None and households.height and text_cols:
        ids = households["head_id_number"].drop_nulls().implode()
        names = households["head_name"].drop_nulls().implode()
        known_hit = frame.select(
            pl.any_horizontal(
                pl.col(c).is_in(ids) | pl.col(c).is_in(names) for c in text_cols
            ).any()
        ).item()
    if id_hit or known_hit:
        raise DataError(
            "'export' must not contain a resident id number or a person's name; the scored "
            "table or the credit file carries personal data: nothing was written."
        )


def _hash_ids(frame: pl.DataFrame, key: bytes) -> pl.DataFrame:
    def digest(values: pl.Series) -> pl.Series:
        return pl.Series(
            [hmac.new(key, v.encode("utf-8"), hashlib.sha256).hexdigest() for v in values],
            dtype=pl.String,
        )

    return frame.with_columns(pl.col("entity_id").map_batches(digest, return_dtype=pl.String))


def signing_key(config: WorkbenchConfig, bank: str) -> bytes | None:
    """The bank's manifest signing key from the environment, or None when it is not set.

    Raises
    ------
    ConfigError
        The variable is set but shorter than 16 characters.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> os.environ.pop("SCORING_EXPORT_SIGN_KEY_NOBANK", None)
    >>> signing_key(load_config(), "NOBANK") is None
    True
    """
    name = config.exports.sign_key_name(bank)
    value = os.environ.get(name)
    if value is None or value == "":
        return None
    if len(value) < 16:
        raise ConfigError(
            f"'{name}' must be at least 16 characters to sign exports; got {len(value)}."
        )
    return value.encode("utf-8")


def manifest_signature(manifest: bytes, key: bytes) -> str:
    """HMAC-SHA256 of the manifest's bytes, hex (what ``manifest.sig`` holds).

    Examples
    --------
    >>> manifest_signature(b"{}", b"0123456789abcdef")[:16]
    'f91e3e9f05cc2df6'
    """
    return hmac.new(key, manifest, hashlib.sha256).hexdigest()


def _hash_key(config: WorkbenchConfig) -> bytes:
    name = config.exports.hash_key_env
    value = os.environ.get(name, "")
    if len(value) < 16:
        raise ConfigError(
            f"'{name}' must be set in the environment to at least 16 characters to hash entity "
            f"ids; got {len(value)} characters."
        )
    return value.encode("utf-8")


# -- writing ---------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _pause() -> None:
    seconds = os.environ.get(_PAUSE_ENV)
    if seconds:
        time.sleep(float(seconds))


def _version() -> str:
    try:
        return metadata.version("gd-credit-workbench")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def _check_args(
    config: WorkbenchConfig, *, bank: str, segment: str, as_of: object, purpose: str | None
) -> tuple[str, dt.date]:
    config.bank(bank)
    if segment not in ENTITY_TYPES:
        raise DataError(f"'segment' must be one of {', '.join(ENTITY_TYPES)}; got {segment!r}.")
    if isinstance(as_of, dt.datetime) or not isinstance(as_of, dt.date):
        raise DataError(f"'as_of' must be a date; got {as_of!r}.")
    chosen = purpose if purpose is not None else config.exports.default_purpose
    if chosen not in CONSENT_PURPOSES:
        raise DataError(f"'purpose' must be one of {', '.join(CONSENT_PURPOSES)}; got {chosen!r}.")
    return chosen, as_of


def export_scores(
    config: WorkbenchConfig,
    *,
    bank: str,
    segment: str,
    as_of: dt.date,
    purpose: str | None = None,
    hash_ids: bool | None = None,
    batch_rows: int = BATCH_ROWS,
    on_batch: Callable[[int, int], object] | None = None,
) -> ExportResult:
    """Write a new export of ``segment`` scores on ``as_of`` for ``bank`` and ``purpose``.

    The scored table is streamed ``batch_rows`` rows at a time (in entity-id order) into
    the export's files, with a progress bar on a terminal, so memory stays bounded by the
    batch and the entity ids; ``on_batch(scored_rows_done, scored_rows_total)`` is called
    after each batch. Whatever interrupts the export (an exception, ``KeyboardInterrupt``
    from ``on_batch`` included) removes its temporary folder: no export appears.

    Parameters
    ----------
    config
        The workbench configuration (paths, banks, ``[exports]``, ``[disputes]``).
    bank
        A bank code of ``[[banks]]``; its ``permission_level`` picks the fields.
    segment
        ``sme`` or ``household``.
    as_of
        The data as-of date: the scored table's date and the date consents and disputes are
        judged on.
    purpose
        The agreed query purpose (default ``[exports] default_purpose``).
    hash_ids
        Export keyed hashes of the entity ids (default ``[exports] hash_entity_ids``).
    batch_rows
        Scored rows read and written at a time.
    on_batch
        Called with the scored rows done and their total after each batch.

    Returns
    -------
    ExportResult
        The new folder, its id, the rows exported and excluded by reason, and the manifest.

    Raises
    ------
    InputFileError
        No scored table, no validated consents, or (level 3) no credit file.
    SchemaError, DataError
        An input breaks its contract, or the export would carry personal data.
    ConfigError
        Unknown bank, or hashing asked for without a key in the environment.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> export_scores(load_config(), bank="NOPE", segment="sme", as_of=dt.date(2013, 12, 31))
    Traceback (most recent call last):
    ...
    scoring.exceptions.ConfigError: 'bank' must be one of GDRCU, ICBCGD, GZBANK (from ...); got 'NOPE'.
    """  # noqa: E501
    purpose, as_of = _check_args(config, bank=bank, segment=segment, as_of=as_of, purpose=purpose)
    fields = permitted_fields(config, bank)
    hashing = config.exports.hash_entity_ids if hash_ids is None else hash_ids
    key = _hash_key(config) if hashing else b""

    if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < 1:
        raise ConfigError(f"'batch_rows' must be a positive integer; got {batch_rows!r}.")

    src = scored_path(config, segment=segment, as_of=as_of)
    scored = _read_scored(src, segment=segment, as_of=as_of)
    classified = classify_entities(
        scored.lazy.select(pl.col("segment").alias("entity_type"), "entity_id").collect(),
        _read_consents(config),
        bank=bank,
        purpose=purpose,
        as_of=as_of,
    )
    counts = dict(classified.group_by("status").len().iter_rows())
    excluded = {reason: int(counts.get(reason, 0)) for reason in EXCLUSION_REASONS}

    store = DisputeStore.from_config(config)
    open_disputes = store.open_on(as_of).filter(pl.col("entity_type") == segment)
    disputed = open_disputes.get_column("entity_id").unique().implode()
    chosen = (
        classified.filter(pl.col("status") == EXPORTED)
        .select("entity_id", "consent_id")
        .with_columns(pl.col("entity_id").is_in(disputed).alias("under_dispute"))
    )
    del classified
    feats: pl.DataFrame | None = None
    feature_cols: tuple[str, ...] = ()
    curated_src: Path | None = None
    if "features" in fields:
        feats, curated_src = _credit_features(config, segment=segment, as_of=as_of)
        feature_cols = tuple(c for c in feats.columns if c != "entity_id")
    columns = export_columns(fields, feature_columns=feature_cols)
    households = _households_personal(config) if segment == "household" else None

    def export_batches() -> Iterator[pl.DataFrame]:
        done = 0
        batches = track(
            scored.batches(batch_rows),
            description=f"exporting {segment} {as_of} to {bank}",
            total=max(1, -(-scored.rows // batch_rows)),
        )
        for batch in batches:
            # batches come in entity-id order and joins keep it: the rows are sorted by id
            rows = batch.join(chosen, on="entity_id", how="inner", maintain_order="left")
            if feats is not None:
                rows = rows.join(feats, on="entity_id", how="left", maintain_order="left")
            frame = rows.select(columns)
            _privacy_guard(frame, households)
            yield _hash_ids(frame, key) if hashing else frame
            done += batch.height
            if on_batch is not None:
                on_batch(done, scored.rows)

    created = dt.datetime.now(dt.UTC)
    export_id = f"{created:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"
    parent = config.paths.exports / bank / segment / as_of.isoformat()
    final = parent / export_id
    # folders this export creates; removed again (when empty) if it fails
    created_dirs = [d for d in (parent, *parent.parents) if not d.exists()]
    parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(parent)
    tmp = parent / f"{TEMP_PREFIX}{export_id}"
    tmp.mkdir()
    try:
        manifest = _write_folder(
            tmp,
            export_batches(),
            export_id=export_id,
            created=created,
            config=config,
            bank=bank,
            purpose=purpose,
            segment=segment,
            as_of=as_of,
            fields=fields,
            hashing=hashing,
            scored=scored,
            consents=int(chosen["consent_id"].n_unique()),
            excluded=excluded,
            open_disputes=open_disputes.height,
            sources={
                "scored": {"file": f"{segment}/{src.name}", "sha256": _sha256(src)},
                **(
                    {"credit_file": {"file": curated_src.name, "snapshot_date": as_of.isoformat()}}
                    if curated_src is not None
                    else {}
                ),
            },
        )
        if final.exists():  # practically impossible with a random id, but never overwrite
            raise InputFileError(f"'{final}' must not exist already; refusing to overwrite it.")
        os.rename(tmp, final)  # fails on an existing non-empty folder: never replaces an export
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for d in created_dirs:  # deepest first
            with contextlib.suppress(OSError):
                d.rmdir()
        raise
    _fsync(parent)
    return ExportResult(
        path=final,
        export_id=export_id,
        rows_exported=int(manifest["rows"]["exported"]),
        excluded=excluded,
        manifest=manifest,
    )


def _remove_stale_temporaries(parent: Path, *, older_than_hours: float = 24.0) -> None:
    """Remove what killed exports left behind (``.tmp-*`` folders untouched for a day)."""
    cutoff = time.time() - older_than_hours * 3600
    for p in parent.glob(f"{TEMP_PREFIX}*"):
        if p.is_dir() and p.stat().st_mtime < cutoff:
            shutil.rmtree(p, ignore_errors=True)


def _write_folder(
    tmp: Path,
    batches: Iterator[pl.DataFrame],
    *,
    export_id: str,
    created: dt.datetime,
    config: WorkbenchConfig,
    bank: str,
    purpose: str,
    segment: str,
    as_of: dt.date,
    fields: tuple[str, ...],
    hashing: bool,
    scored: _Scored,
    consents: int,
    excluded: dict[str, int],
    open_disputes: int,
    sources: dict[str, Any],
) -> dict[str, Any]:
    """Write the two data files (batch by batch) and the manifest into ``tmp``, flushed."""
    bank_cfg = config.bank(bank)
    exported = disputed = 0
    schema: pl.Schema | None = None
    with parquet_batches(tmp / PARQUET_NAME) as write, (tmp / CSV_NAME).open("wb") as csv:
        for frame in batches:
            exported = write(frame)
            frame.write_csv(csv, include_header=schema is None, include_bom=schema is None)
            schema = frame.schema
            disputed += int(frame["under_dispute"].sum())
    _pause()
    assert schema is not None  # there is always a first batch, maybe empty
    model = scored.model
    manifest: dict[str, Any] = {
        "schema_version": EXPORT_SCHEMA_VERSION,
        "export_id": export_id,
        "created_at": created.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "generator": f"gd-credit-workbench {_version()}",
        "bank": {
            "code": bank_cfg.code,
            "name_zh": bank_cfg.name_zh,
            "name_en": bank_cfg.name_en,
            "permission_level": bank_cfg.permission_level,
        },
        "purpose": purpose,
        "segment": segment,
        "as_of": as_of.isoformat(),
        "model": {
            "name": model.get("model_name"),
            "version": model.get("model_version"),
            "run_id": model.get("run_id"),
        },
        "fields": list(fields),
        "columns": [{"name": c, "type": str(t)} for c, t in schema.items()],
        "entity_id": {
            "kind": _ID_KIND[segment],
            "hashed": hashing,
            "hash": (
                f"HMAC-SHA256 of the UTF-8 id, hex; key from ${config.exports.hash_key_env}"
                if hashing
                else None
            ),
        },
        "rows": {
            "scored": scored.rows,
            "exported": exported,
            "excluded": excluded,
            "under_dispute": disputed,
        },
        "consents": {
            "column": "consent_id",
            "distinct": consents,
            "rule": "granted_date <= as_of < expiry_date and not withdrawn on or before as_of",
        },
        "disputes": {
            "column": "under_dispute",
            "rule": "an objection open at the end of the as-of date",
            "open_on_as_of": open_disputes,
        },
        "negative_information": (
            f"Negative records whose behaviour ended more than "
            f"{config.collection.retention_years} years before the as-of date are not used "
            "(left out when the credit files were collected; Art.16 of the credit-reporting "
            "regulation)."
        ),
        "sources": sources,
        "files": {
            name: {
                "sha256": _sha256(tmp / name),
                "bytes": (tmp / name).stat().st_size,
                "rows": exported,
            }
            for name in (PARQUET_NAME, CSV_NAME)
        },
    }
    (tmp / MANIFEST_NAME).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    written = [PARQUET_NAME, CSV_NAME, MANIFEST_NAME]
    key = signing_key(config, bank_cfg.code)
    if key is not None:
        signature = manifest_signature((tmp / MANIFEST_NAME).read_bytes(), key)
        (tmp / SIGNATURE_NAME).write_text(signature + "\n", encoding="ascii")
        written.append(SIGNATURE_NAME)
    for name in written:
        _fsync(tmp / name)
    _fsync(tmp)
    _pause()
    return manifest


# -- verifying -------------------------------------------------------------------------------


def _dtype_name(dtype: pl.DataType) -> str:
    return str(dtype)


def verify_export(
    path: str | Path,
    *,
    config: WorkbenchConfig | None = None,
    key: bytes | None = None,
    require_signature: bool = False,
) -> VerifyReport:
    """Check an export folder against its manifest: checksums, row counts and schema.

    Signature: ``manifest.sig`` is checked with ``key``, or with the bank's key from the
    environment when ``config`` is given (:func:`signing_key`); without a key a signed
    export is reported ``unchecked``. ``require_signature``: an unsigned export, or one
    that cannot be checked, is a problem.

    Checks that the folder holds exactly the manifest and the files it lists; each file's size
    and SHA-256; that the Parquet file has the columns and types of the manifest, which are the
    columns of the manifest's field groups (a level-1 export has no ``pd`` or reason column);
    the row counts (Parquet, CSV, manifest, and scored = exported + excluded); the CSV's
    byte-order mark, header and values (equal to the Parquet file's). With ``config``, also
    that the field groups are allowed for the export's permission level.

    Raises
    ------
    VerificationFailed
        Any mismatch; the message lists every problem and ``.report`` holds them.
    InputFileError
        ``path`` is not a folder.

    Examples
    --------
    >>> verify_export("/nonexistent")
    Traceback (most recent call last):
    ...
    scoring.exceptions.InputFileError: 'path' must be an export folder; got '/nonexistent'.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise InputFileError(f"'path' must be an export folder; got {str(folder)!r}.")
    problems: list[str] = []
    checked: list[str] = []
    if folder.name.startswith(TEMP_PREFIX):
        problems.append(f"{folder.name} is an unfinished export (temporary folder)")
    try:
        manifest = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
        files: dict[str, Any] = manifest["files"]
        columns = [(c["name"], c["type"]) for c in manifest["columns"]]
        fields = list(manifest["fields"])
        rows_meta = manifest["rows"]
        exported = int(rows_meta["exported"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        problems.append(f"{MANIFEST_NAME} unreadable ({type(exc).__name__}: {exc})")
        report = VerifyReport(folder, None, None, (), tuple(problems))
        raise VerificationFailed(
            f"'{folder}' must hold a readable {MANIFEST_NAME}; {'; '.join(problems)}.", report
        ) from None
    export_id = manifest.get("export_id")
    if manifest.get("schema_version") != EXPORT_SCHEMA_VERSION:
        problems.append(
            f"schema_version must be {EXPORT_SCHEMA_VERSION}; "
            f"got {manifest.get('schema_version')!r}"
        )

    present = {p.name for p in folder.iterdir()}
    for extra in sorted(present - set(files) - {MANIFEST_NAME, SIGNATURE_NAME}):
        problems.append(f"unexpected file {extra} (not in the manifest)")
    bank_code = str(manifest.get("bank", {}).get("code", ""))
    if key is None and config is not None and bank_code:
        key = signing_key(config, bank_code)
    if SIGNATURE_NAME not in present:
        signature = "unsigned"
        if require_signature:
            problems.append(f"{SIGNATURE_NAME} is missing (the export is not signed)")
    elif key is None:
        signature = "unchecked"
        if require_signature:
            problems.append(f"{SIGNATURE_NAME} cannot be checked: no key for bank {bank_code}")
    else:
        given = (folder / SIGNATURE_NAME).read_text(encoding="ascii", errors="replace").strip()
        expected_sig = manifest_signature((folder / MANIFEST_NAME).read_bytes(), key)
        signature = "valid" if hmac.compare_digest(given, expected_sig) else "invalid"
        if signature == "invalid":
            problems.append(
                f"{SIGNATURE_NAME} does not match {MANIFEST_NAME} (changed manifest, or "
                "another key)"
            )
    for name, meta in files.items():
        p = folder / name
        if not p.is_file():
            problems.append(f"{name} is missing")
            continue
        checked.append(name)
        if p.stat().st_size != meta.get("bytes"):
            problems.append(
                f"{name} has {p.stat().st_size} bytes; manifest says {meta.get('bytes')}"
            )
        digest = _sha256(p)
        if digest != meta.get("sha256"):
            problems.append(f"{name} SHA-256 is {digest}; manifest says {meta.get('sha256')}")
        if meta.get("rows") != exported:
            problems.append(
                f"{name} rows in manifest {meta.get('rows')} != rows.exported {exported}"
            )

    names = [n for n, _ in columns]
    feature_cols = tuple(n for n in names if n.startswith("feature_"))
    try:
        expected = export_columns(fields, feature_columns=feature_cols)
        if tuple(names) != expected:
            problems.append(
                f"manifest columns {names} are not those of fields {fields}: {list(expected)}"
            )
    except DataError as exc:
        problems.append(str(exc))
    for n, t in columns:
        if n in _FIXED_TYPES and t != _dtype_name(_FIXED_TYPES[n]):
            problems.append(f"column {n} must be {_FIXED_TYPES[n]}; manifest says {t}")
    if config is not None:
        level = int(manifest.get("bank", {}).get("permission_level", 0))
        try:
            allowed = config.exports.fields(level)
            if not set(fields) <= set(allowed):
                problems.append(f"fields {fields} exceed permission level {level}: {list(allowed)}")
        except ConfigError as exc:
            problems.append(str(exc))
    excluded = rows_meta.get("excluded", {})
    if set(excluded) != set(EXCLUSION_REASONS):
        problems.append(f"rows.excluded must count {list(EXCLUSION_REASONS)}; got {list(excluded)}")
    elif int(rows_meta.get("scored", -1)) != exported + sum(int(v) for v in excluded.values()):
        problems.append(
            f"rows.scored {rows_meta.get('scored')} != exported {exported} + excluded "
            f"{sum(int(v) for v in excluded.values())}"
        )

    parquet: pl.DataFrame | None = None
    if PARQUET_NAME in checked:
        try:
            parquet = pl.read_parquet(folder / PARQUET_NAME)
        except (pl.exceptions.PolarsError, OSError) as exc:
            problems.append(f"{PARQUET_NAME} unreadable: {str(exc).splitlines()[0]}")
    if parquet is not None:
        got = [(n, _dtype_name(t)) for n, t in parquet.schema.items()]
        if got != columns:
            problems.append(f"{PARQUET_NAME} columns {got} differ from the manifest {columns}")
        if parquet.height != exported:
            problems.append(f"{PARQUET_NAME} has {parquet.height} rows; manifest says {exported}")
        if "under_dispute" in parquet.columns and int(parquet["under_dispute"].sum()) != int(
            rows_meta.get("under_dispute", -1)
        ):
            problems.append("under_dispute count differs from rows.under_dispute")
        for col in ("entity_id", "consent_id"):
            if col in parquet.columns and parquet[col].null_count():
                problems.append(f"{PARQUET_NAME} has null {col} values")
    if CSV_NAME in checked and parquet is not None:
        raw = (folder / CSV_NAME).read_bytes()
        if not raw.startswith(_BOM):
            problems.append(f"{CSV_NAME} must start with a UTF-8 byte-order mark")
        try:
            csv = pl.read_csv(raw.removeprefix(_BOM), schema=parquet.schema)
            if csv.columns != parquet.columns:
                problems.append(f"{CSV_NAME} header {csv.columns} differs from {PARQUET_NAME}")
            elif csv.height != parquet.height:
                problems.append(
                    f"{CSV_NAME} has {csv.height} rows; {PARQUET_NAME} {parquet.height}"
                )
            elif not csv.equals(parquet):
                problems.append(f"{CSV_NAME} values differ from {PARQUET_NAME}")
        except (pl.exceptions.PolarsError, ValueError) as exc:
            problems.append(f"{CSV_NAME} unreadable: {str(exc).splitlines()[0]}")

    report = VerifyReport(
        path=folder,
        export_id=export_id,
        rows=parquet.height if parquet is not None else None,
        files_checked=tuple(checked),
        problems=tuple(problems),
        signature=signature,
    )
    if problems:
        listed = "; ".join(problems)
        raise VerificationFailed(
            f"'{folder}' must match its manifest; {len(problems)} problem(s): {listed}.", report
        )
    return report
