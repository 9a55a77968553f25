"""The ``scoring`` command: thin wiring over the package's modules.

Every command has ``--help``. Errors the user can fix are printed as one line,
``error: <message>``, with exit code 2; nothing prints a bare traceback unless
``SCORING_DEBUG=1`` is set.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from scoring.config import WorkbenchConfig, load_config
from scoring.exceptions import DataError, ValidationFailed, WorkbenchError
from scoring.validate import (
    REPORT_NAME,
    report_table,
    validate_records,
    write_report,
    write_validated,
)

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def friendly_errors(func: F) -> F:
    """Turn the workbench's own exceptions (and a few OS ones) into one clear line."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if os.environ.get("SCORING_DEBUG") == "1":
            return func(*args, **kwargs)
        try:
            return func(*args, **kwargs)
        except WorkbenchError as exc:
            _fail(str(exc))
        except KeyboardInterrupt:
            _fail("interrupted; nothing half-written was left in place.", code=130)
        except (OSError, MemoryError) as exc:
            _fail(f"{type(exc).__name__}: {exc}")

    return wrapper  # type: ignore[return-value]


class Context:
    """What every command shares: the configuration file chosen by ``--config``."""

    def __init__(self, config_path: Path | None) -> None:
        self.config_path = config_path
        self._config: WorkbenchConfig | None = None

    @property
    def config(self) -> WorkbenchConfig:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config


pass_ctx = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    envvar="SCORING_CONFIG",
    help="Configuration TOML (default: configs/workbench.toml, or $SCORING_CONFIG).",
)
@click.version_option(package_name="gd-credit-workbench")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """Guangdong Credit Pilot Workbench: credit files, ratings, scorecards, exports.

    The data flow: generate (or bring) department records -> validate -> collect
    into credit files -> rate -> train -> promote -> score -> export / marts -> serve.
    """
    ctx.obj = Context(config_path)


@cli.command("generate")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder for the raw tables (default: paths.raw). Truth goes to paths.truth.",
)
@click.option(
    "--scale",
    type=float,
    default=None,
    help="1.0 = about 20,000 SMEs and 50,000 households (default: synth.scale).",
)
@click.option("--seed", type=int, default=None, help="Random seed (default: synth.seed).")
@click.option("--no-faults", is_flag=True, help="Plant no faults (duplicates, bad codes, ...).")
@pass_ctx
@friendly_errors
def generate_command(
    ctx: Context, out: Path | None, scale: float | None, seed: int | None, no_faults: bool
) -> None:
    """Generate the synthetic Guangdong province (department records and its truth).

    Writes one Parquet file per raw table plus DICTIONARY.md, and the ground truth
    (true PD, AUC ceiling, planted pilot effects, planted faults) to paths.truth.
    Deterministic for a seed; re-running replaces both folders atomically. An objection
    store (paths.disputes_db) of the province it replaces is set aside, renamed with a
    time stamp: its objections refer to records that are gone.
    """
    from scoring.synth import generate_province

    cfg = ctx.config
    replaces_raw = out is None or out.resolve() == cfg.paths.raw.resolve()
    summary = generate_province(
        cfg,
        out=out if out is not None else cfg.paths.raw,
        truth=cfg.paths.truth,
        scale=scale if scale is not None else cfg.synth.scale,
        seed=seed if seed is not None else cfg.synth.seed,
        faults=cfg.synth.faults and not no_faults,
    )
    click.echo(
        f"generated {summary.smes:,} SMEs and {summary.households:,} households, "
        f"{summary.total_rows:,} records in {summary.seconds:.1f} s -> {summary.out}"
    )
    click.echo(f"truth (ceiling AUC {summary.ceiling}) -> {summary.truth}")
    if summary.faults_planted:
        click.echo(f"planted faults: {summary.faults:,} (listed in {summary.truth}/faults.parquet)")
    store = cfg.paths.disputes_db
    if replaces_raw and store.exists():
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        aside = store.with_name(f"{store.stem}.{stamp}{store.suffix}")
        for suffix in ("", "-wal", "-shm"):  # SQLite's write-ahead log goes with it
            part = Path(f"{store}{suffix}")
            if part.exists():
                os.replace(part, Path(f"{aside}{suffix}"))
        click.echo(f"objection store of the replaced province set aside -> {aside}")


