"""The template on data of another shape: a fork's adaptation, then the whole product.

The project is copied into a fresh git repository and adapted as a fork would, touching
only the contract, params.yaml, the data card and the data. Then, as a user runs them:
the pipeline (`dvc repro`, in this process: tests/inprocess.py), `make report` on a change,
`make package`, the installed wheel's batch scoring and HTTP API, `make monitor`. One
pipeline run serves every test of the module.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import inprocess
import second_dataset as telco
from runner import Runner, find_uv, link_environment
from support import copy_repo, copy_reproduced, run

pytestmark = pytest.mark.slow
UV = find_uv()
CONTRACT_PATH = "src/churn/contract.yaml"
#: What adapting the template to new data may touch (docs/fork.md).
ADAPTATION = {CONTRACT_PATH, "params.yaml", "data/README.md", telco.RAW}


@dataclass(frozen=True)
class Fork:
    repo: Path
    venv: Path
    app: Path  # an empty folder outside the project, where the installed commands run
    runner: Runner  # make targets run as a workflow step runs them

    @property
    def churn(self) -> str:
        return str(self.venv / "bin" / "churn")

    def make(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = self.runner.make(args[0], self.repo, *args[1:])
        if check and proc.returncode != 0:
            raise AssertionError(f"make {' '.join(args)} exited {proc.returncode}\n"
                                 f"{proc.stdout}\n{proc.stderr}")  # fmt: skip
        return proc


def commit(repo: Path, message: str) -> None:
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-q", "-m", message], repo)


@pytest.fixture(scope="module")
def fork(tmp_path_factory: pytest.TempPathFactory, runner_tools: Path) -> Fork:
    base = tmp_path_factory.mktemp("telco")
    repo = copy_repo(base / "repo", with_results=False)
    link_environment(repo)
    venv, app = base / "venv", base / "app"
    app.mkdir()
    fork = Fork(repo, venv, app, Runner.create(base / "runner", runner_tools))
    # The adaptation, as a fork commits it.
    (repo / telco.RAW).parent.mkdir(parents=True, exist_ok=True)
    telco.generate(4000, seed=11).to_csv(repo / telco.RAW, index=False)
    (repo / CONTRACT_PATH).write_text(telco.CONTRACT)
    (repo / "params.yaml").write_text(telco.params_text((repo / "params.yaml").read_text()))
    (repo / "data/README.md").write_text(telco.DATA_CARD)
    fork.make("card")
    commit(repo, "Adapt the template to the telco export")
    inprocess.reproduce(repo)  # make run's pipeline step, in this process (tests/inprocess.py)
    commit(repo, "Results on the telco export")
    run([UV, "venv", "--quiet", "--python", sys.executable, str(venv)], base)
    return fork


def test_the_adaptation_touches_only_the_contract_params_data_card_and_data(fork: Fork) -> None:
    changed = run(["git", "diff", "--name-only", "HEAD~2", "HEAD~1"], fork.repo).stdout.split()
    assert {CONTRACT_PATH, "params.yaml"} <= set(changed) <= ADAPTATION
    table = (fork.repo / "data/README.md").read_text()
    assert "| `active` | `Active` | string, categorical | label (positive: No) |" in table


def test_the_pipeline_learns_the_positive_class_that_does_not_sort_last(fork: Fork) -> None:
    quality = json.loads((fork.repo / "data/quality.json").read_text())
    raw = pd.read_csv(fork.repo / telco.RAW, dtype=str, keep_default_na=False)
    assert quality["positive_class"] == "No"
    assert quality["label_rate_in"] == pytest.approx((raw["Active"] == "No").mean(), abs=1e-6)
    assert any("data_usage_gb" in f and "blank" in f for f in quality["findings"])
    metrics = json.loads((fork.repo / "models/metrics.json").read_text())
    assert metrics["roc_auc"] > 0.75  # a score of the wrong class would rank below 0.5
    assert "up to date" in inprocess.dvc(fork.repo, "status").stdout


def test_the_report_on_a_change_speaks_of_leavers(fork: Fork, tmp_path: Path) -> None:
    # In a copy: the module's other tests read the fork's results on main.
    repo = copy_reproduced(fork.repo, tmp_path / "repo")
    change = replace(fork, repo=repo)
    run(["git", "checkout", "-q", "-b", "change"], repo)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["train"]["hyperparameters"]["hist_gradient_boosting"]["learning_rate"] = 0.06
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    inprocess.reproduce(repo)  # make run's pipeline step, in this process (tests/inprocess.py)
    commit(repo, "A slightly faster learning rate")
    proc = change.make("report", "BASE=main", check=False)
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads((repo / "reports/pr_report.json").read_text())
    assert report["comparison"]["mode"] == "paired"
    labels = [m["label"] for m in report["metrics"]]
    assert "Leavers caught in top 10%" in labels
    text = (repo / "reports/pr_report.md").read_text()
    assert "Leaving rate" in text
    assert "churner" not in text.lower()
    assert report["verdict"] == "pass", report["failing"]


@pytest.fixture(scope="module")
def installed(fork: Fork) -> Fork:
    fork.make("package", "VERSION=1.0.0")
    wheel = next((fork.repo / "dist").glob("*.whl"))
    python = str(fork.venv / "bin" / "python")
    run([UV, "pip", "install", "--quiet", "--python", python, str(wheel)], fork.app)
    return fork


@pytest.fixture(scope="module")
def batch(installed: Fork) -> Path:
    """Another month's export: new subscribers, same shape, blanks and tokens included."""
    path = installed.app / "export.csv"
    telco.generate(600, seed=12).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def batch_scores(installed: Fork, batch: Path) -> Path:
    """The batch command's scores of the export, which the API's answers are held to as well."""
    run(
        [installed.churn, "predict", "--input", batch.name, "--output", "scores.csv"], installed.app
    )
    return installed.app / "scores.csv"


