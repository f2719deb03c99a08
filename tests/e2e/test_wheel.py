"""The released package as an application team meets it.

The wheel is built from a reproduced pipeline, installed into a fresh virtual environment
that cannot see the project's sources, and called from a temporary folder: batch scoring
on the sample, the HTTP API over real loopback requests, a tampered model refused.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

import sample
from gitops.contract.json_schema import json_records
from gitops.contract.validate import as_source
from gitops.pipeline import quality
from support import BIN, ROOT, run

pytestmark = pytest.mark.slow
VERSION = "1.4.2"
SERVING = sample.settings().serving
CONTRACT = sample.contract()
ID = CONTRACT.id or "id"


@dataclass(frozen=True)
class Installed:
    repo: Path
    dist: Path
    venv: Path
    cwd: Path  # an empty folder outside the project, where commands run

    @property
    def churn(self) -> str:
        return str(self.venv / "bin" / "churn")

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")


def _uv() -> str:
    found = shutil.which("uv", path=str(BIN)) or shutil.which("uv")
    local = ROOT / ".tools" / "bin" / "uv"
    if found is None and not local.is_file():
        raise AssertionError("uv not found: run `make install` first")
    return found or str(local)


@pytest.fixture(scope="module")
def installed(pipeline_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """`make package`'s builder run in a copy of the reproduced repo, wheel installed once."""
    base = tmp_path_factory.mktemp("wheel")
    repo = base / "repo"
    shutil.copytree(pipeline_repo, repo, symlinks=True)
    uv = _uv()
    run(
        [str(BIN / "python"), "-m", "gitops.release.package", "--version", VERSION, "--uv", uv],
        repo,
    )
    venv = base / "venv"
    run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], base)
    wheel = next((repo / "dist").glob("*.whl"))
    run(
        [uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), str(wheel)],
        base,
    )
    cwd = base / "app"
    cwd.mkdir()
    return Installed(repo, repo / "dist", venv, cwd)


def test_dist_holds_wheel_card_metrics_and_checksums(installed: Installed) -> None:
    names = sorted(p.name for p in installed.dist.iterdir())
    wheel = f"churn_model-{VERSION}-py3-none-any.whl"
    assert names == sorted([wheel, "MODEL_CARD.md", "SHA256SUMS", "manifest.json", "metrics.json"])
    sums = dict(
        reversed(line.split("  "))
        for line in (installed.dist / "SHA256SUMS").read_text().splitlines()
    )
    assert set(sums) == set(names) - {"SHA256SUMS"}
    check = run(["sha256sum", "--check", "SHA256SUMS"], installed.dist)
    assert check.stdout.count(": OK") == len(sums)
    with zipfile.ZipFile(installed.dist / wheel) as zf:
        files = zf.namelist()
        metadata = zf.read(f"churn_model-{VERSION}.dist-info/METADATA").decode()
    training = (
        "gitops/pipeline",
        "gitops/review",
        "gitops/release",
        "churn/model.",
        "churn/features",
    )
    assert not [f for f in files if f.startswith(training)]
    assert "churn/artifacts/model.skops" in files
    assert "churn/artifacts/contract.yaml" in files
    assert "churn/rules.py" in files
    assert "gitops/scoring/cli.py" in files
    import sklearn

    assert f"Requires-Dist: scikit-learn=={sklearn.__version__}" in metadata
    card = (installed.dist / "MODEL_CARD.md").read_text()
    manifest = json.loads((installed.dist / "manifest.json").read_text())
    assert manifest["version"] == VERSION
    assert manifest["artifacts"]["model"]["sha256"] in card
    assert manifest["training_data"]["sha256"] in card
    assert "95% interval" in card
    assert "retention" in card


def test_the_same_commit_builds_a_byte_identical_package(installed: Installed) -> None:
    cmd = [
        str(BIN / "python"),
        "-m",
        "gitops.release.package",
        "--version",
        VERSION,
        "--dist",
        "again",
    ]
    run([*cmd, "--uv", _uv()], installed.repo)
    again = (installed.repo / "again" / "SHA256SUMS").read_text()
    assert again == (installed.dist / "SHA256SUMS").read_text()