@cli.command("validate")
@click.argument("folder", required=False, type=click.Path(path_type=Path))
@click.option(
    "--quarantine",
    is_flag=True,
    help="Set rows with errors aside (paths.quarantine, with their reasons) and write "
    "the clean rows to paths.validated.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path),
    default=None,
    help=f"Where to write the JSON report (default: paths.reports/{REPORT_NAME}).",
)
@pass_ctx
@friendly_errors
def validate_command(
    ctx: Context, folder: Path | None, quarantine: bool, report_path: Path | None
) -> None:
    """Validate the department records in FOLDER (default: paths.raw).

    Checks columns and types, codes, check characters, dates, references, duplicates
    and value ranges; prints a summary and writes a JSON report. Clean records (or,
    with --quarantine, the rows without errors) go to paths.validated, where the
    later steps read them. Errors without --quarantine exit non-zero.
    """
    cfg = ctx.config
    report = validate_records(folder if folder is not None else cfg.paths.raw, config=cfg)
    console = Console()
    if not console.is_terminal:  # logs and pipes: wide enough for the report table
        console = Console(width=120)
    console.print(report_table(report) if report.problems else report.headline())
    out = write_report(report, report_path or cfg.paths.reports / REPORT_NAME)
    if not report.ok and not quarantine:
        raise ValidationFailed(
            f"{report.headline()}; nothing was written to {cfg.paths.validated}; "
            f"report: {out}; fix the records or run `scoring validate --quarantine`.",
            report,
        )
    written = write_validated(
        report,
        validated_dir=cfg.paths.validated,
        quarantine_dir=cfg.paths.quarantine,
        quarantine=quarantine,
    )
    click.echo(f"validated: {written.validated} rows -> {written.validated_dir}")
    if quarantine:
        click.echo(f"quarantined: {written.quarantined} rows -> {written.quarantine_dir}")
    click.echo(f"report: {out}")


@cli.command("collect")
@click.option(
    "--snapshot",
    "snapshots",
    multiple=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Snapshot date YYYY-MM-DD (repeatable; default: province.snapshots).",
)
@pass_ctx
@friendly_errors
def collect_command(ctx: Context, snapshots: tuple[Any, ...]) -> None:
    """Collect validated records into credit files (paths.curated).

    One row per entity per snapshot date: features from records dated on or before
    the snapshot (retention and dispute rules applied) and the default outcome.
    Refuses records that have not passed `scoring validate`.
    """
    from scoring.collect import collect_credit_files

    s = collect_credit_files(ctx.config, snapshots=[d.date() for d in snapshots] or None)
    click.echo(f"snapshots: {', '.join(d.isoformat() for d in s.snapshots)}")
    for label, path, rows, obs, bad in (
        ("sme", s.sme_path, s.sme_rows, s.sme_observable, s.sme_defaults),
        (
            "household",
            s.household_path,
            s.household_rows,
            s.household_observable,
            s.household_defaults,
        ),
    ):
        click.echo(
            f"{label}: {rows} rows ({obs} with observable outcome, {bad} defaults) -> {path}"
        )
    if not s.tax_grades_used:
        click.echo("tax_grade: no tax ratings found in paths.ratings; every SME is 'unrated'")
    click.echo(f"feature dictionary -> {s.dictionary_path}")
    click.echo(f"{s.source_records} source records in {s.seconds:.1f} s")


# -- bank exports and objections (consent.py, exports.py, disputes.py) ----------------------

_DATE = click.DateTime(formats=["%Y-%m-%d"])


def _echo_frame(frame: Any, *, empty: str) -> None:
    """Print a polars frame as a plain table (all rows), or ``empty`` when it has none."""
    import polars as pl

    if frame.height == 0:
        click.echo(empty)
        return
    with pl.Config(
        tbl_rows=-1,
        tbl_cols=-1,
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
        tbl_formatting="ASCII_MARKDOWN",
        fmt_str_lengths=60,
        tbl_width_chars=200,
    ):
        click.echo(str(frame))


