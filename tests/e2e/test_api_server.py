"""`churn serve` as a deployment runs it: bearer tokens, two workers, real HTTP on loopback.

The server scores with the reproduced development model; the tests check what a security
reviewer and a client rely on: 401 without a valid token (every token of a rotation
accepted), `/health` open, a request id on every answer, an access log that never holds a
field value, the OpenAPI document's examples accepted, and Schemathesis finding no request
the document and the server disagree on.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import fastjsonschema
import pytest

import sample
from gitops.contract.json_schema import json_records
from support import BIN

pytestmark = pytest.mark.slow
TOKENS = ("first-token-8c1f0e5b9a7d4e21", "second-token-3b6d9f2a0c4e8b17")
CONTRACT = sample.contract()
ID = CONTRACT.id or "id"


@dataclass(frozen=True)
class Server:
    url: str
    log: Path
    proc: subprocess.Popen[bytes]

    def call(
        self,
        path: str,
        body: object = None,
        *,
        token: str | None = TOKENS[0],
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict, dict[str, str]]:
        data = None if body is None else json.dumps(body).encode()
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.url + path, data=data, headers=sent)  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 (loopback)
                return resp.status, json.loads(resp.read()), dict(resp.headers)
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read()), dict(err.headers)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(repo: Path, folder: Path, env: dict[str, str], *args: str) -> Server:
    port = _free_port()
    log = folder / f"serve-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "churn"), "serve", "--model", "models/model.skops",
             "--host", "127.0.0.1", "--port", str(port), *args],
            cwd=repo, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = Server(f"http://127.0.0.1:{port}", log, proc)
    deadline = time.monotonic() + 90
    while True:
        try:
            if server.call("/health", token=None)[0] == 200:
                return server
        except (urllib.error.URLError, ConnectionError):
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            _stop(proc)
            raise AssertionError("churn serve did not start:\n" + log.read_text())
        time.sleep(0.2)


def _stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(timeout=20)


@pytest.fixture(scope="module")
def server(pipeline_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("serve")
    tokens = folder / "tokens"
    tokens.write_text(f"# rotated monthly\n{TOKENS[0]}\n\n{TOKENS[1]}\n")
    env = {**os.environ, "MODEL_API_TOKENS_FILE": str(tokens)}
    env.pop("MODEL_API_TOKENS", None)
    started = _start(pipeline_repo, folder, env, "--workers", "2", "--max-records", "5")
    try:
        yield started
    finally:
        assert _stop(started.proc) == 0, started.log.read_text()


@pytest.fixture(scope="module")
def records(pipeline_repo: Path) -> list[dict]:
    rows = json_records(sample.typed(pipeline_repo).head(3), CONTRACT)
    return [{**row, ID: f"C{i}"} for i, row in enumerate(rows)]


def test_a_missing_or_wrong_token_is_refused_and_every_listed_token_accepted(
    server: Server, records: list[dict]
) -> None:
    for token in (None, "first-token-8c1f0e5b9a7d4e2", TOKENS[0] + "x", ""):
        status, body, headers = server.call("/predict", records[0], token=token)
        assert status == 401, (token, body)
        assert headers["www-authenticate"].startswith("Bearer")
    status, _, _ = server.call("/model", token=None)
    assert status == 401
    basic = {"Authorization": "Basic " + TOKENS[0]}
    assert server.call("/predict", records[0], token=None, headers=basic)[0] == 401
    for token in TOKENS:  # both tokens of a rotation work at once
        status, body, _ = server.call("/predict", records[0], token=token)
        assert status == 200, body
        assert body["predictions"][0][ID] == "C0"
    assert server.call("/health", token=None)[:2] == (200, {"status": "ok", "model_version": "dev"})


def test_request_ids_are_echoed_or_made(server: Server, records: list[dict]) -> None:
    _, _, headers = server.call("/predict", records[0], headers={"X-Request-ID": "crm-job-42"})
    assert headers["x-request-id"] == "crm-job-42"
    _, _, headers = server.call("/predict", records[0])
    assert re.fullmatch(r"[0-9a-f]{32}", headers["x-request-id"])
    _, _, headers = server.call("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert re.fullmatch(r"[0-9a-f]{32}", headers["x-request-id"])  # not echoed into the log


def test_the_access_log_never_holds_a_field_value(server: Server, records: list[dict]) -> None:
    secret = {
        **records[0],
        ID: "CUST-7f3a9c2e-PRIVATE",
        "seconds_of_use": 1234567,
        "call_count": 98765,
        "sms_count": 43210,
        "distinct_numbers_called": 31337,
        "customer_value": 4242.4242,
    }
    assert server.call("/predict", secret, headers={"X-Request-ID": "log-test-1"})[0] == 200
    assert server.call("/predict", {"records": [secret, secret]})[0] == 200
    bad = {**secret, "loyalty_points": "LEAK-ME-NOT", "sms_count": -43210}
    assert server.call("/predict", bad)[0] == 422
    wrong = "wrong-" + TOKENS[0]
    assert server.call("/predict", secret, token=wrong)[0] == 401
    time.sleep(0.5)  # the workers' log lines reach the file
    log = server.log.read_text()
    lines = [line for line in log.splitlines() if "request_id=log-test-1 " in line]
    assert len(lines) == 1, log
    assert re.search(r"method=POST path=/predict status=200 duration_ms=[\d.]+$", lines[0])
    values = [str(v) for v in {**secret, **bad}.values() if len(str(v)) >= 5]
    values += [json.dumps(secret), "loyalty_points"]
    assert values
    leaked = [v for v in values if v in log]
    assert leaked == [], leaked


def test_tokens_asked_for_but_unusable_stop_the_server(pipeline_repo: Path, tmp_path: Path) -> None:
    empty = tmp_path / "tokens"
    empty.write_text("# nothing yet\n")
    cases = {
        "MODEL_API_TOKENS_FILE": str(empty),
        "MODEL_API_TOKENS": " , ",
    }
    for name, value in cases.items():
        env = {k: v for k, v in os.environ.items() if not k.startswith("MODEL_API_TOKENS")}
        proc = subprocess.run(
            [str(BIN / "churn"), "serve", "--model", "models/model.skops",
             "--port", str(_free_port())],
            cwd=pipeline_repo, env={**env, name: value}, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
        assert proc.returncode == 1, proc.stderr
        assert name in proc.stderr
        assert "not starting" in proc.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODEL_API_TOKENS")}
    env["MODEL_API_TOKENS"] = "short"
    # Checked before the model is even looked for: a missing model is not what it says.
    proc = subprocess.run(
        [str(BIN / "churn"), "serve", "--model", "models/no-such-model.skops"],
        cwd=pipeline_repo, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 1
    assert "at least 16 characters" in proc.stderr
    assert "no-such-model" not in proc.stderr


def _document(server: Server) -> dict:
    status, spec, _ = server.call("/openapi.json")
    assert status == 200
    return spec


def test_the_documented_examples_are_valid_and_accepted(server: Server) -> None:
    spec = _document(server)
    operation = spec["paths"]["/predict"]["post"]
    content = operation["requestBody"]["content"]["application/json"]
    schema = {**content["schema"], "components": spec["components"]}
    validate = fastjsonschema.compile(schema)  # refs resolve in the document's components
    assert content["examples"]
    for name, example in content["examples"].items():
        validate(example["value"])
        status, body, _ = server.call("/predict", example["value"])
        assert status == 200, (name, body)
    assert operation["security"] == [{"bearer": []}]
    assert "401" in operation["responses"]
    assert "security" not in spec["paths"]["/health"]["get"]


def test_the_contract_and_the_answers_agree(server: Server, records: list[dict]) -> None:
    good = records[0]
    status, body, _ = server.call("/predict", {**good, ID: False})
    assert status == 422  # an id is returned as sent: false is no id, not 0
    assert body["detail"][0]["loc"] == ["body", ID]
    assert body["detail"][0]["msg"].startswith(f"{ID}: must be text")
    whole = next(f.name for f in CONTRACT.features if f.type == "integer" and f.allowed is None)
    status, body, _ = server.call("/predict", {**good, whole: float(good[whole])})
    assert status == 200, body
    status, body, _ = server.call("/predict", {**good, "age": 55 if good["age_group"] != 5 else 15})
    assert status == 422
    assert body["detail"][0]["msg"].startswith("age, age_group: must match age_group")
    assert body["detail"][0]["type"] == "rule:age_matches_group"
    record = _document(server)["components"]["schemas"]["Record"]
    assert "must match age_group" in record["properties"]["age"]["description"]
    assert "must match age_group" in record["properties"]["age_group"]["description"]


def test_schemathesis_finds_no_disagreement(server: Server, tmp_path: Path) -> None:
    """Every Schemathesis check, bounded examples per operation, against the real server."""
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(_document(server)))
    proc = subprocess.run(
        [str(BIN / "schemathesis"), "--no-color", "run", str(document), "--url", server.url,
         "--checks", "all", "--max-examples", "60", "--seed", "20240601",
         "--header", f"Authorization: Bearer {TOKENS[1]}"],
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path,
    )  # fmt: skip
    summary = [line for line in proc.stdout.splitlines() if "generated" in line]
    print("\n".join(summary))
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert summary, proc.stdout[-2000:]
    assert re.search(r"\d+ generated", summary[-1])


def test_info_into_a_closed_pipe_ends_quietly(pipeline_repo: Path) -> None:
    """`churn info | head -1`: the reader is gone before the command writes; it ends with
    exit 0 and no traceback (the CLI's main handles a closed pipe for every subcommand)."""
    proc = subprocess.Popen(
        [str(BIN / "churn"), "info", "--model", "models/model.skops"],
        cwd=pipeline_repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stderr is not None
    proc.stdout.close()  # closed before the model is even loaded: every write is refused
    error = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, error
    assert "Traceback" not in error
    assert "BrokenPipeError" not in error