def test_installed_package_does_not_see_the_project(installed: Installed) -> None:
    where = run([installed.python, "-c", "import churn; print(churn.__file__)"], installed.cwd)
    assert str(installed.venv) in where.stdout
    for module in ("gitops.pipeline", "churn.model"):
        training = run([installed.python, "-c", f"import {module}"], installed.cwd, check=False)
        assert training.returncode != 0
        assert "ModuleNotFoundError" in training.stderr


def test_predict_matches_the_pipeline_evaluation(installed: Installed) -> None:
    export = installed.cwd / "records.csv"
    shutil.copy2(sample.raw_path(installed.repo), export)
    run(
        [installed.churn, "predict", "--input", export.name, "--output", "scores.csv"],
        installed.cwd,
    )
    scores = pd.read_csv(installed.cwd / "scores.csv")
    score, band = SERVING.score_column, SERVING.band_column
    id_out = (
        CONTRACT.id
        if CONTRACT.id and CONTRACT.field(CONTRACT.id).header in sample.header(installed.repo)
        else "row_number"
    )
    assert list(scores.columns) == [id_out, score, band]
    records = sample.typed(installed.repo)
    assert len(scores) == len(records)
    scores["row_id"] = quality.row_ids(records, sample.contract()).to_numpy()
    evaluation = pd.read_csv(installed.repo / "models/predictions.csv")
    paired = evaluation.merge(scores.drop_duplicates("row_id"), on="row_id", validate="1:1")
    assert len(paired) == len(evaluation)
    assert (paired["score"] - paired[score]).abs().max() <= 5e-7
    assert set(scores[band]) <= {*SERVING.risk_bands, SERVING.flagged_band}
    flagged = scores[score] >= sample.settings().metrics.threshold
    assert (scores.loc[flagged, band] == SERVING.flagged_band).all()


def test_info_reports_version_hashes_and_metrics(installed: Installed) -> None:
    info = json.loads(run([installed.churn, "info", "--json"], installed.cwd).stdout)
    manifest = json.loads((installed.dist / "manifest.json").read_text())
    assert info["version"] == VERSION
    assert info["model_sha256"] == manifest["artifacts"]["model"]["sha256"]
    quality_summary = json.loads((installed.repo / "data/quality.json").read_text())
    assert info["training_data_sha256"] == quality_summary["sha256"]
    metrics = json.loads((installed.repo / "models/metrics.json").read_text())
    assert info["metrics"] == metrics


def test_tampered_packaged_model_is_refused(installed: Installed) -> None:
    site = run([installed.python, "-c", "import churn; print(churn.__file__)"], installed.cwd)
    model = Path(site.stdout.strip()).parent / "artifacts" / "model.skops"
    original = model.read_bytes()
    try:
        model.write_bytes(original[:-1] + bytes([original[-1] ^ 0xFF]))
        proc = run([installed.churn, "info"], installed.cwd, check=False)
    finally:
        model.write_bytes(original)
    assert proc.returncode == 1
    assert "model.skops: SHA-256 is" in proc.stderr
    assert "refusing to load it" in proc.stderr
    # The restored model serves the module's later tests (info, predict, the API) again.


# --- HTTP API --------------------------------------------------------------------------

MAX_BYTES = 20_000
MAX_RECORDS = 5