@cli.group("export", invoke_without_command=True)
@click.option(
    "--bank", help="Bank code from [[banks]] in the config (its permission level applies)."
)
@click.option("--segment", type=click.Choice(["sme", "household"]), help="Which scored entities.")
@click.option("--as-of", "as_of", type=_DATE, help="Data as-of date (YYYY-MM-DD) of the scores.")
@click.option(
    "--purpose",
    type=click.Choice(["credit_approval", "post_loan_management", "guarantee"]),
    default=None,
    help="Agreed query purpose (default: [exports] default_purpose).",
)
@click.option(
    "--hash-ids/--no-hash-ids",
    "hash_ids",
    default=None,
    help="Export HMAC-SHA256 digests of the ids, keyed by $SCORING_EXPORT_ID_KEY "
    "(default: [exports] hash_entity_ids).",
)
@click.option(
    "--batch-rows",
    "batch_rows",
    type=click.IntRange(min=1),
    default=None,
    help="Scored rows written at a time (default 500,000; memory grows with it).",
)
@click.pass_context
@friendly_errors
def export_group(
    ctx: click.Context,
    bank: str | None,
    segment: str | None,
    as_of: Any,
    purpose: str | None,
    hash_ids: bool | None,
    batch_rows: int | None,
) -> None:
    """Write a bank export, or check one (`scoring export verify PATH`).

    \b
    scoring export --bank GDRCU --segment sme --as-of 2013-12-31 [--purpose P]
    scoring export verify exports/GDRCU/sme/2013-12-31/<export_id>

    Only entities with a consent valid on the as-of date for that bank and purpose are
    written; the others are counted by reason in manifest.json. With
    $SCORING_EXPORT_SIGN_KEY_<BANK> set, manifest.sig signs the manifest (HMAC-SHA256).
    """
    given = {"--bank": bank, "--segment": segment, "--as-of": as_of}
    if ctx.invoked_subcommand is not None:
        if any(v is not None for v in (bank, segment, as_of, purpose, hash_ids, batch_rows)):
            raise click.UsageError(
                f"options of `export` do not apply to `{ctx.invoked_subcommand}`."
            )
        return
    missing = [k for k, v in given.items() if v is None]
    if missing:
        raise click.UsageError(f"missing option(s) {', '.join(missing)} (see `scoring export -h`).")
    from scoring.exports import BATCH_ROWS, export_scores

    shared: Context = ctx.obj  # inherited from the top-level group
    result = export_scores(
        shared.config,
        bank=str(bank),
        segment=str(segment),
        as_of=as_of.date(),
        purpose=purpose,
        hash_ids=hash_ids,
        batch_rows=batch_rows or BATCH_ROWS,
    )
    excluded = ", ".join(f"{k} {v}" for k, v in result.excluded.items())
    click.echo(f"exported {result.rows_exported} rows to {result.path}")
    click.echo(f"excluded: {excluded}")
    from scoring.exports import SIGNATURE_NAME

    if (result.path / SIGNATURE_NAME).exists():
        click.echo(f"signed: {SIGNATURE_NAME} (HMAC-SHA256 of manifest.json, the bank's key)")
    else:
        key = shared.config.exports.sign_key_name(str(bank))
        click.echo(f"not signed (set ${key} to sign the manifest)")


@export_group.command("verify")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--require-signature",
    is_flag=True,
    help="Fail unless manifest.sig is present and valid for the bank's key "
    "($SCORING_EXPORT_SIGN_KEY_<BANK>).",
)
@pass_ctx
@friendly_errors
def export_verify(ctx: Context, path: Path, require_signature: bool) -> None:
    """Recompute an export's checksums, row counts and schema against its manifest.

    A signed export (manifest.sig) is checked with the bank's key when it is set.
    Exit code 0 when intact; 1 with every problem listed on a mismatch.
    """
    from scoring.exceptions import VerificationFailed
    from scoring.exports import verify_export

    try:
        report = verify_export(path, config=ctx.config, require_signature=require_signature)
    except VerificationFailed as exc:
        _fail(str(exc), code=1)
        return
    click.echo(
        f"ok: {report.export_id}: {report.rows} rows; "
        f"{', '.join(report.files_checked)} match manifest.json; signature {report.signature}"
    )


@cli.group("dispute")
def dispute_group() -> None:
    """Objections (异议): open, resolve, list, overdue, import (append-only store)."""


@dispute_group.command("open")
@click.option("--segment", required=True, type=click.Choice(["sme", "household"]))
@click.option("--entity", "entity_id", required=True, help="Credit code or household id.")
@click.option("--table", "source_table", required=True, help="Raw table of the disputed record.")
@click.option("--record", "source_record_id", required=True, help="Id of the disputed record.")
@click.option("--reason", required=True, help="Why it is disputed (no personal data).")
@click.option("--by", "actor", required=True, help="Staff or department id recording it.")
@click.option("--on", "opened_on", type=_DATE, default=None, help="Date received (default today).")
@click.option("--id", "dispute_id", default=None, help="Dispute id (default DSP-<date>-<hex>).")
@pass_ctx
@friendly_errors
def dispute_open(
    ctx: Context,
    segment: str,
    entity_id: str,
    source_table: str,
    source_record_id: str,
    reason: str,
    actor: str,
    opened_on: Any,
    dispute_id: str | None,
) -> None:
    """Open a dispute on one record; the 20-day clock starts on --on."""
    from scoring.disputes import DisputeStore

    d = DisputeStore.from_config(ctx.config).open(
        entity_type=segment,
        entity_id=entity_id,
        source_table=source_table,
        source_record_id=source_record_id,
        reason=reason,
        actor=actor,
        opened_on=opened_on.date() if opened_on else None,
        dispute_id=dispute_id,
        origin="cli",
    )
    click.echo(f"opened {d.dispute_id} on {d.opened_on} ({d.source_table}/{d.source_record_id})")


