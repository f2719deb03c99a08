"""`make report` on changes a reviewer must not be fooled by: a leak, stale results, new data.

Each test copies one reproduced repository, makes the change as a contributor would,
reproduces the pipeline with DVC and the report with the environment of a workflow step (the
`runner` fixture), both in this process (tests/inprocess.py), and reads the comment and its
JSON; the comment's way to the pull request starts from `make report` as the step runs it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

import sample
import second_dataset as telco
from inprocess import python_m, reproduce
from runner import Runner, link_environment
from support import copy_reproduced, run, set_params

pytestmark = pytest.mark.slow
CONTRACT = "src/churn/contract.yaml"
LEAK_FIELD = """\
  - name: outcome_flag
    title: Outcome Flag
    type: integer
    description: A column exported after the fact; equal to the label.
    categories: [0, 1]
    constraints: {required: true}
"""


def commit(repo: Path, message: str) -> None:
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-q", "--allow-empty", "-m", message], repo)


def make(runner: Runner, repo: Path, *args: str, codes: tuple[int, ...] = (0,)) -> str:
    proc = runner.make(args[0], repo, *args[1:])
    assert proc.returncode in codes, f"make {' '.join(args)}: {proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def report(runner: Runner, repo: Path, *codes: int, via_make: bool = False) -> tuple[str, dict]:
    """The report against main, with the step's environment; `codes`: the report's exit
    codes allowed (1: a gate fails). It runs in this process (tests/inprocess.py); with
    `via_make`, as the workflow step does: `make report BASE=main` (make exits 2 for a 1)."""
    if via_make:
        make(runner, repo, "report", "BASE=main", codes=tuple(2 if c == 1 else c for c in codes))
    else:
        proc = python_m("gitops.review.report", ["--base", "main"], repo, runner.env)
        assert proc.returncode in codes, f"report: {proc.stdout}\n{proc.stderr}"
    text = (repo / "reports/pr_report.md").read_text(encoding="utf-8")
    return text, json.loads((repo / "reports/pr_report.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def reproduced(pipeline_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project with the pipeline's results (reproduced once for the suite) on main."""
    repo = copy_reproduced(pipeline_repo, tmp_path_factory.mktemp("trust") / "repo")
    link_environment(repo)
    commit(repo, "results")
    return repo


