from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest
from click.testing import CliRunner

from scoring.cli import cli
from scoring.config import load_config
from scoring.disputes import DisputeStore
from scoring.exceptions import DataError, DisputeError, StoreError
from scoring.schema import TABLES

D = dt.date.fromisoformat


def _clean_env() -> dict[str, str]:
    """The environment for a child process: no SCORING_* settings, bytecode caching on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCORING_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


@pytest.fixture
def store(tmp_path: Path) -> DisputeStore:
    return DisputeStore(tmp_path / "disputes.sqlite", busy_timeout_seconds=5)


def _open(store: DisputeStore, record: str = "LR1", *, on: str = "2013-01-01", **kw: str):  # type: ignore[no-untyped-def]
    args = {
        "entity_type": "sme",
        "entity_id": "E1",
        "source_table": "loan_repayments",
        "source_record_id": record,
        "reason": "逾期记录有误 overdue record wrong",
        "actor": "clerk-1",
    } | kw
    return store.open(opened_on=D(on), **args)  # type: ignore[arg-type]


def test_open_resolve_and_the_refused_transitions(store: DisputeStore) -> None:
    d = _open(store)
    assert (d.state, d.opened_on, d.resolved_on) == ("open", D("2013-01-01"), None)
    done = store.resolve(
        d.dispute_id,
        outcome="corrected",
        actor="clerk-2",
        resolved_on=D("2013-01-15"),
        corrected_values={"days_past_due": 0, "amount_paid": 5000.0},
        note="bank confirmed the payment",
    )
    assert done.state == "corrected"
    assert done.corrected_values == {"amount_paid": 5000.0, "days_past_due": 0}
    assert (done.resolved_by, done.days_open(D("2013-03-01"))) == ("clerk-2", 14)

    with pytest.raises(DisputeError, match="must be open to be resolved; it was already resolved"):
        store.resolve(d.dispute_id, outcome="upheld", actor="clerk-3", resolved_on=D("2013-01-20"))
    with pytest.raises(DisputeError, match="'dispute_id' must be a known dispute; got 'NOPE'"):
        store.resolve("NOPE", outcome="upheld", actor="clerk-3")
    other = _open(store, "LR2")
    with pytest.raises(DisputeError, match="on or after the opening date 2013-01-01"):
        store.resolve(other.dispute_id, outcome="upheld", actor="a", resolved_on=D("2012-12-31"))
    with pytest.raises(DataError, match="'corrected_values' must be a non-empty mapping"):
        store.resolve(other.dispute_id, outcome="corrected", actor="a")
    with pytest.raises(DataError, match="only with outcome corrected"):
        store.resolve(other.dispute_id, outcome="upheld", actor="a", corrected_values={"x": 1})
    with pytest.raises(DataError, match="'outcome' must be one of"):
        store.resolve(other.dispute_id, outcome="deleted", actor="a")
    # a record already under an open dispute cannot get a second one; once settled it can
    with pytest.raises(DisputeError, match="must not be under an open dispute"):
        _open(store, "LR2", on="2013-01-05")
    assert _open(store, "LR1", on="2013-02-01").state == "open"
    # every refused call left no trace: 2 + 1 + 1 events
    events = store.events()
    assert events.height == 4
    assert events.filter(pl.col("dispute_id") == d.dispute_id)["seq"].to_list() == [1, 2]
    assert store.get(other.dispute_id).state == "open"


def test_unresolved_and_upheld_are_final_states(store: DisputeStore) -> None:
    a = _open(store, "LR1")
    b = _open(store, "LR2")
    store.resolve(a.dispute_id, outcome="upheld", actor="x", resolved_on=D("2013-01-10"))
    store.resolve(b.dispute_id, outcome="unresolved", actor="x", resolved_on=D("2013-01-21"))
    states = dict(store.disputes().select("dispute_id", "state").iter_rows())
    assert states == {a.dispute_id: "upheld", b.dispute_id: "unresolved"}
    for did in (a.dispute_id, b.dispute_id):
        with pytest.raises(DisputeError, match="already resolved"):
            store.resolve(did, outcome="corrected", actor="x", corrected_values={"y": 1})


def test_overdue_after_twenty_days_and_state_as_of_a_date(store: DisputeStore) -> None:
    late = _open(store, "LR1", on="2013-01-01")
    settled = _open(store, "LR2", on="2013-01-01")
    store.resolve(settled.dispute_id, outcome="upheld", actor="x", resolved_on=D("2013-01-25"))
    recent = _open(store, "LR3", on="2013-01-10")

    assert store.overdue(D("2013-01-21")).height == 0  # day 20: still in time
    day21 = store.overdue(D("2013-01-22"))
    assert set(day21["dispute_id"]) == {late.dispute_id, settled.dispute_id}  # as of that day
    row = day21.filter(pl.col("dispute_id") == late.dispute_id).row(0, named=True)
    assert (row["due_on"], row["days_open"], row["days_overdue"]) == (D("2013-01-21"), 21, 1)
    # the settled one drops out once settled; the recent one joins after its own 20 days
    assert store.overdue(D("2013-01-30"))["dispute_id"].to_list() == [late.dispute_id]
    assert store.overdue(D("2013-01-31"))["dispute_id"].to_list() == [
        late.dispute_id,
        recent.dispute_id,
    ]
    assert set(store.overdue(D("2013-01-15"), within_days=10)["dispute_id"]) == {
        late.dispute_id,
        settled.dispute_id,
    }
    # as-of state: before the opening it does not exist; before the resolution it is open
    assert store.disputes(as_of=D("2012-12-31")).height == 0
    assert store.open_on(D("2013-01-24")).height == 3
    assert store.open_on(D("2013-01-25")).height == 2


def test_settlement_limit_comes_from_config(tmp_path: Path, project_config: Path) -> None:
    text = project_config.read_text(encoding="utf-8")
    project_config.write_text(text.replace("settle_within_days = 20", "settle_within_days = 10"))
    store = DisputeStore.from_config(load_config(project_config))
    assert store.path == tmp_path / "data" / "disputes.sqlite"
    _open(store, on="2013-01-01")
    assert store.overdue(D("2013-01-11")).height == 0
    assert store.overdue(D("2013-01-12")).height == 1


def test_the_database_refuses_update_delete_and_bad_transitions(store: DisputeStore) -> None:
    d = _open(store)
    store.resolve(d.dispute_id, outcome="upheld", actor="x", resolved_on=D("2013-01-02"))
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        with pytest.raises(sqlite3.DatabaseError, match="append-only: UPDATE refused"):
            conn.execute("UPDATE dispute_events SET outcome = 'corrected'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only: DELETE refused"):
            conn.execute("DELETE FROM dispute_events")
        cols = (
            "dispute_id, seq, event, outcome, entity_type, entity_id, source_table, "
            "source_record_id, actor, event_date, origin, recorded_at"
        )
        with pytest.raises(sqlite3.DatabaseError, match="already resolved"):
            conn.execute(
                f"INSERT INTO dispute_events ({cols}) VALUES "
                "(?, 3, 'resolved', 'unresolved', 'sme', 'E1', 't', 'r', 'x', '2013-02-01', "
                "'sql', 'now')",
                (d.dispute_id,),
            )
        with pytest.raises(sqlite3.DatabaseError, match="unknown dispute"):
            conn.execute(
                f"INSERT INTO dispute_events ({cols}) VALUES "
                "('GHOST', 2, 'resolved', 'upheld', 'sme', 'E1', 't', 'r', 'x', '2013-02-01', "
                "'sql', 'now')"
            )
        assert conn.execute("SELECT count(*) FROM dispute_events").fetchone()[0] == 2
        assert conn.execute("SELECT state FROM dispute_state").fetchone()[0] == "upheld"


def test_personal_data_is_refused(store: DisputeStore, province_kit: SimpleNamespace) -> None:
    rid = province_kit.resident_id(7)
    with pytest.raises(DataError, match="'reason' must not contain a resident id number"):
        _open(store, reason=f"户主身份证 {rid} 不符")
    bad_check = rid[:-1] + ("0" if rid[-1] != "0" else "1")
    assert _open(store, reason=f"合同号 {bad_check}").state == "open"  # not an id number
    d = store.disputes().row(0, named=True)
    with pytest.raises(DataError, match="'corrected_values' must not contain"):
        store.resolve(d["dispute_id"], outcome="corrected", actor="x", corrected_values={"id": rid})
    with pytest.raises(DataError, match="'actor' must be 1-64 characters"):
        _open(store, "LR9", actor="张 三")


def test_missing_store_reads_as_empty_and_a_foreign_file_is_refused(tmp_path: Path) -> None:
    missing = DisputeStore(tmp_path / "none.sqlite")
    assert missing.open_on(D("2013-01-01")).height == 0
    assert not missing.path.exists()
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database " * 100)
    with pytest.raises(StoreError, match="junk.sqlite"):
        _open(DisputeStore(junk))


def test_import_of_the_department_table_is_idempotent(store: DisputeStore) -> None:
    schema = TABLES["disputes"].schema
    table = pl.DataFrame(
        {
            "dispute_id": ["DS1", "DS2", "DS3"],
            "entity_type": ["sme", "household", "sme"],
            "entity_id": ["E1", "H1", "E2"],
            "source_table": ["loans", "public_records", "tax_filings"],
            "source_record_id": ["L1", "P1", "T1"],
            "opened_date": [D("2012-05-02"), D("2012-06-01"), D("2012-07-01")],
            "reason": ["wrong", "not me", "filed on time"],
            "resolved_date": [D("2012-05-20"), None, None],
            "outcome": ["corrected", None, None],
        },
        schema=schema,
    )
    assert store.import_table(table, origin="import:disputes.parquet").opened == 3
    assert store.events().height == 4
    again = store.import_table(table, origin="import:disputes.parquet")
    assert (again.opened, again.resolved, again.skipped) == (0, 0, 3)
    # the department later settles DS2: only that resolution is appended
    later = table.with_columns(
        pl.when(pl.col("dispute_id") == "DS2")
        .then(pl.lit(D("2012-06-15")))
        .otherwise(pl.col("resolved_date"))
        .alias("resolved_date"),
        pl.when(pl.col("dispute_id") == "DS2")
        .then(pl.lit("upheld"))
        .otherwise(pl.col("outcome"))
        .alias("outcome"),
    )
    third = store.import_table(later, origin="import:disputes.parquet")
    assert (third.opened, third.resolved, third.skipped) == (0, 1, 2)
    states = dict(store.disputes().select("dispute_id", "state").iter_rows())
    assert states == {"DS1": "corrected", "DS2": "upheld", "DS3": "open"}
    assert store.corrections()["source_record_id"].to_list() == ["L1"]
    round_trip = store.as_disputes_table()
    assert round_trip.schema == pl.Schema(schema)
    assert round_trip.sort("dispute_id").equals(later.sort("dispute_id"))


_WRITER = """
import datetime as dt, sys, time
from pathlib import Path
from scoring.disputes import DisputeStore
path, worker, n, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
store = DisputeStore(path, busy_timeout_seconds=60)
Path(str(go) + f".ready{worker}").touch()
while not go.exists():
    time.sleep(0.01)