def _parse_assignments(items: tuple[str, ...]) -> dict[str, Any] | None:
    import json

    if not items:
        return None
    values: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"must be FIELD=VALUE; got {item!r}.", param_hint="--set")
        try:
            values[key] = json.loads(text)
        except ValueError:
            values[key] = text
    return values


@dispute_group.command("resolve")
@click.argument("dispute_id")
@click.option("--outcome", required=True, type=click.Choice(["corrected", "upheld", "unresolved"]))
@click.option("--by", "actor", required=True, help="Staff or department id settling it.")
@click.option("--on", "resolved_on", type=_DATE, default=None, help="Date settled (default today).")
@click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="FIELD=VALUE",
    help="A corrected value (repeat; JSON values such as 0 or null are parsed). Needed with "
    "--outcome corrected.",
)
@click.option("--note", default=None, help="The handler's note.")
@pass_ctx
@friendly_errors
def dispute_resolve(
    ctx: Context,
    dispute_id: str,
    outcome: str,
    actor: str,
    resolved_on: Any,
    assignments: tuple[str, ...],
    note: str | None,
) -> None:
    """Settle an open dispute: corrected (with --set values), upheld or unresolved."""
    from scoring.disputes import DisputeStore

    d = DisputeStore.from_config(ctx.config).resolve(
        dispute_id,
        outcome=outcome,
        actor=actor,
        resolved_on=resolved_on.date() if resolved_on else None,
        corrected_values=_parse_assignments(assignments),
        note=note,
        origin="cli",
    )
    click.echo(
        f"{d.dispute_id}: {d.state} on {d.resolved_on}, "
        f"{d.days_open(d.resolved_on or d.opened_on)} days after opening"
    )


@dispute_group.command("list")
@click.option(
    "--state", type=click.Choice(["open", "corrected", "upheld", "unresolved"]), default=None
)
@click.option("--entity", "entity_id", default=None, help="Only this entity.")
@click.option("--as-of", "as_of", type=_DATE, default=None, help="State at the end of this date.")
@pass_ctx
@friendly_errors
def dispute_list(ctx: Context, state: str | None, entity_id: str | None, as_of: Any) -> None:
    """List disputes with their current (or as-of) state, derived from the events."""
    from scoring.disputes import DisputeStore

    frame = DisputeStore.from_config(ctx.config).disputes(
        as_of=as_of.date() if as_of else None, state=state, entity_id=entity_id
    )
    _echo_frame(
        frame.select(
            "dispute_id",
            "entity_type",
            "entity_id",
            "source_table",
            "source_record_id",
            "opened_on",
            "state",
            "resolved_on",
        ),
        empty="no disputes",
    )


@dispute_group.command("overdue")
@click.option(
    "--as-of", "as_of", type=_DATE, default=None, help="Judge on this date (default today)."
)
@click.option(
    "--within-days",
    type=int,
    default=None,
    help="Limit in days (default [disputes] settle_within_days).",
)
@pass_ctx
@friendly_errors
def dispute_overdue(ctx: Context, as_of: Any, within_days: int | None) -> None:
    """List disputes still open past the settlement limit (20 days by default)."""
    from scoring.disputes import DisputeStore

    day = as_of.date() if as_of else dt.date.today()
    frame = DisputeStore.from_config(ctx.config).overdue(day, within_days=within_days)
    _echo_frame(
        frame.select(
            "dispute_id",
            "entity_type",
            "entity_id",
            "source_table",
            "source_record_id",
            "opened_on",
            "due_on",
            "days_open",
            "days_overdue",
        ),
        empty=f"no dispute overdue on {day}",
    )


@dispute_group.command("import")
@click.option(
    "--from",
    "source",
    type=click.Path(path_type=Path),
    default=None,
    help="A disputes table (default: the validated disputes table).",
)
@pass_ctx
@friendly_errors
def dispute_import(ctx: Context, source: Path | None) -> None:
    """Append the department's disputes history to the store (idempotent)."""
    from scoring.disputes import DisputeStore
    from scoring.schema import TABLES
    from scoring.storage import find_table, read_table

    path = source if source is not None else find_table(ctx.config.paths.validated, "disputes")
    table = read_table(path, schema=TABLES["disputes"].schema)
    got = DisputeStore.from_config(ctx.config).import_table(table, origin=f"import:{path.name}")
    click.echo(
        f"imported from {path}: {got.opened} opened, {got.resolved} resolved, "
        f"{got.skipped} already known"
    )