def test_the_installed_wheel_scores_the_export_by_subscriber_id(
    installed: Fork, batch: Path, batch_scores: Path
) -> None:
    scores = pd.read_csv(batch_scores, dtype={"customer_id": str})
    export = pd.read_csv(batch, dtype=str, keep_default_na=False)
    assert list(scores.columns) == ["customer_id", "churn_probability", "risk_band"]
    assert list(scores["customer_id"]) == list(export["Customer ID"])
    assert scores["churn_probability"].between(0, 1).all()
    leavers = export["Active"] == "No"
    assert (
        scores.loc[leavers, "churn_probability"].mean()
        > scores.loc[~leavers, "churn_probability"].mean()
    )
    info = json.loads(run([installed.churn, "info", "--json"], installed.app).stdout)
    assert info["label"] == {"field": "active", "positive": "No"}


def test_an_invalid_row_is_named_and_nothing_is_written(installed: Fork, batch: Path) -> None:
    bad = pd.read_csv(batch, dtype=str, keep_default_na=False)
    bad.loc[3, "Plan Name"] = "Gold"  # line 5
    bad.loc[9, "Paperless Billing"] = "maybe"  # line 11
    path = installed.app / "bad.csv"
    bad.to_csv(path, index=False)
    proc = run(
        [installed.churn, "predict", "--input", path.name, "--output", "bad_scores.csv"],
        installed.app,
        check=False,
    )
    assert proc.returncode == 1
    assert (
        "column 'plan': must be one of Basic, Plus, Premium: 1 row(s) fail: line 5 ('Gold')"
        in proc.stderr
    )
    assert (
        "column 'paperless': must be one of Yes, No: 1 row(s) fail: line 11 ('maybe')"
        in proc.stderr
    )
    assert not (installed.app / "bad_scores.csv").exists()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _post(url: str, payload: object) -> tuple[int, dict]:
    req = urllib.request.Request(  # noqa: S310 (http on loopback only)
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.fixture(scope="module")
def api(installed: Fork) -> Iterator[str]:
    port = _free_port()
    log = (installed.app / "serve.log").open("w")
    proc = subprocess.Popen(
        [installed.churn, "serve", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"],
        cwd=installed.app, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(url + "/health", timeout=5):  # noqa: S310
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    "serve did not start:\n" + (installed.app / "serve.log").read_text()
                )
            time.sleep(0.2)
        yield url + "/predict"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        log.close()


def _record(row: pd.Series) -> dict:
    """One exported row as a JSON record: JSON types, null for a blank."""

    def number(text: str, kind: type) -> object:
        return None if text in ("", "NA") else kind(float(text)) if kind is int else float(text)

    return {
        "customer_id": row["Customer ID"],
        "signup_date": row["Signup Date"],
        "plan": row["Plan Name"],
        "contract": row["Contract Type"],
        "paperless": row["Paperless Billing"] == "Yes",
        "tenure_months": number(row["Tenure Months"], int),
        "monthly_charges": number(row["Monthly Charges"], float),
        "support_calls": number(row["Support Calls"], int),
        "data_usage_gb": number(row["Data Usage GB"], float),
    }


def test_the_api_scores_json_records_like_the_batch_command(
    batch: Path, batch_scores: Path, api: str
) -> None:
    scores = pd.read_csv(batch_scores, dtype={"customer_id": str})
    export = pd.read_csv(batch, dtype=str, keep_default_na=False).head(20)
    records = [_record(row) for _, row in export.iterrows()]
    assert any(r["tenure_months"] is None for r in records) or any(
        r["support_calls"] is None for r in records
    )
    status, body = _post(api, {"records": records})
    assert status == 200, body
    got = [p["churn_probability"] for p in body["predictions"]]
    np.testing.assert_allclose(got, scores["churn_probability"].head(20), atol=1e-6)
    assert [p["customer_id"] for p in body["predictions"]] == list(export["Customer ID"])


def test_the_api_names_json_type_mistakes_in_the_contracts_terms(api: str, batch: Path) -> None:
    good = _record(pd.read_csv(batch, dtype=str, keep_default_na=False).iloc[0])
    cases = {
        "plan": (True, "plan: must be text"),
        "paperless": ("Yes", "paperless: must be true or false"),
        "contract": ("Weekly", "contract: must be one of Month-to-month, One year, Two year"),
        "customer_id": ("C-1", "customer_id: must match"),
        "signup_date": ("14/03/2021", "signup_date: must be a date (YYYY-MM-DD)"),
    }
    for field, (value, message) in cases.items():
        status, body = _post(api, {**good, field: value})
        assert status == 422, (field, body)
        assert body["detail"][0]["loc"] == ["body", field], body
        assert body["detail"][0]["msg"].startswith(message), body


def test_make_monitor_checks_a_batch_against_the_release(fork: Fork, batch: Path) -> None:
    proc = fork.make("monitor", f"INPUT={batch}", check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OK: the batch is in range" in proc.stdout
    md = (fork.repo / "reports/monitor.md").read_text()
    assert "leaving rate" in md
    report = json.loads((fork.repo / "reports/monitor.json").read_text())
    assert {f["name"] for f in report["features"]} >= {"plan", "contract", "paperless"}
