"""Measuring commands the way a user runs them: wall time, CPU time and peak memory.

Every step of a benchmark is a separate process tree, measured with `wait4`, which on
Linux reports the child's CPU time and peak resident memory including the descendants it
waited for (a stage command started by `dvc repro`). No sampling, no extra dependency.
"""

from __future__ import annotations

import math
import os
import platform
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path


@dataclass(frozen=True)
class Measurement:
    wall_s: float
    cpu_s: float
    peak_mib: float  # largest resident set of any process in the tree
    returncode: int
    output: str = field(default="", repr=False)


class StepFailedError(RuntimeError):
    """A measured command exited non-zero; the message carries its output."""


def measure(
    cmd: Sequence[str],
    cwd: Path,
    *,
    env: dict[str, str] | None = None,
    check: bool = True,
    timeout_s: float | None = None,
) -> Measurement:
    """Run `cmd` to completion and return what it cost, its output captured."""
    with tempfile.TemporaryFile() as out:  # a pipe could fill up and stall the command
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), cwd=cwd, env=env, stdout=out, stderr=out)
        deadline = None if timeout_s is None else start + timeout_s
        _pid, status, usage = wait_with_usage(proc, deadline)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace")
    result = Measurement(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_mib=usage.ru_maxrss / 1024,  # Linux reports KiB
        returncode=proc.returncode,
        output=text,
    )
    if check and proc.returncode != 0:
        raise StepFailedError(f"{' '.join(cmd)} exited {proc.returncode} in {cwd}\n{text[-4000:]}")
    return result


def wait_with_usage(
    proc: subprocess.Popen[bytes], deadline: float | None = None
) -> tuple[int, int, os.struct_rusage]:
    """Reap `proc` with its resource usage, killing it at `deadline` (a perf_counter time)."""
    if deadline is None:
        return os.wait4(proc.pid, 0)
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            return pid, status, usage
        if time.perf_counter() > deadline:
            proc.kill()
            return os.wait4(proc.pid, 0)
        time.sleep(0.05)


def machine() -> dict[str, str]:
    """What the figures were measured on: CPU, cores, memory, OS and Python."""
    cpu = platform.processor() or platform.machine()
    mem = ""
    cpuinfo, meminfo = Path("/proc/cpuinfo"), Path("/proc/meminfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    if meminfo.is_file():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
                break
    return {
        "CPU": cpu,
        "cores": str(len(os.sched_getaffinity(0))),
        "memory": mem,
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
    }


def versions(packages: Iterable[str]) -> dict[str, str]:
    """Installed versions of the packages whose speed the figures depend on."""
    out = {}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A GitHub-flavoured table, numbers right-aligned."""
    rows = [[_cell(v) for v in row] for row in rows]
    align = ["---:" if rows and _numeric(rows, i) else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _numeric(rows: list[list[str]], i: int) -> bool:
    cells = [r[i] for r in rows if r[i] != "–"]
    return bool(cells) and all(c.replace(",", "").replace(".", "", 1).isdigit() for c in cells)


def replace_between(text: str, start: str, end: str, body: str) -> str:
    """Swap what lies between two marker lines, keeping the prose around them."""
    head, found, rest = text.partition(start)
    if not found or end not in rest:
        raise ValueError(f"markers {start!r} and {end!r} not found in order")
    return f"{head}{start}\n{body.strip()}\n{end}{rest.partition(end)[2]}"
