"""Scale benchmark: how time and memory grow with the customer base, and what the machinery adds.

For each size it writes a seeded synthetic customer base (`gitops.contract.synthetic`) under
`bench/` (git-ignored), copies the project into a fresh git repository pointed at it, and
measures on the same data: every pipeline stage through `dvc repro`, a bare reference (one
process doing the same work with no DVC, no files between steps), a no-op `dvc repro`,
the review report against a base run, and batch scoring; then the HTTP API under load.
The table goes to stdout and into docs/benchmarks.md.

    python tests/benchmarks/bench_scale.py --sizes 100000 1000000
    python tests/benchmarks/bench_scale.py bare --input data.csv   # the reference alone
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path

import yaml
from fastapi import FastAPI, Request
from fastapi.responses import Response

from gitops import bench, curves, files, metrics
from gitops.contract import load, reading
from gitops.contract.synthetic import published, synthesize
from gitops.contract.validate import check
from gitops.pipeline import baseline, estimator, evaluate, quality, split
from gitops.scoring import persist
from gitops.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DOC = ROOT / "docs/benchmarks.md"
MARKERS = ("<!-- bench:start -->", "<!-- bench:end -->")
API_MARKERS = ("<!-- bench-api:start -->", "<!-- bench-api:end -->")
PACKAGES = ("numpy", "pandas", "pyarrow", "scikit-learn", "pandera", "skops", "dvc", "uvicorn")
RAW = "data/raw/customers.csv"


@dataclass
class Row:
    size: int
    step: str
    result: bench.Measurement | None
    note: str = ""
    reference: bench.Measurement | None = None  # the bare reference, where a ratio means something


# --- the bare reference: the floor the machinery is measured against -----------------------


def bare(input_csv: str, params_path: str) -> dict[str, float]:
    """Load, validate, clean, split, fit, evaluate (and profile) in one process, nothing written."""
    settings = Settings.load(params_path)
    contract = load.load(Path(params_path).parent / settings.data.contract)
    raw = check(reading.read_csv(input_csv, contract), contract, input_csv)
    cleaned = quality.clean(
        raw,
        contract,
        drop_duplicates=settings.validate_.drop_duplicates,
        drop_conflicts=settings.validate_.drop_conflicting_labels,
    )
    quality.summary(
        raw, cleaned, contract, source=input_csv, sha256=files.digest(input_csv),
        contract_sha256=files.digest(contract.source),
    )  # fmt: skip
    del raw
    train, test = split.split(
        cleaned.frame,
        contract.label,
        test_size=settings.split.test_size,
        seed=settings.split.seed,
    )
    del cleaned
    fitted = estimator.build(contract, settings.train).fit(
        train[contract.feature_names], train[contract.label]
    )
    preds = evaluate.predictions(fitted, test, contract)
    y, score = preds["label"].to_numpy(), preds["score"].to_numpy()
    values = metrics.point(
        y,
        score,
        preds["value"].to_numpy(),
        threshold=settings.metrics.threshold,
        top_fraction=settings.metrics.top_fraction,
    )
    curves.all_curves(y, score)
    if settings.reference is not None:  # the monitoring profile, when the pipeline builds one
        baseline.build_reference(
            train,
            contract,
            score,
            values,
            model_sha256=hashlib.sha256(persist.dumps(fitted)).hexdigest(),
            bins=settings.reference.bins,
            risk_bands=settings.reference.risk_bands,
            threshold=settings.metrics.threshold,
            top_fraction=settings.metrics.top_fraction,
        )
    return values


# --- workspaces ------------------------------------------------------------------------------


def env() -> dict[str, str]:
    out = dict(os.environ)
    out["PATH"] = f"{BIN}{os.pathsep}{out.get('PATH', '')}"
    out["DVC_NO_ANALYTICS"] = "1"
    out["DVC_NOSCM_UPDATE_CHECK"] = "1"
    # OpenMP threads that spin while a sibling waits for a core made the same fit take from
    # one to five times its CPU on a shared host; sleeping threads make runs comparable.
    out.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    for key in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"):
        out.setdefault(key, "Benchmark")
    for key in ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        out.setdefault(key, "benchmark@example.com")
    return out


def git(args: list[str], cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env(), check=True, capture_output=True, text=True
    ).stdout


def synthetic_csv(size: int, seed: int, folder: Path) -> Path:
    """The synthetic base for `size` customers, written once per seed and reused."""
    path = folder / f"customers_{size}_seed{seed}.csv"
    if path.is_file():
        return path
    settings = Settings.load(ROOT / "params.yaml")
    contract = load.load(ROOT / settings.data.contract)
    sample_path = ROOT / settings.data.raw
    sample = check(reading.read_csv(sample_path, contract), contract, str(sample_path))
    frame = published(synthesize(sample, contract, size, seed=seed), contract)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_csv(tmp, index=False, lineterminator="\n")
    tmp.replace(path)
    return path


def workspace(dest: Path, data: Path) -> Path:
    """A fresh git repository holding the project, its raw data pointing at `data`."""
    if dest.exists():
        shutil.rmtree(dest)
    files = git(["ls-files", "-z", "--cached", "--others", "--exclude-standard"], ROOT)
    for rel in filter(None, files.split("\0")):
        if (ROOT / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, dest / rel)
    for tool in (".venv", ".tools"):  # `make` targets find the installed environment
        if (ROOT / tool).exists():
            (dest / tool).symlink_to(ROOT / tool)
    raw = dest / RAW
    raw.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(data, raw)  # the same bytes without copying hundreds of MB
    except OSError:
        shutil.copy(data, raw)
    params = yaml.safe_load((dest / "params.yaml").read_text())
    params["data"]["raw"] = RAW
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    git(["init", "-q", "-b", "main"], dest)
    with (dest / ".git/info/exclude").open("a") as fh:
        fh.write(f"/{RAW}\n")  # hundreds of MB do not belong in a commit
    git(["add", "-A"], dest)
    git(["commit", "-q", "-m", "benchmark workspace"], dest)
    return dest


def warm_up() -> None:
    """Compile bytecode once, so no measured step pays for compiling imports.

    With PYTHONDONTWRITEBYTECODE set (common in containers) every process would otherwise
    recompile pandas, scikit-learn and DVC from source: seconds per process.
    """
    print("compiling bytecode of the environment (once)", flush=True)
    paths = [sysconfig.get_paths()["purelib"], str(ROOT / "src")]
    bench.measure([sys.executable, "-m", "compileall", "-q", "-j", "0", *paths], ROOT, check=False)


# --- the steps -------------------------------------------------------------------------------


def has_make_target(repo: Path, target: str) -> bool:
    text = (repo / "Makefile").read_text()
    return re.search(rf"^{re.escape(target)}:", text, flags=re.MULTILINE) is not None


def has_churn_command(command: str) -> bool:
    churn = BIN / "churn"
    if not churn.exists():
        return False
    proc = subprocess.run(
        [str(churn), command, "--help"], capture_output=True, text=True, check=False, env=env()
    )
    return proc.returncode == 0


def run_size(size: int, seed: int, workdir: Path) -> list[Row]:
    data = synthetic_csv(size, seed, workdir / "data")
    repo = workspace(workdir / "work" / str(size), data)
    dvc, e = str(BIN / "dvc"), env()
    rows: list[Row] = []
    bare_cmd = [sys.executable, __file__, "bare", "--input", RAW, "--params", "params.yaml"]
    print(f"[{size:,}] bare reference, first run", flush=True)
    first = bench.measure(bare_cmd, repo, env=e)
    stage_rows = []
    for stage in yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]:  # in file order
        print(f"[{size:,}] dvc repro {stage}", flush=True)
        m = bench.measure([dvc, "repro", "--single-item", stage], repo, env=e)
        stage_rows.append(Row(size, f"dvc repro: {stage}", m))
    print(f"[{size:,}] dvc repro --force (whole pipeline, one command)", flush=True)
    whole = bench.measure([dvc, "repro", "--force"], repo, env=e)
    print(f"[{size:,}] bare reference, second run", flush=True)
    second = bench.measure(bare_cmd, repo, env=e)
    # The floor is the faster run: a transient load elsewhere can only make a run slower.
    ref = min(first, second, key=lambda m: m.wall_s)
    runs = f"runs {first.wall_s:.1f} s and {second.wall_s:.1f} s, before and after the stages"
    rows.append(Row(size, "bare reference (one process, no DVC)", ref, runs, reference=ref))
    rows += stage_rows
    total = _sum([r.result for r in stage_rows if r.result])
    rows.append(Row(size, "sum of the stages above (one DVC start each)", total, reference=ref))
    rows.append(Row(size, "whole pipeline: dvc repro --force", whole, reference=ref))
    print(f"[{size:,}] no-op dvc repro", flush=True)
    rows.append(Row(size, "no-op dvc repro", bench.measure([dvc, "repro"], repo, env=e)))
    rows.append(report_row(size, repo))
    rows.append(predict_row(size, repo, data))
    return rows


def _sum(parts: list[bench.Measurement]) -> bench.Measurement:
    return bench.Measurement(
        wall_s=sum(p.wall_s for p in parts),
        cpu_s=sum(p.cpu_s for p in parts),
        peak_mib=max(p.peak_mib for p in parts),
        returncode=max(p.returncode for p in parts),
    )


def report_row(size: int, repo: Path) -> Row:
    """The review report with significance, against the committed run on the same data."""
    step = "review report (make report, vs base run)"
    if not has_make_target(repo, "report"):
        return Row(size, step, None, note="`make report` is not in this revision")
    git(["add", "-A"], repo)
    git(["commit", "-q", "-m", "base run"], repo)
    base = git(["rev-parse", "HEAD"], repo).strip()
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["metrics"]["threshold"] = float(params["metrics"]["threshold"]) - 0.1
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    bench.measure([str(BIN / "dvc"), "repro"], repo, env=env())
    git(["add", "-A"], repo)
    git(["commit", "-q", "-m", "flag customers at a lower risk"], repo)  # the pull request
    print(f"[{size:,}] make report", flush=True)
    m = bench.measure(["make", "report", f"BASE={base}"], repo, env=env(), check=False)
    test_rows = sum(1 for _ in (repo / "models/predictions.csv").open()) - 1
    if m.returncode not in (0, 1):  # 1 means a gate failed, which is still a full report
        raise bench.StepFailedError(f"make report exited {m.returncode}\n{m.output[-4000:]}")
    return Row(size, step, m, note=f"{test_rows:,} test rows")


def predict_row(size: int, repo: Path, data: Path) -> Row:
    step = "churn predict (CSV to CSV)"
    if not has_churn_command("predict"):
        return Row(size, step, None, note="`churn predict` is not in this revision")
    print(f"[{size:,}] churn predict", flush=True)
    out = repo / "bench-scored.csv"
    cmd = [str(BIN / "churn"), "predict", "--model", "models/model.skops"]
    cmd += ["--input", str(data), "--output", str(out)]
    m = bench.measure(cmd, repo, env=env())
    out.unlink(missing_ok=True)
    return Row(size, step, m, note=f"{size / m.wall_s:,.0f} rows/s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def api_rows(repo: Path, seconds: int, clients: int, workers: int = 2) -> list[Row]:
    """`churn serve` under `clients` concurrent keep-alive connections from wrk.

    Beside it, on the same machine in the same run, a bare FastAPI app served the same way
    (uvicorn, same workers, an endpoint that reads the body and answers a constant): the
    framework's floor, so the ratio says what validation and scoring cost.
    """
    step = f"HTTP API, {clients} clients, {seconds} s"
    if not has_churn_command("serve"):
        return [Row(0, step, None, note="`churn serve` is not in this revision")]
    wrk = shutil.which("wrk")
    if wrk is None:
        return [Row(0, step, None, note="wrk is not installed (apt-get install wrk)")]
    one, batch = _bodies(10)
    rows: list[Row] = []
    floor_cmd = [sys.executable, __file__, "floor", "--workers", str(workers)]
    serve_cmd = [str(BIN / "churn"), "serve", "--model", "models/model.skops", "--no-access-log"]
    serve_cmd += ["--workers", str(workers)]
    for label, cmd in (
        ("bare FastAPI app (framework floor)", floor_cmd),
        ("churn serve", serve_cmd),
    ):
        for what, body in (("1 record", one), ("10 records", batch)):
            name = f"{step}, {workers} workers: {label}, {what} per request"
            served, text = _under_load(cmd, repo, body, wrk, clients, seconds)
            rows.append(Row(0, name + " (server CPU and memory)", served, note=text))
    rows.append(_big_batch_row(serve_cmd, repo, workers))
    return rows


def _under_load(
    cmd: list[str], repo: Path, body: str, wrk: str, clients: int, seconds: int
) -> tuple[bench.Measurement, str]:
    port = free_port()
    server = subprocess.Popen(
        [*cmd, "--host", "127.0.0.1", "--port", str(port)],
        cwd=repo, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_for_port(port, server)
        script = ROOT / "bench" / "post.lua"  # bench/ is git-ignored
        script.parent.mkdir(exist_ok=True)
        script.write_text(_wrk_script(body))
        print(f"[api] {' '.join(cmd[1:3])}: wrk {clients} clients for {seconds} s", flush=True)
        load = [wrk, "-t2", f"-c{clients}", f"-d{seconds}s", "--latency", "-s", str(script)]
        load.append(f"http://127.0.0.1:{port}/predict")
        m = bench.measure(load, repo, env=env(), timeout_s=seconds + 30)
    finally:
        server.terminate()
        # Reaped here rather than by Popen.wait: the kernel hands over the server's own CPU
        # time and peak memory (its workers' included) over its whole life with its status.
        _pid, status, usage = bench.wait_with_usage(server, time.perf_counter() + 15)
        server.returncode = os.waitstatus_to_exitcode(status)
    served = bench.Measurement(
        wall_s=m.wall_s,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_mib=usage.ru_maxrss / 1024,
        returncode=m.returncode,
        output=m.output,
    )
    return served, f"{_wrk_summary(m.output)}; wrk itself {m.cpu_s:.1f} s CPU"


def _big_batch_row(cmd: list[str], repo: Path, workers: int, requests: int = 50) -> Row:
    """One client sending batches of the most records a request may hold, one at a time."""
    import http.client

    settings = Settings.load(ROOT / "params.yaml")
    size = settings.serving.max_records
    _, body = _bodies(size)
    port = free_port()
    server = subprocess.Popen(
        [*cmd, "--host", "127.0.0.1", "--port", str(port)],
        cwd=repo, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    times: list[float] = []
    try:
        _wait_for_port(port, server)
        print(f"[api] {requests} sequential requests of {size:,} records", flush=True)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Content-Type": "application/json"}
        for i in range(requests + 5):
            start = time.perf_counter()
            conn.request("POST", "/predict", body=body, headers=headers)
            answer = conn.getresponse()
            answer.read()
            if answer.status != 200:
                raise bench.StepFailedError(f"a batch of {size} was answered {answer.status}")
            if i >= 5:  # the first few warm the caches
                times.append(time.perf_counter() - start)
        conn.close()
    finally:
        server.terminate()
        usage = bench.wait_with_usage(server, time.perf_counter() + 15)[2]
    times.sort()
    p50, p99 = times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.99))]
    served = bench.Measurement(
        wall_s=sum(times), cpu_s=usage.ru_utime + usage.ru_stime,
        peak_mib=usage.ru_maxrss / 1024, returncode=0,
    )  # fmt: skip
    note = (
        f"{requests} requests one after another, p50 {p50 * 1000:.1f} ms, "
        f"p99 {p99 * 1000:.1f} ms, {size * requests / sum(times):,.0f} records/s"
    )
    step = f"HTTP API, {workers} workers: churn serve, {size:,} records per request"
    return Row(0, step + " (server CPU and memory)", served, note=note)


def floor_app() -> FastAPI:
    """The framework floor: FastAPI reading a JSON body and answering a constant."""
    app = FastAPI()
    answer = b'{"model_version":"floor","predictions":[]}'

    @app.post("/predict")
    async def predict(request: Request) -> Response:
        await request.body()
        return Response(answer, media_type="application/json")

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _wait_for_port(port: int, server: subprocess.Popen[bytes], timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise bench.StepFailedError(f"churn serve exited {server.returncode} before listening")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise bench.StepFailedError(f"churn serve did not listen on 127.0.0.1:{port} in {timeout_s} s")


def _bodies(batch: int) -> tuple[str, str]:
    """One real customer record as a JSON body, and `batch` of them as a batch."""
    from gitops.contract.json_schema import json_records

    settings = Settings.load(ROOT / "params.yaml")
    contract = load.load(ROOT / settings.data.contract)
    path = ROOT / settings.data.raw
    frame = check(reading.read_csv(path, contract), contract, str(path))
    records = json_records(frame.head(batch), contract)
    records = (records * (batch // len(records) + 1))[:batch]
    return json.dumps(records[0]), json.dumps({"records": records})


def _wrk_script(body: str) -> str:
    """wrk's POST of `body`, as JSON."""
    quoted = body.replace("\\", "\\\\").replace('"', '\\"')
    return (
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.body = "{quoted}"\n'
    )