# -- ratings (scoring/ratings): tax credit, rural credit, red and black lists ----------------


@cli.group("consent")
def consent_group() -> None:
    """Consents to query (查询授权), as loaded from the validated department file."""


@consent_group.command("list")
@click.option("--bank", required=True, help="Bank code.")
@click.option("--entity", "entity_id", default=None, help="Only this entity.")
@click.option(
    "--purpose",
    type=click.Choice(["credit_approval", "post_loan_management", "guarantee"]),
    default=None,
)
@click.option(
    "--as-of", "as_of", type=_DATE, default=None, help="Judge on this date (default today)."
)
@click.option("--limit", type=int, default=50, show_default=True, help="Rows to print.")
@pass_ctx
@friendly_errors
def consent_list(
    ctx: Context,
    bank: str,
    entity_id: str | None,
    purpose: str | None,
    as_of: Any,
    limit: int,
) -> None:
    """List a bank's consents with their state (valid, expired, withdrawn, not_granted)."""

    import polars as pl

    from scoring.consent import consent_state_expr
    from scoring.schema import TABLES
    from scoring.storage import find_table, scan_table

    ctx.config.bank(bank)
    day = as_of.date() if as_of else dt.date.today()
    path = find_table(ctx.config.paths.validated, "consents")
    lf = scan_table(path, schema=TABLES["consents"].schema).filter(pl.col("bank_code") == bank)
    if entity_id is not None:
        lf = lf.filter(pl.col("entity_id") == entity_id)
    if purpose is not None:
        lf = lf.filter(pl.col("purpose") == purpose)
    frame = lf.with_columns(consent_state_expr(day)).drop("bank_code").collect()
    counts = ", ".join(
        f"{s} {n}" for s, n in frame.group_by("consent_state").len().sort("consent_state").rows()
    )
    _echo_frame(frame.sort("entity_id", "granted_date").head(limit), empty="no consents")
    click.echo(f"{frame.height} consents of {bank} on {day}: {counts or 'none'}")


@cli.group("rate")
def rate_group() -> None:
    """Rule-based ratings: tax credit grades (tax) and rural credit (rural)."""


@rate_group.command("tax")
@click.option(
    "--year",
    type=int,
    default=None,
    help="Rate the years up to YEAR (the carry-over rules need the earlier ones); "
    "default: every data year.",
)
@click.option(
    "--explain",
    metavar="CREDIT_CODE",
    default=None,
    help="Also print every line behind this taxpayer's grade in each year rated.",
)
@pass_ctx
@friendly_errors
def rate_tax_command(ctx: Context, year: int | None, explain: str | None) -> None:
    """Tax credit rating (纳税信用评价): score, grade A/B/M/C/D and every deduction line.

    Reads the validated records; writes paths.ratings/tax_ratings.parquet and
    tax_deductions.parquet; prints the grade distribution per year.
    """
    from scoring.ratings import run_tax_ratings

    result = run_tax_ratings(ctx.config, year=year, progress=True)
    _echo_frame(result.grade_table(), empty="no taxpayers to rate.")
    if explain:
        rated = result.ratings.filter(result.ratings["credit_code"] == explain)
        if rated.height == 0:
            raise DataError(f"'--explain' must be a rated credit code; got {explain!r}.")
        for y in rated["year"].to_list():
            click.echo(result.explain(explain, y))
    click.echo(f"tax ratings: {result.ratings.height} rows -> {ctx.config.paths.ratings}")


@rate_group.command("rural")
@click.option(
    "--year", type=int, default=None, help="Rate this year only; default: every data year."
)
@pass_ctx
@friendly_errors
def rate_rural_command(ctx: Context, year: int | None) -> None:
    """Household (信用户), credit village, town and county ratings with their reasons.

    Reads the validated records; writes household_ratings, household_points,
    village_ratings, town_ratings, county_ratings and rural_criteria (.parquet) under
    paths.ratings; prints rated and credit households and credit areas per year.
    """
    from scoring.ratings import run_rural_ratings

    result = run_rural_ratings(ctx.config, year=year, progress=True)
    _echo_frame(result.summary(), empty="no households to rate.")
    click.echo(f"rural ratings: {result.households.height} rows -> {ctx.config.paths.ratings}")


