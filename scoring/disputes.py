"""Objections (异议): an append-only SQLite store of dispute events and their derived state.

RULES.md section 5 (Art.25 of the 2013 credit-reporting regulation): a disputed item is
flagged, checked within 20 days, then corrected, upheld (the flag is lifted) or recorded as
unresolved. The store keeps that history as **events**; it never deletes or changes a row:

======================  =====================================================================
``dispute_events``      one row per state change: ``dispute_id``, ``seq`` (1 = opened,
                        2 = resolved), ``event`` (``opened`` / ``resolved``), ``outcome``
                        (``corrected`` / ``upheld`` / ``unresolved``), the entity
                        (``entity_type``, ``entity_id``), the disputed record (``source_table``,
                        ``source_record_id``), ``reason`` (why it is disputed), ``note`` (the
                        handler's note), ``actor`` (staff or department id), ``event_date``
                        (the business date), ``corrected_values`` (JSON), ``origin``
                        (``api``, ``cli`` or ``import:<file>``) and ``recorded_at`` (UTC).
``dispute_state``       a view: the current state of each dispute, derived from the events.
======================  =====================================================================

Guarantees, enforced by the database itself and not only by this module:

- append-only: triggers ``RAISE(ABORT)`` on any ``UPDATE`` or ``DELETE`` of an event;
- valid transitions: a trigger refuses opening an existing id, resolving an unknown or an
  already resolved dispute, and a resolution dated before the opening; ``UNIQUE(dispute_id,
  seq)`` makes a double resolution impossible even between racing writers;
- concurrent writers: WAL journal, a busy timeout (``[disputes] busy_timeout_seconds``),
  every write in a ``BEGIN IMMEDIATE`` transaction retried on ``SQLITE_BUSY``, so several
  processes writing at once lose no event.

Only ids go in: entity ids, record ids and staff ids. The free-text fields (reason, note,
corrected values) are refused when they contain a resident id number (GB 11643 pattern with a
valid check character); names cannot be detected, so do not write them.

The department's own ``disputes`` table (raw history, see ``scoring.schema``) is imported with
:meth:`DisputeStore.import_table` (``scoring dispute import``): idempotent, it appends the
openings and resolutions the store does not have yet, so the store is the one place exports
(``under_dispute``) and the overdue list read from.

Examples
--------
>>> import datetime as dt, tempfile
>>> store = DisputeStore(Path(tempfile.mkdtemp()) / "disputes.sqlite")
>>> d = store.open(
...     entity_type="sme", entity_id="91440300MA5D0Y2X2X", source_table="loan_repayments",
...     source_record_id="R1", reason="repaid on time", actor="staff-7",
...     opened_on=dt.date(2013, 3, 1),
... )
>>> d.state
'open'
>>> store.overdue(dt.date(2013, 3, 31))["dispute_id"].to_list() == [d.dispute_id]
True
>>> store.resolve(
...     d.dispute_id, outcome="corrected", actor="staff-9", resolved_on=dt.date(2013, 3, 15),
...     corrected_values={"days_past_due": 0},
... ).state
'corrected'
>>> store.events().height
2
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from scoring.codes import is_valid_resident_id
from scoring.config import WorkbenchConfig
from scoring.exceptions import DataError, DisputeError, SchemaError, StoreError
from scoring.schema import DISPUTE_OUTCOMES, ENTITY_TYPES, TABLES

__all__ = [
    "OUTCOMES",
    "STATES",
    "STORE_SCHEMA_VERSION",
    "Dispute",
    "DisputeStore",
    "ImportSummary",
    "disputes_in_force",
    "record_left_out",
]

T = TypeVar("T")

STORE_SCHEMA_VERSION = 1
"""``PRAGMA user_version`` of a store this module writes."""
OUTCOMES = DISPUTE_OUTCOMES
"""How a dispute is settled: ``corrected``, ``upheld`` or ``unresolved``."""
STATES = ("open", *OUTCOMES)
"""The derived state of a dispute."""


def record_left_out(as_of: dt.date, *, exclude_open: bool) -> pl.Expr:
    """Per dispute row: does it take its record out of use on ``as_of``? (the one rule)

    A dispute opened by ``as_of`` and settled by then as ``corrected`` found the record
    wrong: it is never used again. A dispute still open on ``as_of`` leaves the record out
    when ``exclude_open`` (``[collection] exclude_open_disputes``). Upheld and unresolved
    disputes give the record back. Reads ``opened_date``, ``resolved_date`` and
    ``outcome``; credit files (:mod:`scoring.collect`) and ratings use this rule.

    Examples
    --------
    >>> d = pl.DataFrame({"opened_date": [dt.date(2012, 5, 1)] * 3,
    ...     "resolved_date": [None, dt.date(2012, 6, 1), dt.date(2013, 6, 1)],
    ...     "outcome": [None, "upheld", "corrected"]})
    >>> d.select(record_left_out(dt.date(2012, 12, 31), exclude_open=True)).to_series().to_list()
    [True, False, True]
    >>> d.select(record_left_out(dt.date(2013, 12, 31), exclude_open=False)).to_series().to_list()
    [False, False, True]
    """
    opened = pl.col("opened_date") <= as_of
    settled = pl.col("outcome").is_not_null() & (pl.col("resolved_date") <= as_of).fill_null(
        value=False
    )
    out = settled & (pl.col("outcome") == "corrected")
    if exclude_open:
        out = out | ~settled
    return (opened & out).fill_null(value=False)


_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
_RESIDENT_ID = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")

_DDL = (
    """
    CREATE TABLE IF NOT EXISTS dispute_events (
        event_id         INTEGER PRIMARY KEY AUTOINCREMENT,
        dispute_id       TEXT    NOT NULL,
        seq              INTEGER NOT NULL CHECK (seq >= 1),
        event            TEXT    NOT NULL CHECK (event IN ('opened', 'resolved')),
        outcome          TEXT    CHECK (outcome IN ('corrected', 'upheld', 'unresolved')),
        entity_type      TEXT    NOT NULL CHECK (entity_type IN ('sme', 'household')),
        entity_id        TEXT    NOT NULL CHECK (entity_id <> ''),
        source_table     TEXT    NOT NULL CHECK (source_table <> ''),
        source_record_id TEXT    NOT NULL CHECK (source_record_id <> ''),
        reason           TEXT,
        note             TEXT,
        actor            TEXT    NOT NULL CHECK (actor <> ''),
        event_date       TEXT    NOT NULL
                         CHECK (event_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
        corrected_values TEXT    CHECK (corrected_values IS NULL OR json_valid(corrected_values)),
        origin           TEXT    NOT NULL,
        recorded_at      TEXT    NOT NULL,
        UNIQUE (dispute_id, seq),
        CHECK ((event = 'opened') = (outcome IS NULL)),
        CHECK (event = 'resolved' OR (reason IS NOT NULL AND reason <> '')),
        CHECK ((outcome IS 'corrected') = (corrected_values IS NOT NULL))
    )
    """,
    "CREATE INDEX IF NOT EXISTS dispute_events_entity ON dispute_events (entity_type, entity_id)",
    """
    CREATE TRIGGER IF NOT EXISTS dispute_events_no_update BEFORE UPDATE ON dispute_events
    BEGIN SELECT RAISE(ABORT, 'dispute_events is append-only: UPDATE refused'); END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS dispute_events_no_delete BEFORE DELETE ON dispute_events
    BEGIN SELECT RAISE(ABORT, 'dispute_events is append-only: DELETE refused'); END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS dispute_events_transition BEFORE INSERT ON dispute_events
    BEGIN
        SELECT RAISE(ABORT, 'dispute already exists')
        WHERE NEW.event = 'opened'
          AND EXISTS (SELECT 1 FROM dispute_events WHERE dispute_id = NEW.dispute_id);
        SELECT RAISE(ABORT, 'unknown dispute')
        WHERE NEW.event = 'resolved'
          AND NOT EXISTS (SELECT 1 FROM dispute_events
                          WHERE dispute_id = NEW.dispute_id AND event = 'opened');
        SELECT RAISE(ABORT, 'dispute already resolved')
        WHERE NEW.event = 'resolved'
          AND EXISTS (SELECT 1 FROM dispute_events
                      WHERE dispute_id = NEW.dispute_id AND event = 'resolved');
        SELECT RAISE(ABORT, 'resolution dated before the opening')
        WHERE NEW.event = 'resolved'
          AND NEW.event_date < (SELECT event_date FROM dispute_events
                                WHERE dispute_id = NEW.dispute_id AND event = 'opened');
    END
    """,
    """
    CREATE VIEW IF NOT EXISTS dispute_state AS
    SELECT o.dispute_id, o.entity_type, o.entity_id, o.source_table, o.source_record_id,
           o.reason, o.event_date AS opened_on, o.actor AS opened_by,
           COALESCE(r.outcome, 'open') AS state, r.event_date AS resolved_on,
           r.actor AS resolved_by, r.corrected_values, r.note, o.origin
    FROM dispute_events AS o
    LEFT JOIN dispute_events AS r ON r.dispute_id = o.dispute_id AND r.event = 'resolved'
    WHERE o.event = 'opened'
    """,
)

# The view's query, with an optional as-of date (state as it stood at the end of that day).
_STATE_SQL = """
SELECT o.dispute_id, o.entity_type, o.entity_id, o.source_table, o.source_record_id,
       o.reason, o.event_date AS opened_on, o.actor AS opened_by,
       COALESCE(r.outcome, 'open') AS state, r.event_date AS resolved_on,
       r.actor AS resolved_by, r.corrected_values, r.note, o.origin
FROM dispute_events AS o
LEFT JOIN dispute_events AS r
       ON r.dispute_id = o.dispute_id AND r.event = 'resolved'
      AND (:as_of IS NULL OR r.event_date <= :as_of)
WHERE o.event = 'opened' AND (:as_of IS NULL OR o.event_date <= :as_of)
ORDER BY o.event_id
"""

_STATE_COLUMNS = (
    "dispute_id",
    "entity_type",
    "entity_id",
    "source_table",
    "source_record_id",
    "reason",
    "opened_on",
    "opened_by",
    "state",
    "resolved_on",
    "resolved_by",
    "corrected_values",
    "note",
    "origin",
)

_EVENT_COLUMNS = (
    "event_id",
    "dispute_id",
    "seq",
    "event",
    "outcome",
    "entity_type",
    "entity_id",
    "source_table",
    "source_record_id",
    "reason",
    "note",
    "actor",
    "event_date",
    "corrected_values",
    "origin",
    "recorded_at",
)


@dataclass(frozen=True, slots=True)
class Dispute:
    """The current state of one dispute, derived from its events."""

    dispute_id: str
    entity_type: str
    entity_id: str
    source_table: str
    source_record_id: str
    reason: str
    opened_on: dt.date
    opened_by: str
    state: str
    resolved_on: dt.date | None = None
    resolved_by: str | None = None
    corrected_values: Mapping[str, Any] | None = None
    note: str | None = None

    def days_open(self, as_of: dt.date) -> int:
        """Calendar days from opening to ``as_of`` (or to the resolution, if earlier).

        Examples
        --------
        >>> d = Dispute("D1", "sme", "E", "loans", "L1", "r", dt.date(2013, 1, 1), "s", "open")
        >>> d.days_open(dt.date(2013, 1, 21))
        20
        """
        end = self.resolved_on if self.resolved_on is not None else as_of
        return (min(end, as_of) - self.opened_on).days


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What :meth:`DisputeStore.import_table` appended."""

    opened: int
    resolved: int
    skipped: int


def _check_text(name: str, value: object, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise DataError(f"'{name}' must be a non-empty string; got {value!r}.")
    for match in _RESIDENT_ID.finditer(value):
        if is_valid_resident_id(match.group().upper()):
            raise DataError(
                f"'{name}' must not contain a resident id number (personal data); "
                f"got one at position {match.start()}."
            )
    return value


def _check_id(name: str, value: object) -> str:
    if not isinstance(value, str) or not _ID_PATTERN.fullmatch(value):
        raise DataError(
            f"'{name}' must be 1-64 characters of letters, digits, '_', '.', ':' or '-'; "
            f"got {value!r}."
        )
    return _check_text(name, value)


def _check_date(name: str, value: object) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise DataError(f"'{name}' must be a date; got {value!r}.")
    return value


def _is_busy(exc: sqlite3.Error) -> bool:
    name = getattr(exc, "sqlite_errorname", "")
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in str(exc)


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


class DisputeStore:
    """The dispute store at ``path`` (created on the first write).

    Parameters
    ----------
    path
        The SQLite file (``paths.disputes_db``).
    busy_timeout_seconds
        How long a writer waits for the lock before giving up with a :class:`StoreError`.
    settle_within_days
        The settlement limit used by :meth:`overdue` (calendar days from the opening).

    Examples
    --------
    >>> from scoring.config import load_config
    >>> store = DisputeStore.from_config(load_config())
    >>> store.settle_within_days
    20
    """

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout_seconds: float = 10.0,
        settle_within_days: int = 20,
    ) -> None:
        self.path = Path(path)
        self.busy_timeout_seconds = busy_timeout_seconds
        self.settle_within_days = settle_within_days
        self._ready = False

    @classmethod
    def from_config(cls, config: WorkbenchConfig) -> DisputeStore:
        """The store named by ``paths.disputes_db`` with the ``[disputes]`` settings."""
        return cls(
            config.paths.disputes_db,
            busy_timeout_seconds=config.disputes.busy_timeout_seconds,
            settle_within_days=config.disputes.settle_within_days,
        )

    # -- connections ---------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path, timeout=self.busy_timeout_seconds, isolation_level=None
            )
        except sqlite3.Error as exc:
            raise StoreError(
                f"'disputes_db' must be a usable SQLite file; opening {self.path} failed: {exc}."
            ) from None
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    def _retrying(self, work: Callable[[], T]) -> T:
        """Run ``work``, retrying on SQLITE_BUSY until the busy timeout has passed."""
        deadline = time.monotonic() + self.busy_timeout_seconds
        pause = 0.005
        while True:
            try:
                return work()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise StoreError(
                        f"'disputes_db' must be a usable SQLite database; {self.path}: {exc}."
                    ) from None
                if time.monotonic() >= deadline:
                    raise StoreError(
                        f"'disputes_db' must become free to write within "
                        f"{self.busy_timeout_seconds} s; {self.path} stayed locked ({exc})."
                    ) from None
                time.sleep(pause * (1 + random.random()))
                pause = min(pause * 2, 0.2)
            except sqlite3.IntegrityError:
                raise
            except sqlite3.DatabaseError as exc:
                raise StoreError(
                    f"'disputes_db' must be a dispute store (SQLite); {self.path}: {exc}."
                ) from None

    def _ensure_schema(self) -> None:
        if self._ready:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)

        def init() -> None:
            with closing(self._connect()) as conn:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise StoreError(
                        f"'disputes_db' must support WAL journaling; {self.path} is in {mode}."
                    )
                conn.execute("BEGIN IMMEDIATE")
                try:
                    version = conn.execute("PRAGMA user_version").fetchone()[0]
                    if version > STORE_SCHEMA_VERSION:
                        raise StoreError(
                            f"'disputes_db' must be at schema version <= "
                            f"{STORE_SCHEMA_VERSION}; {self.path} is at {version} "
                            "(written by a newer workbench)."
                        )
                    for statement in _DDL:
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {STORE_SCHEMA_VERSION}")
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise

        self._retrying(init)
        self._ready = True

    def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` inside one ``BEGIN IMMEDIATE`` transaction, retried while busy."""
        self._ensure_schema()

        def attempt() -> T:
            with closing(self._connect()) as conn:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = work(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                return result

        try:
            return self._retrying(attempt)
        except sqlite3.IntegrityError as exc:  # a trigger or constraint: the race backstop
            raise DisputeError(f"'dispute' must make a valid transition; refused: {exc}.") from None

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection | None]:
        if not self.path.exists():
            yield None
            return
        self._ensure_schema()
        with closing(self._connect()) as conn:
            yield conn

    def _query(self, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        def run() -> list[tuple[Any, ...]]:
            with self._reading() as conn:
                return [] if conn is None else conn.execute(sql, dict(params)).fetchall()

        return self._retrying(run)

    # -- writes --------------------------------------------------------------------------

    @staticmethod
    def _insert(
        conn: sqlite3.Connection,
        *,
        dispute_id: str,
        seq: int,
        event: str,
        outcome: str | None,
        opened: Mapping[str, str],
        reason: str | None,
        note: str | None,
        actor: str,
        event_date: dt.date,
        corrected_values: str | None,
        origin: str,
    ) -> None:
        conn.execute(
            "INSERT INTO dispute_events (dispute_id, seq, event, outcome, entity_type, "
            "entity_id, source_table, source_record_id, reason, note, actor, event_date, "
            "corrected_values, origin, recorded_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                dispute_id,
                seq,
                event,
                outcome,
                opened["entity_type"],
                opened["entity_id"],
                opened["source_table"],
                opened["source_record_id"],
                reason,
                note,
                actor,
                event_date.isoformat(),
                corrected_values,
                origin,
                _utc_now(),
            ),
        )

    def open(
        self,
        *,
        entity_type: str,
        entity_id: str,
        source_table: str,
        source_record_id: str,
        reason: str,
        actor: str,
        opened_on: dt.date | None = None,
        dispute_id: str | None = None,
        origin: str = "api",
    ) -> Dispute:
        """Open a dispute on one record of one entity.

        Parameters
        ----------
        entity_type, entity_id
            The entity (``sme`` + credit code, or ``household`` + household id).
        source_table, source_record_id
            The disputed record: a raw table of ``scoring.schema.TABLES`` and its record id.
        reason
            Why it is disputed (no personal data).
        actor
            Who records it: a staff or department id, not a name.
        opened_on
            The date the objection was received (default: today); the 20-day clock starts here.
        dispute_id
            Default: ``DSP-<YYYYMMDD>-<8 hex>``.

        Raises
        ------
        DisputeError
            The record is already under an open dispute, or the id is taken.

        Examples
        --------
        >>> import tempfile
        >>> s = DisputeStore(Path(tempfile.mkdtemp()) / "d.sqlite")
        >>> s.open(entity_type="household", entity_id="H1", source_table="loans",
        ...        source_record_id="L1", reason="never borrowed", actor="clerk-1").state
        'open'
        """
        if entity_type not in ENTITY_TYPES:
            raise DataError(
                f"'entity_type' must be one of {', '.join(ENTITY_TYPES)}; got {entity_type!r}."
            )
        if source_table not in TABLES:
            raise DataError(
                f"'source_table' must be a raw table ({', '.join(sorted(TABLES))}); "
                f"got {source_table!r}."
            )
        day = _check_date("opened_on", opened_on if opened_on is not None else dt.date.today())
        record = {
            "entity_type": entity_type,
            "entity_id": _check_id("entity_id", entity_id),
            "source_table": source_table,
            "source_record_id": _check_id("source_record_id", source_record_id),
        }
        text = _check_text("reason", reason)
        who = _check_id("actor", actor)
        did = (
            _check_id("dispute_id", dispute_id)
            if dispute_id is not None
            else f"DSP-{day:%Y%m%d}-{uuid.uuid4().hex[:8].upper()}"
        )

        def work(conn: sqlite3.Connection) -> None:
            if conn.execute("SELECT 1 FROM dispute_events WHERE dispute_id = ?", (did,)).fetchone():
                raise DisputeError(f"'dispute_id' must be new; {did!r} already exists.")
            clash = conn.execute(
                "SELECT o.dispute_id FROM dispute_events AS o WHERE o.event = 'opened' "
                "AND o.source_table = ? AND o.source_record_id = ? AND NOT EXISTS "
                "(SELECT 1 FROM dispute_events AS r WHERE r.dispute_id = o.dispute_id "
                "AND r.event = 'resolved')",
                (source_table, source_record_id),
            ).fetchone()
            if clash:
                raise DisputeError(
                    f"'{source_table}/{source_record_id}' must not be under an open dispute "
                    f"to open another; got open dispute {clash[0]!r}."
                )
            self._insert(
                conn,
                dispute_id=did,
                seq=1,
                event="opened",
                outcome=None,
                opened=record,
                reason=text,
                note=None,
                actor=who,
                event_date=day,
                corrected_values=None,
                origin=origin,
            )

        self._write(work)
        return self.get(did)

    def resolve(
        self,
        dispute_id: str,
        *,
        outcome: str,
        actor: str,
        resolved_on: dt.date | None = None,
        corrected_values: Mapping[str, Any] | None = None,
        note: str | None = None,
        origin: str = "api",
    ) -> Dispute:
        """Settle an open dispute as ``corrected`` (with the corrected values), ``upheld``
        (the record stands; the flag is lifted) or ``unresolved`` (recorded as such).

        Raises
        ------
        DisputeError
            Unknown dispute, already resolved, or resolved before it was opened.

        Examples
        --------
        >>> import tempfile
        >>> s = DisputeStore(Path(tempfile.mkdtemp()) / "d.sqlite")
        >>> d = s.open(entity_type="sme", entity_id="E1", source_table="loans",
        ...            source_record_id="L1", reason="not my loan", actor="clerk-1")
        >>> s.resolve(d.dispute_id, outcome="upheld", actor="clerk-2").state
        'upheld'
        >>> s.resolve(d.dispute_id, outcome="upheld", actor="clerk-2")
        Traceback (most recent call last):
        ...
        scoring.exceptions.DisputeError: 'DSP-...' must be open to be resolved; it was already resolved as upheld on ... by clerk-2.
        """  # noqa: E501
        if outcome not in OUTCOMES:
            raise DataError(f"'outcome' must be one of {', '.join(OUTCOMES)}; got {outcome!r}.")
        if outcome == "corrected":
            if not isinstance(corrected_values, Mapping) or not corrected_values:
                raise DataError(
                    "'corrected_values' must be a non-empty mapping of field to corrected "
                    f"value when the outcome is corrected; got {corrected_values!r}."
                )
        elif corrected_values is not None:
            raise DataError(
                f"'corrected_values' must be given only with outcome corrected; got {outcome!r}."
            )
        values_json = None
        if corrected_values is not None:
            try:
                values_json = json.dumps(dict(corrected_values), ensure_ascii=False, sort_keys=True)
            except (TypeError, ValueError) as exc:
                raise DataError(
                    f"'corrected_values' must be JSON-serialisable; got {corrected_values!r} "
                    f"({exc})."
                ) from None
            _check_text("corrected_values", values_json)
        day = _check_date(
            "resolved_on", resolved_on if resolved_on is not None else dt.date.today()
        )
        who = _check_id("actor", actor)
        memo = _check_text("note", note) if note is not None else None
        did = str(dispute_id)

        def work(conn: sqlite3.Connection) -> None:
            rows = conn.execute(
                "SELECT event, outcome, event_date, actor, entity_type, entity_id, "
                "source_table, source_record_id FROM dispute_events WHERE dispute_id = ? "
                "ORDER BY seq",
                (did,),
            ).fetchall()
            if not rows:
                raise DisputeError(f"'dispute_id' must be a known dispute; got {did!r}.")
            for event, done, when, by, *_ in rows:
                if event == "resolved":
                    raise DisputeError(
                        f"'{did}' must be open to be resolved; it was already resolved as "
                        f"{done} on {when} by {by}."
                    )
            first = rows[0]
            if day.isoformat() < first[2]:
                raise DisputeError(
                    f"'resolved_on' must be on or after the opening date {first[2]}; got {day}."
                )
            keys = ("entity_type", "entity_id", "source_table", "source_record_id")
            self._insert(
                conn,
                dispute_id=did,
                seq=len(rows) + 1,
                event="resolved",
                outcome=outcome,
                opened=dict(zip(keys, first[4:], strict=True)),
                reason=None,
                note=memo,
                actor=who,
                event_date=day,
                corrected_values=values_json,
                origin=origin,
            )

        self._write(work)
        return self.get(did)

    def import_table(self, table: pl.DataFrame, *, origin: str) -> ImportSummary:
        """Append the history of a department ``disputes`` table (``scoring.schema``).

        Idempotent: a dispute the store does not know is opened (and resolved, if the table
        says so); a dispute open in the store and resolved in the table gets its resolution;
        everything else is skipped. The table carries no corrected values, so a ``corrected``
        resolution is imported with ``{}`` and a note saying so. The whole import is one
        transaction.

        Examples
        --------
        >>> import tempfile
        >>> t = pl.DataFrame(
        ...     {"dispute_id": ["X1"], "entity_type": ["sme"], "entity_id": ["E1"],
        ...      "source_table": ["loans"], "source_record_id": ["L1"],
        ...      "opened_date": [dt.date(2013, 1, 2)], "reason": ["wrong amount"],
        ...      "resolved_date": [dt.date(2013, 1, 9)], "outcome": ["upheld"]}
        ... )
        >>> s = DisputeStore(Path(tempfile.mkdtemp()) / "d.sqlite")
        >>> s.import_table(t, origin="import:disputes.parquet")
        ImportSummary(opened=1, resolved=1, skipped=0)
        >>> s.import_table(t, origin="import:disputes.parquet")
        ImportSummary(opened=0, resolved=0, skipped=1)
        """
        expected = TABLES["disputes"].schema
        for name, dtype in expected.items():
            if name not in table.columns:
                raise SchemaError(f"'disputes' must have a column {name!r}; got {table.columns}.")
            if table.schema[name] != dtype and table.schema[name] != pl.Null:
                raise SchemaError(
                    f"'disputes.{name}' must be of type {dtype}; got {table.schema[name]}."
                )
        rows = table.select(list(expected)).rows(named=True)
        for i, row in enumerate(rows):
            try:
                _check_id("dispute_id", row["dispute_id"])
                _check_id("entity_id", row["entity_id"])
                _check_id("source_record_id", row["source_record_id"])
                _check_text("reason", row["reason"])
                if row["entity_type"] not in ENTITY_TYPES:
                    raise DataError(f"'entity_type' must be sme or household; got {row!r}.")
            except DataError as exc:
                raise DataError(f"disputes row {i} ({row['dispute_id']!r}): {exc}") from None
        origin = _check_text("origin", origin)

        def work(conn: sqlite3.Connection) -> ImportSummary:
            known = {
                did: (n, resolved)
                for did, n, resolved in conn.execute(
                    "SELECT dispute_id, count(*), max(event = 'resolved') FROM dispute_events "
                    "GROUP BY dispute_id"
                )
            }
            opened = resolved = skipped = 0
            for row in rows:
                did = row["dispute_id"]
                record = {k: row[k] for k in ("entity_type", "entity_id")} | {
                    "source_table": row["source_table"],
                    "source_record_id": row["source_record_id"],
                }
                n, done = known.get(did, (0, 0))
                if n == 0:
                    self._insert(
                        conn,
                        dispute_id=did,
                        seq=1,
                        event="opened",
                        outcome=None,
                        opened=record,
                        reason=row["reason"],
                        note=None,
                        actor="import",
                        event_date=row["opened_date"],
                        corrected_values=None,
                        origin=origin,
                    )
                    opened += 1
                    n = 1
                elif done or row["outcome"] is None:
                    skipped += 1
                    continue
                if row["outcome"] is not None and row["resolved_date"] is not None:
                    corrected = row["outcome"] == "corrected"
                    self._insert(
                        conn,
                        dispute_id=did,
                        seq=n + 1,
                        event="resolved",
                        outcome=row["outcome"],
                        opened=record,
                        reason=None,
                        note="imported; corrected values not in the department file"
                        if corrected
                        else "imported",
                        actor="import",
                        event_date=row["resolved_date"],
                        corrected_values="{}" if corrected else None,
                        origin=origin,
                    )
                    resolved += 1
            return ImportSummary(opened=opened, resolved=resolved, skipped=skipped)

        return self._write(work)

    # -- reads ---------------------------------------------------------------------------

    def disputes(
        self,
        *,
        as_of: dt.date | None = None,
        state: str | None = None,
        entity_id: str | None = None,
    ) -> pl.DataFrame:
        """The derived state of every dispute (as it stood at the end of ``as_of``, if given).

        Examples
        --------
        >>> import tempfile
        >>> DisputeStore(Path(tempfile.mkdtemp()) / "none.sqlite").disputes().height
        0
        """
        if state is not None and state not in STATES:
            raise DataError(f"'state' must be one of {', '.join(STATES)}; got {state!r}.")
        day = _check_date("as_of", as_of).isoformat() if as_of is not None else None
        rows = self._query(_STATE_SQL, {"as_of": day})
        frame = pl.DataFrame(
            rows,
            schema=dict.fromkeys(_STATE_COLUMNS, pl.String),
            orient="row",
        ).with_columns(pl.col("opened_on", "resolved_on").str.to_date("%Y-%m-%d"))
        if state is not None:
            frame = frame.filter(pl.col("state") == state)
        if entity_id is not None:
            frame = frame.filter(pl.col("entity_id") == entity_id)
        return frame

    def open_on(self, as_of: dt.date) -> pl.DataFrame:
        """Disputes open at the end of ``as_of`` (opened on or before it, not yet resolved).

        Examples
        --------
        >>> import tempfile
        >>> DisputeStore(Path(tempfile.mkdtemp()) / "x.sqlite").open_on(dt.date(2013, 1, 1)).height
        0
        """
        return self.disputes(as_of=as_of, state="open")

    def overdue(self, as_of: dt.date, *, within_days: int | None = None) -> pl.DataFrame:
        """Disputes still open on ``as_of`` more than ``within_days`` days after opening.

        ``within_days`` defaults to the store's ``settle_within_days`` (``[disputes]``, 20).
        Adds ``due_on`` (the last day to settle), ``days_open`` and ``days_overdue``.

        Examples
        --------
        >>> import tempfile
        >>> s = DisputeStore(Path(tempfile.mkdtemp()) / "d.sqlite")
        >>> _ = s.open(entity_type="sme", entity_id="E1", source_table="loans",
        ...            source_record_id="L1", reason="r", actor="a", opened_on=dt.date(2013, 1, 1))
        >>> s.overdue(dt.date(2013, 1, 21)).height, s.overdue(dt.date(2013, 1, 22)).height
        (0, 1)
        """
        limit = self.settle_within_days if within_days is None else within_days
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            raise DataError(f"'within_days' must be an integer >= 0; got {limit!r}.")
        day = _check_date("as_of", as_of)
        return (
            self.open_on(day)
            .with_columns(
                (pl.col("opened_on") + pl.duration(days=limit)).alias("due_on"),
                (pl.lit(day, dtype=pl.Date) - pl.col("opened_on"))
                .dt.total_days()
                .alias("days_open"),
            )
            .with_columns((pl.col("days_open") - limit).alias("days_overdue"))
            .filter(pl.col("days_overdue") > 0)
            .sort("days_overdue", "dispute_id", descending=[True, False])
        )

    def corrections(self, *, as_of: dt.date | None = None) -> pl.DataFrame:
        """Corrected records, for the next collection: one row per corrected dispute.

        Columns: ``source_table``, ``source_record_id``, ``entity_type``, ``entity_id``,
        ``corrected_values`` (JSON text), ``resolved_on``, ``dispute_id``.

        Examples
        --------
        >>> import tempfile
        >>> DisputeStore(Path(tempfile.mkdtemp()) / "d.sqlite").corrections().columns[:2]
        ['source_table', 'source_record_id']
        """
        return self.disputes(as_of=as_of, state="corrected").select(
            "source_table",
            "source_record_id",
            "entity_type",
            "entity_id",
            "corrected_values",
            "resolved_on",
            "dispute_id",
        )

    def as_disputes_table(self) -> pl.DataFrame:
        """The store in the shape of the department ``disputes`` table (``scoring.schema``).

        For collection, which applies the dispute rules to that table: the store's disputes
        (imported or opened here) with their current state.

        Examples
        --------
        >>> import tempfile
        >>> t = DisputeStore(Path(tempfile.mkdtemp()) / "d.sqlite").as_disputes_table()
        >>> t.schema == pl.Schema(TABLES["disputes"].schema)
        True
        """
        return self.disputes().select(
            "dispute_id",
            "entity_type",
            "entity_id",
            "source_table",
            "source_record_id",
            pl.col("opened_on").alias("opened_date"),
            pl.col("reason").fill_null(""),
            pl.col("resolved_on").alias("resolved_date"),
            pl.when(pl.col("state") == "open")
            .then(pl.lit(None, dtype=pl.String))
            .otherwise(pl.col("state"))
            .alias("outcome"),
        )

    def get(self, dispute_id: str) -> Dispute:
        """The current state of one dispute.

        Raises
        ------
        DisputeError
            No such dispute.
        """
        rows = self._query(
            _STATE_SQL.replace("ORDER BY", "AND o.dispute_id = :did ORDER BY"),
            {"as_of": None, "did": dispute_id},
        )
        if not rows:
            raise DisputeError(f"'dispute_id' must be a known dispute; got {dispute_id!r}.")
        r = dict(zip(_STATE_COLUMNS, rows[0], strict=True))
        return Dispute(
            dispute_id=r["dispute_id"],
            entity_type=r["entity_type"],
            entity_id=r["entity_id"],
            source_table=r["source_table"],
            source_record_id=r["source_record_id"],
            reason=r["reason"],
            opened_on=dt.date.fromisoformat(r["opened_on"]),
            opened_by=r["opened_by"],
            state=r["state"],
            resolved_on=dt.date.fromisoformat(r["resolved_on"]) if r["resolved_on"] else None,
            resolved_by=r["resolved_by"],
            corrected_values=json.loads(r["corrected_values"]) if r["corrected_values"] else None,
            note=r["note"],
        )

    def events(self) -> pl.DataFrame:
        """Every event, in the order recorded: the audit trail.

        Examples
        --------
        >>> import tempfile
        >>> DisputeStore(Path(tempfile.mkdtemp()) / "d.sqlite").events().columns[:3]
        ['event_id', 'dispute_id', 'seq']
        """
        rows = self._query(
            f"SELECT {', '.join(_EVENT_COLUMNS)} FROM dispute_events ORDER BY event_id", {}
        )
        return pl.DataFrame(
            rows,
            schema={
                k: (pl.Int64 if k in ("event_id", "seq") else pl.String) for k in _EVENT_COLUMNS
            },
            orient="row",
        ).with_columns(pl.col("event_date").str.to_date("%Y-%m-%d"))


def disputes_in_force(raw: pl.LazyFrame, config: WorkbenchConfig) -> pl.LazyFrame:
    """The department ``disputes`` table together with the objection store, if there is one.

    Objections opened or resolved with ``scoring dispute`` live in ``paths.disputes_db``;
    collection and ratings must see them too. A dispute present in both (imported from the
    department table by ``scoring dispute import``) is taken from the store, which holds
    its current state. Without a store the table is returned as it is.

    Examples
    --------
    >>> import tempfile
    >>> from scoring.config import load_config
    >>> cfg = load_config().with_root(tempfile.mkdtemp())
    >>> raw = pl.LazyFrame(schema=TABLES["disputes"].schema)
    >>> disputes_in_force(raw, cfg) is raw  # no store yet
    True
    """
    if not config.paths.disputes_db.is_file():
        return raw
    stored = DisputeStore.from_config(config).as_disputes_table().lazy()
    columns = list(TABLES["disputes"].schema)
    kept = raw.select(columns).join(stored.select("dispute_id"), on="dispute_id", how="anti")
    return pl.concat([stored.select(columns), kept], how="vertical_relaxed")