def _wrk_summary(text: str) -> str:
    requests = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p99 = re.search(r"99%\s+([\d.]+\w+)", text)
    p50 = re.search(r"50%\s+([\d.]+\w+)", text)
    errors = re.search(r"Socket errors: (.*)", text)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    parts = [
        f"{float(requests.group(1)):,.0f} req/s" if requests else "req/s unknown",
        f"p50 {p50.group(1)}" if p50 else "",
        f"p99 {p99.group(1)}" if p99 else "p99 unknown",
        f"socket errors: {errors.group(1)}" if errors else "no socket errors",
        f"non-2xx: {non2xx.group(1)}" if non2xx else "no non-2xx responses",
    ]
    return ", ".join(p for p in parts if p)


# --- output ----------------------------------------------------------------------------------


def table(rows: list[Row]) -> str:
    header = ["customers", "step", "wall s", "CPU s", "peak MiB", "wall × bare", "CPU × bare"]
    header.append("note")
    body = []
    for r in rows:
        m, ref = r.result, r.reference
        body.append(
            [
                f"{r.size:,}" if r.size else "–",
                r.step,
                None if m is None else m.wall_s,
                None if m is None else m.cpu_s,
                None if m is None else m.peak_mib,
                None if m is None or ref is None else f"{m.wall_s / ref.wall_s:.2f}",
                None if m is None or ref is None else f"{m.cpu_s / ref.cpu_s:.2f}",
                r.note or None,
            ]
        )
    return bench.markdown_table(header, body)