@cli.command("lists")
@click.option(
    "--year",
    type=int,
    default=None,
    help="Lists in force on 31 December of YEAR; default: every data year.",
)
@pass_ctx
@friendly_errors
def lists_command(ctx: Context, year: int | None) -> None:
    """Joint reward and punishment lists (红名单 / 黑名单) with reasons and expiry dates.

    Needs `scoring rate tax` and `scoring rate rural` first. Writes red_list.parquet and
    black_list.parquet under paths.ratings; prints the entries per list and reason.
    """
    from scoring.ratings import run_lists

    result = run_lists(ctx.config, year=year)
    _echo_frame(result.summary(), empty="no list entries.")
    click.echo(
        f"lists: {result.red.height} red, {result.black.height} black -> {ctx.config.paths.ratings}"
    )


# -- model lifecycle (tracking.py, lifecycle.py, batch.py) ----------------------------------

_SEGMENT = click.Choice(["sme", "household"])


def _echo_registered(reg: Any) -> None:
    click.echo(f"registered {reg.name} version {reg.version} as {reg.alias} ({reg.reason})")


@cli.command("train")
@click.argument("segment", type=_SEGMENT)
@click.option(
    "--model",
    "model_type",
    type=click.Choice(["scorecard", "gbm"]),
    default="scorecard",
    show_default=True,
    help="Points scorecard or the gradient-boosting challenger.",
)
@pass_ctx
@friendly_errors
def train_command(ctx: Context, segment: str, model_type: str) -> None:
    """Train, evaluate and log a credit model in MLflow; register it.

    Reads the observable rows of the segment's credit file, splits them per [model]
    (train/test on the earlier snapshots, out-of-time on the later ones), logs one run in
    experiment <segment>-credit (params, data fingerprint, metrics per split and region,
    report, model card, pyfunc model) and registers it: the first model of a segment
    becomes champion, later ones challenger. Store: $MLFLOW_TRACKING_URI or
    sqlite:///<paths.mlruns>/mlflow.db.
    """
    from scoring.lifecycle import register_run
    from scoring.tracking import train_and_log

    run = train_and_log(ctx.config, segment=segment, model_type=model_type)
    m = run.metrics
    click.echo(
        f"{segment} {model_type}: AUC train {m['train_auc']:.3f}, test {m['test_auc']:.3f}, "
        f"out-of-time {m['oot_auc']:.3f}"
        + (f" (truth ceiling {m['oot_auc_ceiling']:.3f})" if "oot_auc_ceiling" in m else "")
        + f"; KS {m['oot_ks']:.3f}; PSI {m['psi_train_oot']:.3f}"
    )
    click.echo(
        f"run {run.run_id} in {run.tracking_uri} (MLflow logging {run.logging_seconds:.2f} s)"
    )
    _echo_registered(register_run(ctx.config, run))


@cli.command("log-pending")
@click.argument("folders", nargs=-1, type=click.Path(path_type=Path, file_okay=False))
@pass_ctx
@friendly_errors
def log_pending_command(ctx: Context, folders: tuple[Path, ...]) -> None:
    """Log and register trained runs kept after a tracking failure.

    FOLDERS default to every folder under <paths.mlruns>/pending.
    """
    from scoring.lifecycle import register_run
    from scoring.tracking import log_staged, pending_runs

    todo = list(folders) or pending_runs(ctx.config)
    if not todo:
        click.echo("nothing pending.")
    for folder in todo:
        run = log_staged(ctx.config, folder)
        click.echo(f"logged {folder.name} as run {run.run_id}")
        _echo_registered(register_run(ctx.config, run))


@cli.command("register")
@click.argument("run_id")
@pass_ctx
@friendly_errors
def register_command(ctx: Context, run_id: str) -> None:
    """Register the model of a logged `scoring train` run (champion if first, else challenger)."""
    from scoring.lifecycle import register_run

    _echo_registered(register_run(ctx.config, run_id))


@cli.command("promote")
@click.argument("segment", type=_SEGMENT)
@click.option("--force", is_flag=True, help="Promote even if the gate refuses (needs --why).")
@click.option("--why", default=None, help="Why the gate is overridden (recorded as a tag).")
@pass_ctx
@friendly_errors
def promote_command(ctx: Context, segment: str, force: bool, why: str | None) -> None:
    """Make the challenger champion if it passes the gate of [model.gate].

    Checks: out-of-time AUC above the champion's by min_auc_gain, calibration by grade in
    band, score PSI under max_psi, no feature against its expected direction. The
    decision and every check are written as tags on both versions. Exit code 1 when the
    gate refuses.
    """
    from scoring.lifecycle import promote

    result = promote(ctx.config, segment=segment, force=force, why=why)
    for check in result.checks:
        click.echo(f"  {check.text()}")
    against = f"champion version {result.champion}" if result.champion else "no champion"
    click.echo(
        f"{result.name}: challenger version {result.challenger} vs {against}: {result.decision}"
    )
    if not result.promoted:
        sys.exit(1)