@pytest.fixture
def repo(reproduced: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "repo"
    shutil.copytree(reproduced, dest, symlinks=True)
    run(["git", "checkout", "-q", "-b", "change"], dest)
    return dest


def test_a_feature_equal_to_the_label_is_too_good_to_be_true(repo: Path, runner: Runner) -> None:
    raw = sample.raw_path(repo)
    frame = pd.read_csv(raw, dtype=str, keep_default_na=False)
    label = sample.contract(repo).label_field.title
    frame.insert(len(frame.columns) - 1, "Outcome Flag", frame[label])
    frame.to_csv(raw, index=False)
    contract = (repo / CONTRACT).read_text()
    (repo / CONTRACT).write_text(
        contract.replace("  - name: churn\n", LEAK_FIELD + "  - name: churn\n")
    )
    reproduce(repo)  # make run's pipeline step, in this process (tests/inprocess.py)
    commit(repo, "A new column from the export")

    text, data = report(runner, repo, 1)
    verdict = text.splitlines()[0]
    print(f"\nverdict with gates.suspicious=fail: {verdict}")
    assert verdict.startswith("## ❌")
    assert "Too good to be true" in verdict
    assert "All gates pass" not in verdict
    assert any("ROC AUC" in s and "0.999" in s for s in data["suspicious"]), data["suspicious"]
    assert "🚩 **Too good to be true.**" in text
    suspicious = next(g for g in data["gates"] if g["id"] == "suspicious")
    assert suspicious["verdict"] == "fail"

    set_params(repo, **{"gates.suspicious": "warn"})
    commit(repo, "Only warn about it")
    text, data = report(runner, repo, 0)
    verdict = text.splitlines()[0]
    print(f"verdict with gates.suspicious=warn: {verdict}")
    assert verdict.startswith("## ✅")
    assert "⚠️ warning: Too good to be true" in verdict
    assert data["warnings"] == ["Nothing looks too good to be true"]


def test_a_param_change_committed_without_make_run_fails_the_stale_gate(
    repo: Path, runner: Runner
) -> None:
    lock = (repo / "dvc.lock").read_bytes()
    set_params(repo, **{"train.seed": 7})
    commit(repo, "Another seed, results not reproduced")
    text, data = report(runner, repo, 1)
    assert data["failing"] == ["Committed results match what the pipeline reproduces"]
    stale = data["stale"]["differences"]
    assert any("stage 'train'" in d and "train.seed" in d for d in stale), stale
    assert "Stale results" in text.splitlines()[0]
    assert "stage 'train'" in text
    assert "Fix: `make run && git add dvc.lock" in text
    assert (repo / "dvc.lock").read_bytes() == lock  # the report reproduces nothing itself

    reproduce(repo)
    commit(repo, "Results reproduced")
    _, data = report(runner, repo, 0)
    assert data["stale"]["differences"] == []


def test_the_first_change_on_new_data_judges_floors_and_ceilings_only(
    repo: Path, runner: Runner
) -> None:
    (repo / sample.settings(repo).data.raw).unlink()
    (repo / telco.RAW).parent.mkdir(parents=True, exist_ok=True)
    telco.generate(4000, seed=11).to_csv(repo / telco.RAW, index=False)
    (repo / CONTRACT).write_text(telco.CONTRACT)
    (repo / "params.yaml").write_text(telco.params_text((repo / "params.yaml").read_text()))
    (repo / "data/README.md").write_text(telco.DATA_CARD)
    make(runner, repo, "card")
    reproduce(repo)
    commit(repo, "The telco export")

    text, data = report(runner, repo, 0, 1)
    assert data["comparison"]["mode"] == "new data"
    assert "raw data" in data["comparison"]["reason"]
    assert "data contract" in data["comparison"]["reason"]
    assert "🆕 **New data.**" in text
    regression = [g for g in data["gates"] if g["id"].startswith("max_regression.")]
    assert regression
    assert all(g["verdict"] == "skip" for g in regression)
    assert all(g["note"] == "other data at the base: not compared" for g in regression)
    failing = [g["id"] for g in data["gates"] if g["verdict"] == "fail"]
    assert all(g.startswith(("min.", "max.")) for g in failing), failing
    assert {g["id"] for g in data["gates"] if g["verdict"] in ("pass", "fail")} >= {
        "min.roc_auc",
        "max.log_loss",
    }
    rows = {m["name"]: m for m in data["metrics"]}
    assert rows["roc_auc"]["base"] is not None
    assert rows["roc_auc"]["delta"] is None
    assert data["recommendation"] is None


def test_make_suggest_gates_prints_a_block_and_writes_it_keeping_comments(
    repo: Path, runner: Runner
) -> None:
    before = (repo / "params.yaml").read_bytes()
    out = make(runner, repo, "suggest-gates")
    assert (repo / "params.yaml").read_bytes() == before  # printing changes nothing
    block = yaml.safe_load(out[out.index("# Proposed by") :])
    floors = block["gates"]["min"]
    measured = json.loads((repo / "models/metrics.json").read_text())
    assert set(floors) == {"roc_auc", "average_precision", "top_positives_caught"}
    assert all(floors[m] < measured[m] for m in floors)

    make(runner, repo, "suggest-gates", "WRITE=1")
    text = (repo / "params.yaml").read_text()
    assert "# Merge gates, decided by `make report` on every pull request" in text
    assert yaml.safe_load(text)["gates"]["min"] == floors
    assert yaml.safe_load(text)["gates"]["max_regression"] == block["gates"]["max_regression"]
    make(runner, repo, "check-lock")  # no stage reads the gates: nothing to reproduce


PERSIAN = "ارزش مشتری برای اپراتور 🚀 "  # 26 characters, 47 UTF-8 bytes


def test_a_persian_report_fits_by_characters_from_report_to_artifact_to_comment(
    repo: Path, runner: Runner, tmp_path: Path
) -> None:
    from fake_github import FakeGitHub

    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["deploy"]["notes"] = {f"n{i:03d}": PERSIAN * 2 for i in range(420)}
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True))
    commit(repo, "Notes for the operators, in Persian")
    text, data = report(runner, repo, 0, via_make=True)
    assert data["omitted"] == []  # whole: nothing was cut
    assert len(text) <= 60_000 < len(text.encode())  # the old byte limit would refuse it

    head = run(["git", "rev-parse", "HEAD"], repo).stdout.strip()
    folder = tmp_path / "artifact"
    folder.mkdir()
    meta = {"schema": 1, "event": "pull_request", "pr_number": 7, "head_sha": head}
    (folder / "ci_metadata.json").write_text(json.dumps(meta))
    for name in ("pr_report.md", "pr_report.json"):
        shutil.copy2(repo / "reports" / name, folder / name)
    python3 = shutil.which("python3", path="/usr/bin:/usr/local/bin") or "python3"
    job = runner.for_event("workflow_run", {}).with_env(
        PYTHONPATH=str(Path(__file__).parents[2] / "src"), PATH="/usr/bin:/bin"
    )
    body = tmp_path / "comment.md"
    url = "https://github.com/acme/churn/actions/runs/4242"
    verify = ["verify", "--dir", str(folder), "--head-sha", head, "--comment", str(body)]
    proc = job.run(
        [python3, "-m", "gitops.actions.artifact", *verify, "--conclusion", "success",
         "--run-url", url],
        tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert body.read_text(encoding="utf-8") == text

    github = FakeGitHub()
    github.add_pull(7, head)
    with github.serve():
        post = ["post", "--pr", "7", "--body", str(body), "--head-sha", head]
        proc = job.with_env(**github.env()).run(
            [python3, "-m", "gitops.actions.comment", *post, "--head-repo", github.repo],
            tmp_path,
        )
    assert proc.returncode == 0, proc.stderr
    [comment] = github.comments[7]
    assert comment["body"] == text

    # Twice the notes: over the report's cut, so the params table is left out, and it says so.
    params["deploy"]["notes"] = {f"n{i:04d}": PERSIAN * 2 for i in range(1200)}
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True))
    commit(repo, "More notes")
    text, data = report(runner, repo, 0)
    assert "params" in data["omitted"]
    assert len(text) <= 60_000