def environment_text(load_before: tuple[float, ...], minutes: float) -> str:
    info = bench.machine() | bench.versions(PACKAGES)
    lines = [f"- {k}: {v}" for k, v in info.items()]
    # Other work on the machine stretches wall time far more than CPU time: say how busy it was.
    load = ", ".join(
        f"{a:.1f} → {b:.1f}" for a, b in zip(load_before, os.getloadavg(), strict=True)
    )
    lines.append(f"- load average (1, 5, 15 min) at start → end: {load}")
    lines.append(f"- OMP_WAIT_POLICY: {env()['OMP_WAIT_POLICY']}")
    lines.append(f"- benchmark duration: {minutes:.0f} min")
    return "\n".join(lines)


def write_doc(text: str, doc: Path = DOC, markers: tuple[str, str] = MARKERS) -> None:
    current = doc.read_text(encoding="utf-8")
    files.write_text(doc, bench.replace_between(current, *markers, text))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    floor = sub.add_parser("floor", help="serve the bare FastAPI app (the framework floor)")
    floor.add_argument("--host", default="127.0.0.1")
    floor.add_argument("--port", type=int, default=8000)
    floor.add_argument("--workers", type=int, default=1)
    ref = sub.add_parser("bare", help="run the bare reference once (what `run` measures)")
    ref.add_argument("--input", required=True)
    ref.add_argument("--params", default="params.yaml")
    parser.add_argument("--sizes", nargs="+", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench")
    parser.add_argument("--api-seconds", type=int, default=30)
    parser.add_argument("--api-clients", type=int, default=32)
    parser.add_argument("--api-workers", type=int, default=2)
    parser.add_argument("--api-only", action="store_true", help="the HTTP rows alone")
    parser.add_argument("--no-doc", action="store_true", help="print the table only")
    args = parser.parse_args(argv)
    if args.command == "floor":
        from gitops.scoring import server

        return server.run(floor_app(), host=args.host, port=args.port, workers=args.workers)
    if args.command == "bare":
        values = bare(args.input, args.params)
        print(json.dumps({k: round(v, 6) for k, v in values.items()}))
        return 0
    warm_up()
    sections = []
    if not args.api_only:  # the pipeline's table; `--api-only` leaves it as it is
        load_before, started = os.getloadavg(), time.monotonic()
        rows: list[Row] = []
        for size in args.sizes:
            rows += run_size(size, args.seed, args.workdir)
        minutes = (time.monotonic() - started) / 60
        text = f"{table(rows)}\n\nMeasured on:\n\n{environment_text(load_before, minutes)}\n"
        sections.append((text, MARKERS))
    # The HTTP rows have their own table and their own load average: the machine's load
    # moves latency far more than it moves batch work.
    load_before, started = os.getloadavg(), time.monotonic()
    api_repo = ROOT if args.api_only else args.workdir / "work" / str(args.sizes[0])
    api = api_rows(api_repo, args.api_seconds, args.api_clients, args.api_workers)
    minutes = (time.monotonic() - started) / 60
    text = f"{table(api)}\n\nMeasured on:\n\n{environment_text(load_before, minutes)}\n"
    sections.append((text, API_MARKERS))
    for text, markers in sections:
        print("\n" + text)
        if not args.no_doc:
            write_doc(text, markers=markers)
    if not args.no_doc:
        print(f"written to {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