@cli.command("score")
@click.option("--segment", required=True, type=_SEGMENT, help="Which credit files to score.")
@click.option("--as-of", "as_of", required=True, type=_DATE, help="Snapshot date YYYY-MM-DD.")
@click.option(
    "--engine",
    type=click.Choice(["polars", "spark"]),
    default="polars",
    show_default=True,
    help="Where to score: this process, or Spark via MLflow's Spark UDF (the `spark` extra).",
)
@click.option(
    "--master",
    default=None,
    help="Spark master URL with --engine spark (default: $SPARK_MASTER or local[*]).",
)
@click.option(
    "--batch-rows",
    "batch_rows",
    type=click.IntRange(min=1),
    default=200_000,
    show_default=True,
    help="Rows read, scored and written at a time (memory grows with it).",
)
@pass_ctx
@friendly_errors
def score_command(
    ctx: Context, segment: str, as_of: Any, engine: str, master: str | None, batch_rows: int
) -> None:
    """Score a snapshot with the champion (models:/<segment>-credit@champion).

    Streams the credit file in batches and writes paths.scored/<segment>/<as-of>.parquet
    atomically (read by exports and marts), stamped with the model's name, version and
    run id.
    """
    from scoring.batch import score_snapshot

    r = score_snapshot(
        ctx.config,
        segment=segment,
        as_of=as_of.date(),
        engine=engine,
        master=master,
        batch_rows=batch_rows,
    )
    grades = ", ".join(f"{g} {n}" for g, n in r.grades.items())
    click.echo(
        f"scored {r.rows} {segment} entities with {r.model_name} version {r.model_version} "
        f"(run {r.run_id}) in {r.seconds:.1f} s -> {r.path}"
    )
    click.echo(f"grades: {grades}")


# -- pilot evaluation (evaluation.py) --------------------------------------------------------


@cli.command("evaluate")
@click.option(
    "--reps",
    type=click.IntRange(min=0),
    default=9999,
    show_default=True,
    help="Wild cluster bootstrap replications (0: cluster-robust intervals only).",
)
@click.option(
    "--seed", type=int, default=20120901, show_default=True, help="Seed of the bootstrap."
)
@click.option(
    "--unweighted", is_flag=True, help="Weight every region-month equally (default: by its size)."
)
@pass_ctx
@friendly_errors
def evaluate_command(ctx: Context, reps: int, seed: int, unweighted: bool) -> None:
    """Did the pilot work? Difference-in-differences of the pilot regions against the others.

    Reads paths.validated (and paths.truth when the records are generated); prints per
    outcome the estimate with its cluster-robust and wild bootstrap 95% intervals beside
    the planted effect, the placebo (a start one year earlier) and the pre-trend test,
    and writes the pilot_effects mart to paths.marts. Needs the `evaluation` extra.
    """
    from scoring.evaluation import evaluate_pilot
    from scoring.marts import write_mart

    result = evaluate_pilot(ctx.config, reps=reps, seed=seed, weighted=not unweighted)
    _echo_frame(result.summary(), empty="no outcomes evaluated.")
    if not result.planted:
        click.echo("planted: no truth in paths.truth (records not generated).")
    path = write_mart("pilot_effects", result.effects_frame(), config=ctx.config)
    click.echo(f"pilot_effects -> {path}")


# -- a scorecard on the user's own table (owndata.py) -----------------------------------------


@cli.group("card")
def card_group() -> None:
    """A scorecard on your own CSV or Parquet file of loans: fit, then apply."""


@card_group.command("fit")
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--target", required=True, help="Column of the default flag (0/1, 1 = bad).")
@click.option("--bad", default=None, help="When the target is not 0/1: its value that means bad.")
@click.option("--id", "id_column", default=None, help="Column identifying a row (not a feature).")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder for the scorecard and its report (default: <data name>_scorecard/ beside it).",
)
@click.option(
    "--test-share",
    type=click.FloatRange(min=0, max=1, max_open=True),
    default=0.3,
    show_default=True,
    help="Share of rows held out to measure the scorecard (stratified).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the hold-out.")
