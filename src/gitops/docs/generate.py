"""`make docs`: every generated part of the docs, rebuilt from what the code produces now.

The docs quote the product: an example review report and its rendering, a request to the
packaged model and its answer, a monitoring report, the data card's column table, the
OpenAPI document. Each is produced here by the command a user runs, then written between
its page's markers (`gitops.docs.blocks`) or over its file, atomically: a failing part
leaves every page as it was and names what failed.

- `card`: the data card's column table (`gitops.contract.card`).
- `openapi`: docs/openapi.json (what `make openapi` writes).
- `serving`: the wheel built by `make package`, installed in a fresh venv, served on
  loopback; one batch request, its answer, and one invalid record's 422, into
  docs/serving.md.
- `monitoring`: `make monitor` on the demo batch (params.yaml monitor.demo.output), its
  terminal output and reports/monitor.md, into docs/monitoring.md.
- `report`: in a temporary clone, a change (`--change key=value`, default a random forest
  against the default model) is run and committed, and `make report` compares it with the
  clone's `main` (the current commit); docs/example-report.md is that report and
  docs/example-report.png its rendering (`gitops.docs.preview`).

`--check` rebuilds the cheap parts (card, openapi) in memory and fails when a committed
copy differs; the others need a model, a server or a pipeline run and are only rewritten.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from gitops import yamltext
from gitops.contract import load as contract_load
from gitops.contract import reading
from gitops.contract.spec import Contract, FieldSpec
from gitops.docs import blocks, preview
from gitops.files import write_bytes, write_text
from gitops.pipeline import outputs
from gitops.settings import Settings, SettingsError

#: JSON as the server sends it: no spaces after separators.
COMPACT = (",", ":")
PARTS = ("card", "openapi", "serving", "monitoring", "report")
CHEAP = ("card", "openapi")
OPENAPI = Path("docs/openapi.json")
SERVING = Path("docs/serving.md")
MONITORING = Path("docs/monitoring.md")
EXAMPLE_MD = Path("docs/example-report.md")
EXAMPLE_PNG = Path("docs/example-report.png")
#: Who commits the example change in the temporary clone (never pushed anywhere).
EXAMPLE_IDENTITY = {
    "GIT_AUTHOR_NAME": "Example",
    "GIT_AUTHOR_EMAIL": "example@example.com",
    "GIT_COMMITTER_NAME": "Example",
    "GIT_COMMITTER_EMAIL": "example@example.com",
}


class DocsError(Exception):
    """A part of the docs could not be generated; the message names the step and why."""


def _run(
    cmd: list[str],
    cwd: Path,
    *,
    env: Mapping[str, str] | None = None,
    ok: tuple[int, ...] = (0,),
    timeout: float = 1800,
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        cmd, cwd=cwd, env=dict(env or os.environ), capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip
    if proc.returncode not in ok:
        tail = (proc.stderr or proc.stdout).strip()[-1500:]
        raise DocsError(f"`{' '.join(cmd)}` (in {cwd}) exited {proc.returncode}:\n{tail}")
    return proc


# --- card and openapi: cheap, checkable ----------------------------------------------


def card_part(root: Path, params: str, check: bool) -> bool:
    """The data card's column table; True when it is (or was) out of date."""
    from gitops.contract import card

    settings = Settings.load(root / params)
    if not settings.data.card:
        return False
    page = root / settings.data.card
    text = page.read_text(encoding="utf-8")
    new = card.updated(text, contract_load.load(root / settings.data.contract))
    if new != text and not check:
        write_text(page, new)
    return new != text


def openapi_text(settings: Settings) -> str:
    """docs/openapi.json as `make openapi` writes it (same formatting as gitops.files)."""
    from gitops.scoring.cli import settings_app

    document = settings_app(settings, "unreleased").openapi()
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def openapi_part(root: Path, params: str, check: bool) -> bool:
    target = root / OPENAPI
    new = openapi_text(Settings.load(root / params))
    old = target.read_text(encoding="utf-8") if target.exists() else ""
    if new != old and not check:
        write_text(target, new)
    return new != old


# --- serving: the packaged model over HTTP -------------------------------------------


def _json_value(field: FieldSpec, text: Any) -> Any:
    """A CSV cell (text, or NaN for a blank) as the JSON value the API takes."""
    if not isinstance(text, str):
        return None
    if field.type == "integer":
        return int(float(text))
    if field.type == "number":
        return float(text)
    if field.type == "boolean":
        return text in field.true_values
    return text


