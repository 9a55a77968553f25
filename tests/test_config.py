from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from scoring.config import default_config_path, load_config
from scoring.exceptions import ConfigError

DEFAULT = default_config_path()


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT.read_text(encoding="utf-8")
    assert old in text, old
    p = tmp_path / "workbench.toml"
    p.write_text(text.replace(old, new, 1), encoding="utf-8")
    return p


def test_default_config_loads_typed_and_frozen() -> None:
    cfg = load_config()
    assert cfg.province.pilot_start == dt.date(2012, 9, 1)
    assert len(cfg.province.pilot_regions) == 6
    assert cfg.province.snapshots == tuple(sorted(cfg.province.snapshots))
    assert cfg.paths.raw.is_absolute()
    assert {b.permission_level for b in cfg.banks} == {1, 2, 3}
    with pytest.raises(AttributeError):
        cfg.synth.seed = 1  # type: ignore[misc]


def test_paths_resolve_next_to_a_config_outside_configs(tmp_path: Path) -> None:
    p = _variant(tmp_path, 'raw = "data/raw"', 'raw = "elsewhere/raw"')
    assert load_config(p).paths.raw == tmp_path / "elsewhere" / "raw"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('"440100", "440400"', '"440100", "999999"', "province.pilot_regions.*999999"),
        ("seed = 42", 'seed = "x"', "'synth.seed' in .* must be an integer >= 0; got 'x'"),
        ("pilot_start = 2012-09-01", "pilot_start = 2012-13-01", "TOML"),
        ("fault_rate = 0.002", "fault_rate = 0.9", "'synth.fault_rate' .* in \\[0.0, 0.2\\]"),
        ("snapshots = [2010-12-31", "snapshots = [2019-12-31", "'province.snapshots'"),
        ("permission_level = 3", "permission_level = 4", "'banks\\[0\\].permission_level'"),
        ("retention_years = 5", "", "'collection.retention_years' .* must be present"),
    ],
)
def test_bad_values_name_key_file_and_expectation(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    p = _variant(tmp_path, old, new)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(p)
    assert str(p) in str(info.value) or "TOML" in message


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="readable TOML file"):
        load_config(tmp_path / "nope.toml")


def test_unknown_bank_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="GDRCU"):
        load_config().bank("NOPE")


def test_with_root_moves_every_data_path(tmp_path: Path) -> None:
    cfg = load_config().with_root(tmp_path)
    assert cfg.paths.curated == tmp_path / "data" / "curated"
    assert cfg.paths.mlruns == tmp_path / "mlruns"