@pass_ctx
@friendly_errors
def card_fit(
    ctx: Context,
    data: Path,
    target: str,
    bad: str | None,
    id_column: str | None,
    out: Path | None,
    test_share: float,
    seed: int,
) -> None:
    """Fit a scorecard (WoE bins, selection, points, reasons) on DATA and write a report.

    Columns that must not be features are set aside with the reason (the id, dates,
    resident id numbers, credit codes, names and other identifier-like text). The folder
    holds scorecard.json (reused by `scoring card apply`), scorecard.csv, bins.csv,
    selection.csv, scores.csv, metrics.json and report.html.
    """
    from scoring.owndata import fit_card

    folder = out if out is not None else data.with_name(f"{data.stem}_scorecard")
    r = fit_card(
        data,
        target=target,
        bad=bad,
        id_column=id_column,
        out=folder,
        test_share=test_share,
        seed=seed,
    )
    click.echo(f"{r.rows} rows, {r.bads} bad ({r.bads / r.rows:.1%})")
    for name, why in r.set_aside.items():
        click.echo(f"  not a feature: {name}: {why}")
    click.echo(
        f"features: {len(r.features_used)} of {r.features_offered} kept: "
        + ", ".join(r.features_used)
    )
    measured = ", ".join(f"{k} {v:.3f}" for k, v in r.metrics.items())
    click.echo(f"{measured}")
    click.echo(f"scorecard and report -> {r.folder} (open report.html)")


@card_group.command("apply")
@click.argument("card", type=click.Path(path_type=Path))
@click.argument("data", type=click.Path(path_type=Path))
@click.option(
    "--out", type=click.Path(path_type=Path), required=True, help="Scored file: .csv or .parquet."
)
@click.option("--id", "id_column", default=None, help="Column identifying a row, copied over.")
@pass_ctx
@friendly_errors
def card_apply(ctx: Context, card: Path, data: Path, out: Path, id_column: str | None) -> None:
    """Score DATA with a saved scorecard (CARD: the scorecard.json of `scoring card fit`)."""
    from scoring.owndata import apply_card

    path = apply_card(card, data, out=out, id_column=id_column)
    click.echo(f"scored -> {path}")


# -- analyst reports (reports.py) -----------------------------------------------------------


@cli.command("reports")
@click.option(
    "--only",
    multiple=True,
    help="Run only notebooks whose name starts with this (e.g. 02); repeatable.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=900,
    show_default=True,
    help="Seconds a single cell may run.",
)
@pass_ctx
@friendly_errors
def reports_command(ctx: Context, only: tuple[str, ...], timeout: float) -> None:
    """Execute the analyst notebooks (notebooks/) and write HTML reports to paths.reports.

    Each notebook runs in a fresh kernel on this configuration, in order (02 and 03
    train, log and promote the models that 04 reads). A report is written only when its
    notebook ran through; the error names the notebook, the cell and the exception.
    Needs the `notebooks` extra.
    """
    from scoring.reports import build_reports

    for r in build_reports(ctx.config, only=only, timeout=timeout):
        click.echo(
            f"{r.notebook.name}: {r.cells} cells, {r.figures} charts, {r.seconds:.1f} s "
            f"-> {r.report}"
        )


# -- dashboards (marts.py, serve.py) ---------------------------------------------------------


@cli.command("marts")
@pass_ctx
@friendly_errors
def marts_command(ctx: Context) -> None:
    """Build the dashboard marts (aggregates only) in paths.marts.

    Reads the validated records, the credit files and the ratings; groups with fewer
    entities than [marts] min_group_size are suppressed. Marts whose input is missing
    are skipped (and listed).
    """
    from scoring.marts import build_marts

    summary = build_marts(ctx.config)
    for name, (rows, suppressed) in summary.written.items():
        click.echo(f"{name}: {rows} rows ({suppressed} suppressed)")
    for name, why in summary.skipped.items():
        click.echo(f"{name}: skipped ({why})")
    click.echo(
        f"marts: {len(summary.written)} written to {summary.folder} "
        f"(groups under {summary.min_group_size} entities suppressed)"
    )


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8866, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--dashboards",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder of dashboard notebooks (default: dashboards/ of the project).",
)
@pass_ctx
@friendly_errors
def serve_command(ctx: Context, host: str, port: int, dashboards: Path | None) -> None:
    """Serve the leadership dashboards with Voila until Ctrl-C or SIGTERM.

    Read-only: aggregates from paths.marts only, no code execution from the browser,
    no file or contents API. Idle kernels are culled; all kernels stop with the server.
    """
    from scoring.serve import serve_dashboards

    serve_dashboards(
        ctx.config,
        host=host,
        port=port,
        dashboards=dashboards,
        announce=lambda line: click.echo(line, err=False),
    )


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="scoring")


if __name__ == "__main__":
    main()