for i in range(n):
    d = store.open(entity_type="sme", entity_id=f"E{worker}", source_table="loans",
                   source_record_id=f"L{worker}-{i}", reason="race", actor=f"w{worker}",
                   opened_on=dt.date(2013, 1, 1))
    store.resolve(d.dispute_id, outcome="upheld", actor=f"w{worker}",
                  resolved_on=dt.date(2013, 1, 2))
"""


def test_concurrent_writers_lose_no_event(tmp_path: Path) -> None:
    path = tmp_path / "disputes.sqlite"
    go = tmp_path / "go"
    workers, per_worker = 4, 25
    env = {**_clean_env(), "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), str(w), str(per_worker), str(go)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    # Start every writer at once, after all have imported and opened the store, so
    # the race is real however loaded the machine is.
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"go.ready{w}").exists() for w in range(workers)):
        assert time.monotonic() < deadline, "writers did not start"
        assert all(p.poll() is None for p in procs), [p.communicate()[1] for p in procs]
        time.sleep(0.05)
    go.touch()
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * workers, errors
    store = DisputeStore(path)
    events = store.events()
    assert events.height == workers * per_worker * 2
    assert events.select(pl.struct("dispute_id", "seq").n_unique()).item() == events.height
    states = store.disputes()
    assert states.height == workers * per_worker
    assert set(states["state"]) == {"upheld"}
    # the writers really overlapped: their events interleave in the log
    order = events.filter(pl.col("seq") == 1)["actor"].to_list()
    switches = sum(a != b for a, b in itertools.pairwise(order))
    assert switches > workers - 1


def test_cli_open_resolve_list_overdue(project_config: Path) -> None:
    runner = CliRunner()
    base = ["--config", str(project_config), "dispute"]
    opened = runner.invoke(
        cli,
        [
            *base, "open", "--segment", "household", "--entity", "H1", "--table",
            "public_records", "--record", "PR1", "--reason", "从未涉诉 never sued", "--by",
            "clerk-1", "--on", "2013-03-01",
        ],
    )  # fmt: skip
    assert opened.exit_code == 0, opened.output
    did = opened.output.split()[1]
    listed = runner.invoke(cli, [*base, "list", "--state", "open"])
    assert did in listed.output
    overdue = runner.invoke(cli, [*base, "overdue", "--as-of", "2013-03-22"])
    assert overdue.exit_code == 0
    assert did in overdue.output
    assert (
        "no dispute overdue"
        in runner.invoke(cli, [*base, "overdue", "--as-of", "2013-03-21"]).output
    )
    resolved = runner.invoke(
        cli,
        [*base, "resolve", did, "--outcome", "corrected", "--by", "clerk-2", "--on",
         "2013-03-10", "--set", "item_code=VOLUNTEER", "--set", "amount=0"],
    )  # fmt: skip
    assert resolved.exit_code == 0, resolved.output
    store = DisputeStore.from_config(load_config(project_config))
    assert store.get(did).corrected_values == {"amount": 0, "item_code": "VOLUNTEER"}
    again = runner.invoke(cli, [*base, "resolve", did, "--outcome", "upheld", "--by", "c"])
    assert again.exit_code == 2
    assert again.output.startswith("error: ")
    assert "already resolved" in again.output
    assert len(again.output.strip().splitlines()) == 1
    events = json.loads(store.events().write_json())
    assert [e["origin"] for e in events] == ["cli", "cli"]