def sample_records(contract: Contract, sample: Path, limit: int = 200) -> list[dict[str, Any]]:
    """The first `limit` rows of the sample as JSON records, as a client would send them.

    Blanks are left out (optional fields); the label is not sent; a sample without an id
    column gets its line number as the id, so the answer shows the id coming back.
    """
    frame = reading.read_csv(sample, contract).head(limit)
    roles = contract.roles
    records = []
    for line, row in frame.iterrows():
        record: dict[str, Any] = {}
        if roles.id and roles.id not in frame.columns:
            record[roles.id] = f"line-{line}"
        for field in contract.fields:
            if field.name == roles.label or field.name not in frame.columns:
                continue
            value = _json_value(field, row[field.name])
            if value is not None and not (isinstance(value, float) and math.isnan(value)):
                record[field.name] = value
        records.append(record)
    return records


def ends(records: list[dict[str, Any]], answer: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The lowest- and the highest-scored record: the example shows both ends of the bands."""
    predictions = answer.get("predictions") or []
    scores = [next(v for k, v in p.items() if isinstance(v, float)) for p in predictions]
    if len(scores) != len(records) or not scores:
        raise DocsError("the answer does not hold one score per record sent")
    low = min(range(len(scores)), key=scores.__getitem__)
    high = max(range(len(scores)), key=scores.__getitem__)
    return [records[low], records[high]] if low != high else [records[low]]


def wrapped(record: Mapping[str, Any], indent: str, width: int = 92) -> str:
    """One record as JSON over lines no wider than `width`, broken between fields only."""
    items = [f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in record.items()]
    lines, line = [], indent + "{"
    for i, item in enumerate(items):
        piece = item + ("," if i < len(items) - 1 else "}")
        if len(line) + len(piece) + 1 > width and line.strip() != "{":
            lines.append(line.rstrip())
            line = indent + " " + piece
        else:
            line += ("" if line.endswith("{") else " ") + piece
    lines.append(line)
    return "\n".join(lines)


def invalid_record(contract: Contract, record: Mapping[str, Any]) -> dict[str, Any]:
    """`record` made wrong three ways: a field that is not in the contract, a number below
    its minimum, a whole number given as a fraction (where the contract has such fields)."""
    bad = dict(record)
    bad["region"] = "north"
    below = next(
        (f for f in contract.fields if f.name in bad and f.constraints.minimum is not None
         and f.type in ("integer", "number")),
        None,
    )  # fmt: skip
    if below is not None:
        bad[below.name] = below.constraints.minimum - 1
    fraction = next(
        (f for f in contract.fields if f.name in bad and f.type == "integer" and f is not below),
        None,
    )
    if fraction is not None:
        bad[fraction.name] = bad[fraction.name] + 0.5
    return bad


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _post(url: str, payload: object) -> tuple[int, Any]:
    request = urllib.request.Request(  # noqa: S310 - loopback URL built here
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _wait_healthy(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise DocsError(f"the server exited {server.returncode}:\n{log.read_text()[-1500:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback
                return
        except OSError:
            time.sleep(0.3)
    raise DocsError(f"the server did not answer {url} within 90 s:\n{log.read_text()[-1500:]}")


def _uv() -> str:
    found = os.environ.get("UV") or shutil.which("uv") or ".tools/bin/uv"
    return str(Path(found).resolve()) if Path(found).exists() else found


def serving_blocks(root: Path, params: str, tmp: Path, version: str) -> dict[str, str]:
    """Build, install and serve the wheel; the request and answers as markdown blocks."""
    settings = Settings.load(root / params)
    contract = contract_load.load(root / settings.data.contract)
    sample = (settings.deploy or {}).get("sample")
    if not sample:
        raise DocsError(f"{params}: deploy.sample names no sample to send")
    records = sample_records(contract, root / sample)
    if not records:
        raise DocsError(f"{sample}: no records to send")
    venv, uv = tmp / "venv", _uv()
    # The packager writes inside the repository; build/ is git-ignored, and dist/ (what
    # `make package` made) is left alone.
    (root / "build").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="docs-dist-", dir=root / "build") as dist_dir:
        dist = Path(dist_dir)
        _run([sys.executable, "-m", "gitops.release.package", "--version", version,
              "--dist", str(dist.relative_to(root)), "--uv", uv], root)  # fmt: skip
        wheel = shutil.copy2(next(dist.glob("*.whl")), tmp)
    _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], tmp)
    _run([uv, "pip", "install", "--quiet", "--python", str(venv / "bin/python"), str(wheel)], tmp)
    script = next(iter(settings.package.scripts)) if settings.package.scripts else "churn"
    port = _free_port()
    log = tmp / "server.log"
    with log.open("wb") as out:
        # Started from the temporary folder, so the installed wheel alone answers.
        server = subprocess.Popen(
            [str(venv / "bin" / script), "serve", "--host", "127.0.0.1", "--port", str(port),
             "--no-access-log"],
            cwd=tmp, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_healthy(f"{base}/health", server, log)
            status, answer = _post(f"{base}/predict", {"records": records})
            if status != 200:
                raise DocsError(f"POST /predict answered {status}: {answer}")
            # The request the page shows is sent as it is shown, on its own.
            records = ends(records, answer)
            status, answer = _post(f"{base}/predict", {"records": records})
            if status != 200:
                raise DocsError(f"POST /predict answered {status}: {answer}")
            bad_status, bad_answer = _post(f"{base}/predict", invalid_record(contract, records[0]))
            if bad_status != 422:
                raise DocsError(f"POST /predict of an invalid record answered {bad_status}")
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    body = ",\n".join(wrapped(r, "  ") for r in records)
    request = (
        f"A request to release {version} (sample rows, from a real run):\n\n"
        "```bash\n"
        "curl -s -X POST http://127.0.0.1:8000/predict -H 'Content-Type: application/json' -d '\n"
        f'{{"records": [\n{body}\n]}}\'\n'
        "```\n\n"
        "```json\n" + _answer_json(answer) + "\n```"
    )
    problems = "```json\n" + _answer_json(bad_answer) + "\n```"
    return {"serving-example": request, "serving-invalid": problems}


def _answer_json(answer: Mapping[str, Any]) -> str:
    """An answer as the server sends it, one list entry a line so it reads in a page."""
    parts = []
    for key, value in answer.items():
        if isinstance(value, list):
            entries = ",\n".join(
                "  " + json.dumps(v, ensure_ascii=False, separators=COMPACT) for v in value
            )
            parts.append(f"{json.dumps(key)}:[\n{entries}]")
        else:
            parts.append(
                f"{json.dumps(key)}:{json.dumps(value, ensure_ascii=False, separators=(',', ':'))}"
            )
    return "{" + ",".join(parts) + "}"


# --- monitoring: the demo batch ------------------------------------------------------


def monitoring_blocks(root: Path, params: str) -> dict[str, str]:
    settings = Settings.load(root / params)
    monitor = settings.monitor
    if monitor is None or monitor.demo is None:
        raise DocsError(f"{params}: monitor.demo names no demo batch to check")
    batch = monitor.demo.output
    # Exit 1 is a drift found: the demo batch is built to show one.
    proc = _run([sys.executable, "-m", "gitops.monitoring.monitor", "--input", batch,
                 "--params", params], root, ok=(0, 1))  # fmt: skip
    report = (root / (monitor.report + ".md")).read_text(encoding="utf-8")
    return {
        "monitor-output": f"`make monitor INPUT={batch}` after `make run` prints\n\n"
        f"```text\n{proc.stdout.rstrip()}\n```",
        "monitor-report": report.rstrip("\n"),
    }


# --- report: a change proposed against the current commit ----------------------------


def _set_param(path: Path, dotted: str, value: Any) -> None:
    """Set `dotted` in a params file, keeping its comments (ruamel comes with DVC)."""
    from ruamel.yaml import YAML

    ryaml = YAML()
    ryaml.preserve_quotes = True
    ryaml.width = 100
    data = ryaml.load(path.read_text(encoding="utf-8"))
    node = data
    *parents, last = dotted.split(".")
    for key in parents:
        if not isinstance(node, dict) or key not in node:
            raise DocsError(f"{path.name}: no key '{dotted}' to change")
        node = node[key]
    if last not in node:
        raise DocsError(f"{path.name}: no key '{dotted}' to change")
    node[last] = value
    with path.open("w", encoding="utf-8") as fh:
        ryaml.dump(data, fh)


def example_report(
    root: Path, tmp: Path, changes: list[tuple[str, Any]], params: str
) -> tuple[str, Path]:
    """The report of `changes` against the current commit, made in a temporary clone."""
    clone = tmp / "clone"
    _run(["git", "clone", "--quiet", "--no-hardlinks", str(root), str(clone)], root)
    # The current commit is the base, under the name the report compares with by default.
    _run(["git", "checkout", "--quiet", "-B", "main"], clone)
    _run(["git", "checkout", "--quiet", "-b", "example-change"], clone)
    # DVC-cached outputs git does not carry: unchanged stages are not recomputed.
    outputs.copy_cached(root, clone)
    for key, value in changes:
        _set_param(clone / params, key, value)
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        **EXAMPLE_IDENTITY,
        # The clone's code, not this checkout's, runs its stages and its report.
        "PYTHONPATH": str(clone / "src"),
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        "DVC_NO_ANALYTICS": "1",
    }
    # A fixed date (the base's): the same base and change give the same commit ids.
    date = _run(["git", "log", "-1", "--format=%cI"], clone).stdout.strip()
    env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    _run([str(Path(bin_dir) / "dvc"), "repro", "--quiet"], clone, env=env)
    _run(["git", "add", "-A"], clone, env=env)
    message = "Example change: " + ", ".join(f"{k}={v}" for k, v in changes)
    _run(["git", "commit", "--quiet", "-m", message], clone, env=env)
    # Exit 1 is a failing gate: still a report to show.
    _run([sys.executable, "-m", "gitops.review.report", "--base", "main"], clone, env=env,
         ok=(0, 1))  # fmt: skip
    output = Settings.load(clone / params).report.output
    return (clone / output).read_text(encoding="utf-8"), clone


def parse_changes(items: list[str]) -> list[tuple[str, Any]]:
    """`key=value` pairs, values read as YAML (`0.05` a number, `random_forest` text)."""
    changes = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise DocsError(f"--change '{item}': expected key=value (train.model=random_forest)")
        changes.append((key.strip(), yamltext.load(value)))
    return changes


# --- the command ----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--check", action="store_true", help="fail when card or openapi is stale")
    parser.add_argument("--only", help=f"comma-separated parts (default: all of {','.join(PARTS)})")
    parser.add_argument(
        "--change", action="append", default=None,
        help="params key=value of the example report's change (repeatable; "
        "default train.model=random_forest)",
    )  # fmt: skip
    parser.add_argument("--version", default="1.0.0", help="release the serving example shows")
    parser.add_argument("--node-modules", default=".tools/preview/node_modules")
    parser.add_argument("--chromium", help="browser for the example report's PNG")
    args = parser.parse_args(argv)
    root = Path.cwd()
    parts = [p.strip() for p in args.only.split(",")] if args.only else list(PARTS)
    if unknown := [p for p in parts if p not in PARTS]:
        print(f"docs: unknown part(s) {unknown}; parts are {', '.join(PARTS)}", file=sys.stderr)
        return 2
    if args.check:
        return _check(root, args.params, [p for p in parts if p in CHEAP])
    try:
        steps: dict[str, Callable[[Path], str]] = {
            "card": lambda _: _changed(card_part(root, args.params, False), "the data card"),
            "openapi": lambda _: _changed(openapi_part(root, args.params, False), str(OPENAPI)),
            "serving": lambda tmp: _changed(
                blocks.update(root / SERVING, serving_blocks(root, args.params, tmp, args.version)),
                str(SERVING),
            ),
            "monitoring": lambda _: _changed(
                blocks.update(root / MONITORING, monitoring_blocks(root, args.params)),
                str(MONITORING),
            ),
            "report": lambda tmp: _report_step(root, tmp, args),
        }
        for part in parts:
            start = time.perf_counter()
            with tempfile.TemporaryDirectory(prefix=f"docs-{part}-") as tmp:
                said = steps[part](Path(tmp))
            print(f"docs: {part}: {said} ({time.perf_counter() - start:.1f} s)", file=sys.stderr)
    except (DocsError, blocks.BlockError, SettingsError, contract_load.ContractError,
            preview.PreviewError, OSError, ValueError) as exc:  # fmt: skip
        print(f"docs: {exc}", file=sys.stderr)
        print("docs: the parts listed above were written; this one and the rest were not.",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0


def _changed(changed: bool, what: str) -> str:
    return f"{what} updated" if changed else f"{what} already up to date"


def _report_step(root: Path, tmp: Path, args: argparse.Namespace) -> str:
    changes = parse_changes(args.change or ["train.model=random_forest"])
    if _run(["git", "status", "--porcelain", "--untracked-files=no"], root).stdout.strip():
        print(
            "docs: report: uncommitted changes are not in the example: it compares a change "
            "with the last commit (HEAD)",
            file=sys.stderr,
        )
    assets = preview.Assets.under(root / args.node_modules)
    text, _ = example_report(root, tmp, changes, args.params)
    # Drawn from a temporary copy first: a chart mermaid refuses leaves both files as they were.
    draft = tmp / "example-report.md"
    draft.write_text(text, encoding="utf-8")
    png = tmp / "example-report.png"
    preview.render(draft, png, assets, chromium=args.chromium)
    write_text(root / EXAMPLE_MD, text)
    write_bytes(root / EXAMPLE_PNG, png.read_bytes())
    return f"{EXAMPLE_MD} and {EXAMPLE_PNG} written"


def _check(root: Path, params: str, parts: list[str]) -> int:
    stale = []
    try:
        if "card" in parts and card_part(root, params, True):
            stale.append("the data card's column table (make card)")
        if "openapi" in parts and openapi_part(root, params, True):
            stale.append(f"{OPENAPI} (make openapi)")
    except (SettingsError, contract_load.ContractError, OSError, ValueError) as exc:
        print(f"docs: {exc}", file=sys.stderr)
        return 1
    for what in stale:
        print(f"docs: out of date: {what}; run `make docs` and commit", file=sys.stderr)
    if not stale:
        print(f"docs: up to date ({', '.join(parts)})", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
