"""The model registry: versions, the champion and challenger aliases, the promotion gate.

With :mod:`scoring.tracking` the only modules that import ``mlflow``.

One registered model per segment, named like its experiment (``sme-credit``,
``household-credit``). Every trained run is registered as a new version
(:func:`register_run`), tagged with its segment, model type and data fingerprint. Aliases
replace the deprecated stages:

* the first version of a segment becomes ``champion`` at once (nothing to beat);
* every later version becomes ``challenger`` (the alias moves to it).

:func:`promote` (``scoring promote``) runs the gate of ``[model.gate]``: the challenger
becomes champion only if

1. its out-of-time AUC beats the champion's by at least ``min_auc_gain``;
2. its calibration by grade is in band: in at least ``calibration_min_share`` of the grades
   with ``calibration_min_count`` or more out-of-time rows, the grade PD lies in the
   ``calibration_confidence`` interval of the observed default rate (recomputed from the
   run's ``metrics/calibration.csv`` with the current settings);
3. its score PSI from training to out-of-time is at most ``max_psi``;
4. no feature's coefficient sign or monotone constraint contradicts its expected direction.

The decision and every check, passed or failed, are written as ``gate.*`` tags on both
versions. ``force=True`` with a written reason promotes whatever the checks say and records
the override (``gate.override_why``).

A registration never leaves a half-registered version: if the alias cannot be set, the
version just created is deleted again and the error names the run to register later.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass
from typing import Any

import polars as pl

from scoring.config import ModelGateConfig, WorkbenchConfig
from scoring.exceptions import ConfigError, TrackingError
from scoring.tracking import LoggedRun, connect, experiment_name, mlflow_quiet
from scoring.training import CreditModel, calibration_verdict

with mlflow_quiet():
    import mlflow
    import mlflow.artifacts
    import mlflow.pyfunc
    from mlflow.entities.model_registry import ModelVersion
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "AliasedModel",
    "GateCheck",
    "PromotionResult",
    "RegisteredVersion",
    "gate_checks",
    "load_by_alias",
    "promote",
    "register_run",
    "registered_model_name",
]

CHAMPION = "champion"
CHALLENGER = "challenger"


def registered_model_name(segment: str) -> str:
    """The registered model of a segment (the experiment's name).

    Examples
    --------
    >>> registered_model_name("sme")
    'sme-credit'
    """
    return experiment_name(segment)


@dataclass(frozen=True, slots=True)
class RegisteredVersion:
    """A registered model version and the alias it received."""

    name: str
    version: str
    run_id: str
    alias: str
    reason: str


def _alias_version(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    try:
        version: ModelVersion = client.get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise
    return version


def _run_failure(uri: str, what: str, exc: Exception) -> TrackingError:
    return TrackingError(
        f"'MLFLOW_TRACKING_URI' must accept {what}; got {uri} failing with "
        f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}."
    )


def register_run(config: WorkbenchConfig, run: LoggedRun | str) -> RegisteredVersion:
    """Register a logged run's model as a new version; alias it champion or challenger.

    ``run`` is a :class:`~scoring.tracking.LoggedRun` or a run id.

    Raises
    ------
    TrackingError
        When the store fails (no version is left behind) or the run has no model.
    """
    target = connect(config)
    client = MlflowClient()
    run_id = run if isinstance(run, str) else run.run_id
    with mlflow_quiet():
        try:
            info = client.get_run(run_id)
        except MlflowException as exc:
            raise TrackingError(
                f"'run' must be a run of {target.uri}; got {run_id} ({exc.error_code})."
            ) from exc
        tags = info.data.tags
        segment, model_uri = tags.get("segment"), tags.get("model_uri")
        if segment is None or model_uri is None:
            raise TrackingError(
                f"'run' must be a completed `scoring train` run with a logged model; got "
                f"{info.info.run_id} without segment/model_uri tags."
            )
        name = registered_model_name(segment)
        try:
            try:
                client.get_registered_model(name)
            except MlflowException as exc:
                if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                    raise
                client.create_registered_model(
                    name,
                    tags={"segment": segment},
                    description=f"{segment} credit models of the Guangdong pilot workbench; "
                    "aliases champion (scores the exports) and challenger (next candidate).",
                )
            version_tags = {
                "segment": segment,
                "model_type": tags.get("model_type", ""),
                "data_fingerprint": tags.get("data_fingerprint", ""),
                "oot_auc": f"{info.data.metrics.get('oot_auc', float('nan')):.4f}",
            }
            model_id = (
                model_uri.removeprefix("models:/") if model_uri.startswith("models:/m-") else None
            )
            mv = client.create_model_version(
                name,
                source=model_uri,
                run_id=info.info.run_id,
                tags=version_tags,
                model_id=model_id,
            )
        except MlflowException as exc:
            raise _run_failure(target.uri, f"a new version of {name!r}", exc) from exc
        try:
            champion = _alias_version(client, name, CHAMPION)
            if champion is None:
                alias, reason = CHAMPION, "first model of the segment: champion without a gate"
            else:
                alias = CHALLENGER
                reason = f"challenger to champion version {champion.version}"
            client.set_registered_model_alias(name, alias, mv.version)
            client.set_model_version_tag(name, mv.version, "lifecycle.registered_as", reason)
        except Exception as exc:  # undo the registration: no half-registered version
            try:
                client.delete_model_version(name, mv.version)
            finally:
                raise TrackingError(
                    f"'MLFLOW_TRACKING_URI' must accept the alias of {name!r}; got "
                    f"{target.uri} failing with {type(exc).__name__}: "
                    f"{str(exc).splitlines()[0][:300]}. Version {mv.version} was removed "
                    f"again; register run {info.info.run_id} later with "
                    f"`scoring register {info.info.run_id}`."
                ) from exc
    return RegisteredVersion(
        name=name, version=str(mv.version), run_id=info.info.run_id, alias=alias, reason=reason
    )


# --------------------------------------------------------------------------- the gate


@dataclass(frozen=True, slots=True)
class GateCheck:
    """One condition of the promotion gate."""

    name: str
    passed: bool
    detail: str

    def text(self) -> str:
        """``"<name>: pass|fail: <detail>"``."""
        return f"{self.name}: {'pass' if self.passed else 'fail'}: {self.detail}"


@dataclass(frozen=True, slots=True)
class PromotionResult:
    """What :func:`promote` decided."""

    name: str
    challenger: str
    champion: str | None
    promoted: bool
    overridden: bool
    checks: tuple[GateCheck, ...]
    why: str | None = None

    @property
    def decision(self) -> str:
        """``promoted``, ``promoted-override`` or ``refused``."""
        if not self.promoted:
            return "refused"
        return "promoted-override" if self.overridden else "promoted"


def gate_checks(
    challenger: dict[str, float],
    champion: dict[str, float] | None,
    calibration: pl.DataFrame,
    *,
    gate: ModelGateConfig,
    violations: str = "",
) -> tuple[GateCheck, ...]:
    """The four conditions of the gate, from the runs' metrics (pure; see the module doc).

    ``calibration``: the challenger's out-of-time calibration table (``grade``, ``n``,
    ``bads``, ``expected_pd``).

    Examples
    --------
    >>> cal = pl.DataFrame({"grade": ["A"], "n": [400], "bads": [8], "expected_pd": [0.02]})
    >>> checks = gate_checks({"oot_auc": 0.80, "psi_train_oot": 0.05,
    ...                       "direction_violations": 0.0},
    ...                      {"oot_auc": 0.78}, cal, gate=ModelGateConfig())
    >>> [c.passed for c in checks]
    [True, True, True, True]
    >>> checks[0].text()
    'auc: pass: out-of-time AUC 0.8000 >= champion 0.7800 + 0.005'
    """
    out = []
    auc = challenger.get("oot_auc", float("nan"))
    if champion is None:
        out.append(GateCheck("auc", True, f"out-of-time AUC {auc:.4f}; no champion to beat"))
    else:
        base = champion.get("oot_auc", float("nan"))
        ok = auc >= base + gate.min_auc_gain
        sign = ">=" if ok else "<"
        out.append(
            GateCheck(
                "auc",
                bool(ok),
                f"out-of-time AUC {auc:.4f} {sign} champion {base:.4f} + {gate.min_auc_gain}",
            )
        )
    share, checked = calibration_verdict(
        calibration, confidence=gate.calibration_confidence, min_count=gate.calibration_min_count
    )
    if share is None:
        out.append(
            GateCheck(
                "calibration",
                False,
                f"no grade holds {gate.calibration_min_count} out-of-time rows: cannot check",
            )
        )
    else:
        ok = share >= gate.calibration_min_share
        out.append(
            GateCheck(
                "calibration",
                bool(ok),
                f"grade PD inside the {gate.calibration_confidence:.0%} interval in "
                f"{share:.0%} of {checked} grades ({'>=' if ok else '<'} "
                f"{gate.calibration_min_share:.0%})",
            )
        )
    p = challenger.get("psi_train_oot", float("nan"))
    ok = p <= gate.max_psi
    out.append(
        GateCheck("psi", bool(ok), f"score PSI {p:.4f} {'<=' if ok else '>'} {gate.max_psi}")
    )
    n = int(challenger.get("direction_violations", 0.0))
    out.append(
        GateCheck(
            "directions",
            n == 0,
            "no feature contradicts its expected direction"
            if n == 0
            else f"{n} feature(s) contradict their expected direction: {violations}",
        )
    )
    return tuple(out)


def _calibration_table(run_id: str) -> pl.DataFrame:
    with tempfile.TemporaryDirectory(prefix="scoring-gate-") as tmp:
        path = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path="metrics/calibration.csv", dst_path=tmp
        )
        table = pl.read_csv(path)
    return table.filter(pl.col("split") == "oot")


def _tag_all(client: MlflowClient, name: str, version: str, tags: dict[str, str]) -> None:
    for k, v in tags.items():
        client.set_model_version_tag(name, version, k, v[:4900])


def promote(
    config: WorkbenchConfig, *, segment: str, force: bool = False, why: str | None = None
) -> PromotionResult:
    """Run the gate on the challenger; make it champion when it passes (or is forced).

    Raises
    ------
    ConfigError
        ``force`` without a written ``why``.
    TrackingError
        When the store fails or the segment has no challenger.

    Examples
    --------
    >>> from scoring.config import load_config
    >>> promote(load_config(), segment="sme", force=True, why=" ")
    Traceback (most recent call last):
    ...
    scoring.exceptions.ConfigError: 'why' must explain a forced promotion; got nothing.
    """
    if force and not (why and why.strip()):
        raise ConfigError("'why' must explain a forced promotion; got nothing.")
    target = connect(config)
    client = MlflowClient()
    name = registered_model_name(segment)
    with mlflow_quiet():
        try:
            challenger = _alias_version(client, name, CHALLENGER)
            champion = _alias_version(client, name, CHAMPION)
        except MlflowException as exc:
            raise _run_failure(target.uri, f"reading the aliases of {name!r}", exc) from exc
        if challenger is None:
            raise TrackingError(
                f"'{CHALLENGER}' alias of {name!r} must exist in {target.uri}; got none "
                f"(train one: `scoring train {segment}`)."
            )
        ch_run = client.get_run(str(challenger.run_id))
        champ_metrics = (
            None if champion is None else dict(client.get_run(str(champion.run_id)).data.metrics)
        )
        checks = gate_checks(
            dict(ch_run.data.metrics),
            champ_metrics,
            _calibration_table(str(challenger.run_id)),
            gate=config.model.gate,
            violations=ch_run.data.tags.get("direction_violations", ""),
        )
        passed = all(c.passed for c in checks)
        promoted = passed or force
        result = PromotionResult(
            name=name,
            challenger=str(challenger.version),
            champion=None if champion is None else str(champion.version),
            promoted=promoted,
            overridden=force and not passed,
            checks=checks,
            why=why if force else None,
        )
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        reasons = "; ".join(c.text() for c in checks)
        common = {
            "gate.decision": result.decision,
            "gate.reasons": reasons,
            "gate.checked_at": now,
            **{f"gate.{c.name}": c.text() for c in checks},
        }
        if force:
            common["gate.override"] = "true" if not passed else "forced, but the checks passed"
            common["gate.override_why"] = str(why)
        ch_tags = {**common, "gate.against": f"champion version {result.champion}"}
        _tag_all(client, name, result.challenger, ch_tags)
        if champion is not None:
            champ_tags = {
                f"gate.last_challenge.{k[5:]}": v
                for k, v in common.items()
                if k != "gate.checked_at"
            }
            champ_tags["gate.last_challenge.challenger"] = f"version {result.challenger}"
            champ_tags["gate.last_challenge.at"] = now
            if promoted:
                champ_tags["lifecycle.retired"] = (
                    f"replaced by version {result.challenger} at {now}"
                )
            _tag_all(client, name, str(champion.version), champ_tags)
        if promoted:
            client.set_registered_model_alias(name, CHAMPION, result.challenger)
            client.delete_registered_model_alias(name, CHALLENGER)
    return result


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True, slots=True)
class AliasedModel:
    """A registered model version loaded by alias, with its provenance."""

    name: str
    version: str
    run_id: str
    alias: str
    model: Any
    """The loaded ``mlflow.pyfunc.PyFuncModel``: ``predict(pandas frame)``."""
    credit_model: CreditModel
    """The fitted model inside it (reference score distribution, features)."""
    metrics: dict[str, float]
    """The version's run metrics (per split and region)."""
    params: dict[str, str]
    """The version's run params (the effective settings)."""


def load_by_alias(config: WorkbenchConfig, *, segment: str, alias: str = CHAMPION) -> AliasedModel:
    """Load ``models:/<name>@<alias>`` of a segment.

    Raises
    ------
    TrackingError
        When the store fails or no version holds the alias.
    """
    target = connect(config)
    client = MlflowClient()
    name = registered_model_name(segment)
    with mlflow_quiet():
        try:
            version = _alias_version(client, name, alias)
        except MlflowException as exc:
            raise _run_failure(target.uri, f"reading the aliases of {name!r}", exc) from exc
        if version is None:
            raise TrackingError(
                f"'{alias}' alias of {name!r} must exist in {target.uri}; got none "
                f"(`scoring train {segment}` registers the first model as champion)."
            )
        try:
            model = mlflow.pyfunc.load_model(f"models:/{name}@{alias}")
            run = client.get_run(str(version.run_id))
        except MlflowException as exc:
            raise _run_failure(target.uri, f"loading {name}@{alias}", exc) from exc
    return AliasedModel(
        name=name,
        version=str(version.version),
        run_id=str(version.run_id),
        alias=alias,
        model=model,
        credit_model=model.unwrap_python_model().model,
        metrics=dict(run.data.metrics),
        params=dict(run.data.params),
    )