@dataclass(frozen=True)
class Api:
    url: str

    def call(
        self, path: str, body: bytes | None = None, *, method: str | None = None
    ) -> tuple[int, dict]:
        req = urllib.request.Request(  # noqa: S310 (http on loopback only)
            self.url + path,
            data=body,
            method=method or ("POST" if body is not None else "GET"),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def post(self, payload: object) -> tuple[int, dict]:
        return self.call("/predict", json.dumps(payload).encode())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def api(installed: Installed) -> Iterator[Api]:
    port = _free_port()
    log = (installed.cwd / "serve.log").open("w")
    proc = subprocess.Popen(
        [installed.churn, "serve", "--host", "127.0.0.1", "--port", str(port),
         "--max-request-bytes", str(MAX_BYTES), "--max-records", str(MAX_RECORDS)],
        cwd=installed.cwd, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    client = Api(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if client.call("/health")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    "churn serve did not start:\n" + (installed.cwd / "serve.log").read_text()
                )
            time.sleep(0.2)
        yield client
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        log.close()


@pytest.fixture(scope="module")
def records(installed: Installed) -> list[dict]:
    rows = json_records(sample.typed(installed.repo).head(3), CONTRACT)
    return [{**row, ID: f"C{i}"} for i, row in enumerate(rows)]


def test_health_and_model_describe_the_release(api: Api, installed: Installed) -> None:
    assert api.call("/health") == (200, {"status": "ok", "model_version": VERSION})
    status, info = api.call("/model")
    manifest = json.loads((installed.dist / "manifest.json").read_text())
    assert status == 200
    assert info["model_sha256"] == manifest["artifacts"]["model"]["sha256"]
    assert info["metrics"] == manifest["metrics"]


def test_single_and_batch_records_score_like_the_cli(
    api: Api, installed: Installed, records: list[dict]
) -> None:
    status, one = api.post(records[0])
    assert status == 200
    assert one["model_version"] == VERSION
    assert one["predictions"][0][ID] == "C0"
    status, many = api.post({"records": records})
    assert status == 200
    assert [p[ID] for p in many["predictions"]] == ["C0", "C1", "C2"]
    assert many["predictions"][0] == one["predictions"][0]
    batch = installed.cwd / "three.csv"
    # The same records as an export writes them: code-friendly headers, with ids.
    as_written = as_source(sample.typed(installed.repo).head(3), CONTRACT)
    as_written[ID] = [r[ID] for r in records]
    as_written.to_csv(batch, index=False)
    run([installed.churn, "predict", "--input", batch.name, "--output", "three_scores.csv"],
        installed.cwd)  # fmt: skip
    cli = pd.read_csv(installed.cwd / "three_scores.csv")
    assert list(cli[ID]) == ["C0", "C1", "C2"]
    score, band = SERVING.score_column, SERVING.band_column
    for i, pred in enumerate(many["predictions"]):
        assert pred[score] == pytest.approx(cli.loc[i, score], abs=1e-6)
        assert pred[band] == cli.loc[i, band]
    without_id = {k: v for k, v in records[1].items() if k not in (ID, *CONTRACT.roles.info)}
    status, anonymous = api.post(without_id)
    assert status == 200
    assert anonymous["predictions"][0][ID] is None


def _fields(body: dict) -> list[str]:
    return [str(p["loc"][-1]) for p in body["detail"]]


def _not_allowed(field: object) -> object:
    allowed = field.allowed or (0,)  # type: ignore[attr-defined]
    return max(allowed) + 1 if isinstance(allowed[0], int | float) else "not a category"


def test_bad_records_get_422_naming_the_field(api: Api, records: list[dict]) -> None:
    good = records[0]
    required = next(f.name for f in CONTRACT.features if f.required)
    number = sample.first("numeric", bounded=True)
    coded = sample.fields("categorical", "ordinal")[0]
    missing = {k: v for k, v in good.items() if k != required}
    cases = {
        required: missing,
        number.name: {**good, number.name: "many"},
        coded.name: {**good, coded.name: _not_allowed(coded)},
        "loyalty_points": {**good, "loyalty_points": 3},
    }
    if number.constraints.maximum is not None:
        over = float(number.constraints.maximum) + 1
        cases[f"{number.name} too large"] = {**good, number.name: over}
    if CONTRACT.value:
        cases[CONTRACT.value] = {**good, CONTRACT.value: -1.5}
    for case, payload in cases.items():
        field = case.split()[0]
        status, body = api.post(payload)
        assert status == 422, (case, body)
        assert field in _fields(body), (case, body)
        assert all(field in p["msg"] for p in body["detail"] if p["loc"][-1] == field)
    status, body = api.post({"records": [good, {**good, coded.name: "x"}]})
    assert status == 422
    assert body["detail"][0]["loc"] == ["body", "records", 1, coded.name]


def test_json_types_are_json_schema_types(api: Api, records: list[dict]) -> None:
    """An integral 1200.0 is a whole number; `true` is neither a number nor text."""
    good = records[0]
    whole = next(f.name for f in CONTRACT.features if f.type == "integer" and f.allowed is None)
    assert api.post({**good, whole: float(good[whole])})[0] == 200
    status, body = api.post({**good, whole: True})
    assert status == 422
    assert body["detail"][0]["msg"].startswith(f"{whole}: must be a whole number")
    status, body = api.post({**good, ID: True})  # a text field (the id: text or a number)
    assert status == 422
    assert body["detail"][0]["msg"].startswith(f"{ID}: must be text")
    assert "number" not in body["detail"][0]["msg"].split(" or ")[0]


@pytest.mark.example
def test_a_record_breaking_a_rule_hook_gets_422_naming_its_fields(
    api: Api, records: list[dict]
) -> None:
    good = records[0]
    status, body = api.post({**good, "age": 55 if good["age_group"] != 5 else 15})
    assert status == 422
    assert body["detail"][0]["loc"] == ["body", "age"]
    assert body["detail"][0]["msg"].startswith("age, age_group: must match age_group")


def test_malformed_empty_and_oversized_requests_are_refused_cleanly(
    api: Api, records: list[dict]
) -> None:
    assert api.call("/predict", b"{not json")[0] == 422
    assert api.call("/predict", b"")[0] == 422
    assert api.call("/predict", b"[1, 2]")[0] == 422
    assert api.call("/predict", b'{"x": NaN}')[0] == 422
    assert api.call("/predict", '{"x": "\udcff"}'.encode("utf-8", "surrogatepass"))[0] == 422
    status, body = api.post({"records": records * 2})  # 6 records, limit 5
    assert status == 422
    assert body["detail"][0]["loc"] == ["body", "records"]
    status, body = api.call("/predict", b" " * (MAX_BYTES + 1))
    assert status == 413
    assert str(MAX_BYTES) in body["detail"]
    assert api.post({"records": []})[0] == 422
    assert api.call("/health")[0] == 200  # still serving


ODD_VALUES: list[object] = [
    None, "", "7", True, [], {}, 1.5, -0.0, 2**64, 10**30, 1e308, "\u00e9\u2603", [1], {"a": 1},
]  # fmt: skip


def test_odd_values_in_any_field_never_cause_a_server_error(api: Api, records: list[dict]) -> None:
    answered: set[int] = set()
    for field in records[0]:
        for value in ODD_VALUES:
            status, body = api.post({**records[0], field: value})
            assert status < 500, (field, value, body)
            answered.add(status)
            if status == 422:
                assert any(field in map(str, p["loc"]) for p in body["detail"]), (field, body)
    assert answered == {200, 422}


def test_openapi_served_is_the_committed_contract(api: Api) -> None:
    status, served = api.call("/openapi.json")
    committed = json.loads((ROOT / "docs/openapi.json").read_text())
    assert status == 200
    assert served["components"]["schemas"]["Record"] == committed["components"]["schemas"]["Record"]
    # The schema the API enforces is the one the pipeline exported and the wheel ships.
    exported = json.loads((ROOT / sample.settings().model.input_schema).read_text())
    record = {k: v for k, v in exported.items() if k != "$schema"}
    assert served["components"]["schemas"]["Record"] == record
    assert set(served["paths"]) == set(committed["paths"]) == {"/health", "/model", "/predict"}
