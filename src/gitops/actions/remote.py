"""The DVC remote CI restores pipeline stages from and saves them to: a shortcut, never a failure.

`make pull-cache` and `make push-cache` run this. Which remote is not written in any
committed file; the environment names it (in CI, from the repository's secrets):

    DVC_REMOTE_URL        s3://bucket/prefix, gs://bucket/prefix, azure://container/prefix,
                          ssh://host/path, or an absolute folder; unset: no remote, no error
    DVC_REMOTE_ENDPOINT   optional, s3:// and gs:// only: an S3-compatible server (MinIO,
                          Cloudflare R2, Ceph...) instead of the cloud's own endpoint

Credentials stay in the environment, where the storage's DVC plugin reads them
(`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` for S3, `AZURE_STORAGE_CONNECTION_STRING`...).
The remote itself is written to `.dvc/config.local`, which git ignores, as the default
remote under the name params.yaml gives in `remote.name`.

`pull` fetches the run-cache and every output `dvc.lock` records, so that `dvc repro` then
finds unchanged stages complete instead of recomputing them; outputs nobody pushed yet are
skipped (`--allow-missing`). A stage `dvc.lock` does not describe (params changed since)
comes back from the run-cache with `dvc repro --pull`, which fetches the outputs of a
matching run from the default remote. `push` uploads the outputs and the run-cache.

A remote that cannot be used (no such bucket, an unreachable endpoint, missing or rejected
credentials, a storage without its DVC plugin, no answer within `remote.timeout_seconds`)
prints a `::warning::` naming the problem, is removed from `.dvc/config.local` again, and
the command exits 0: the pipeline then computes those stages itself, slower but just as
correct. Only a broken `remote:` section in params.yaml is an error (exit 2).

    python -m gitops.actions.remote pull
    python -m gitops.actions.remote push
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import yaml

from gitops import gha, yamltext

URL_VAR = "DVC_REMOTE_URL"
ENDPOINT_VAR = "DVC_REMOTE_ENDPOINT"
# The storages whose DVC remote takes an `endpointurl` option.
ENDPOINT_SCHEMES = ("s3", "gs")
SCHEME_RE = re.compile(r"[a-z][a-z0-9+.-]*")
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
# What a failure most likely means, from DVC's message: the first match is shown with it.
HINTS = (
    (
        ("Unable to locate credentials", "NoCredentialsError"),
        "the step got no credentials, e.g. AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    ),
    (
        ("(403)", "Forbidden", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"),
        "the storage refused the credentials: a wrong or expired key, or one without "
        "access to this bucket",
    ),
    (("NoSuchBucket", "bucket does not exist"), f"check the bucket named in {URL_VAR}"),
    (
        ("Could not connect to the endpoint URL", "Connect timeout"),
        f"check {ENDPOINT_VAR} (or the cloud's endpoint) and that the runner can reach it",
    ),
    (
        ("is supported, but requires",),
        "add the storage's DVC plugin to the dev group: uv add --group dev dvc-<storage>",
    ),
)
# What DVC prints, one line per object, when --allow-missing skips an output nobody pushed.
MISSING_RE = re.compile(r"^md5: [0-9a-f]{32}$", re.MULTILINE)


@dataclass(frozen=True)
class Settings:
    """The `remote` section of params.yaml."""

    name: str  # the remote's name in .dvc/config.local
    timeout_seconds: float  # a pull or push still running after this is stopped

    @classmethod
    def from_params(cls, path: Path) -> Settings:
        try:
            params = yamltext.load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ValueError(f"{path}: cannot read params: {exc}") from exc
        section = params.get("remote") if isinstance(params, dict) else None
        if not isinstance(section, dict):
            raise ValueError(f"{path}: no `remote:` section (name, timeout_seconds)")
        name = section.get("name")
        if not isinstance(name, str) or not NAME_RE.fullmatch(name):
            raise ValueError(
                f"{path}: remote.name must be letters, digits, '-' or '_', got {name!r}"
            )
        timeout = section.get("timeout_seconds")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise ValueError(
                f"{path}: remote.timeout_seconds must be a positive number, got {timeout!r}"
            )
        return cls(name=name, timeout_seconds=float(timeout))


@dataclass(frozen=True)
class Target:
    """Where the environment says the remote is."""

    url: str
    endpoint: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Target | None:
        """The remote the environment names, or None when `DVC_REMOTE_URL` is unset or empty."""
        url = environ.get(URL_VAR, "").strip()
        if not url:
            return None
        return cls(url=url, endpoint=environ.get(ENDPOINT_VAR, "").strip())

    @property
    def scheme(self) -> str:
        """`s3`, `gs`, ...; empty for a folder."""
        head, sep, _ = self.url.partition("://")
        return head.lower() if sep else ""

    @property
    def shown(self) -> str:
        """The URL for logs, with any password in it replaced by ***."""
        return redact(self.url)


def redact(url: str) -> str:
    """`ssh://user:secret@host/path` → `ssh://user:***@host/path`; other URLs unchanged."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{netloc}"))


def problem(target: Target, action: str) -> str | None:
    """What is wrong with the remote before DVC is even asked, or None.

    DVC takes any string without a scheme for a folder relative to `.dvc/`, so a secret
    missing its `s3://` would otherwise pull "nothing" without a word.
    """
    if target.scheme:
        if not SCHEME_RE.fullmatch(target.scheme):
            return f"{URL_VAR} {target.shown!r} does not start with a scheme such as s3://"
    elif not Path(target.url).is_absolute():
        return (
            f"{URL_VAR} {target.shown!r} is neither a URL (s3://bucket/prefix, gs://, "
            "azure://, ssh://) nor an absolute folder path"
        )
    elif action == "pull" and not Path(target.url).is_dir():
        return f"{URL_VAR}: folder {target.url} does not exist"
    if target.endpoint:
        if urlsplit(target.endpoint).scheme not in ("http", "https"):
            return f"{ENDPOINT_VAR} {target.endpoint!r} is not an http:// or https:// URL"
        if target.scheme not in ENDPOINT_SCHEMES:
            return (
                f"{ENDPOINT_VAR} is set, but a {target.scheme or 'folder'} remote takes no "
                f"endpoint (only {', '.join(s + '://' for s in ENDPOINT_SCHEMES)})"
            )
    return None


@dataclass(frozen=True)
class DvcRun:
    """One DVC command: its exit code (None when stopped at its timeout) and its output."""

    args: tuple[str, ...]
    returncode: int | None
    output: str
    timeout: float = 0.0


def run_dvc(args: list[str], cwd: Path, timeout: float) -> DvcRun:
    """Run DVC from this interpreter's environment, echoing its output as it comes."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "dvc", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    lines: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            print(line, end="", flush=True)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    returncode: int | None
    try:
        returncode = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        returncode = None
    reader.join(timeout=10)
    return DvcRun(tuple(args), returncode, "".join(lines), timeout)


def failure(run: DvcRun) -> str | None:
    """Why a DVC command failed, in DVC's own words (its last ERROR line) and a hint, or None."""
    if run.returncode is None:
        return f"`dvc {run.args[0]}` gave no answer within {run.timeout:g} s and was stopped"
    if run.returncode == 0:
        return None
    lines = [line.strip() for line in run.output.splitlines() if line.strip()]
    errors = [line.removeprefix("ERROR:").strip() for line in lines if line.startswith("ERROR:")]
    reason = errors[-1] if errors else (lines[-1] if lines else "")
    reason = reason.removeprefix("unexpected error - ").strip()
    return explained(reason or f"`dvc {run.args[0]}` exited with {run.returncode}")


def explained(reason: str) -> str:
    """DVC's reason with the hint for what it most likely means, when one matches."""
    hint = next((h for needles, h in HINTS if any(n in reason for n in needles)), None)
    return f"{reason} ({hint})" if hint else reason


def missing_outputs(output: str) -> int:
    """How many objects `dvc pull --allow-missing` found neither locally nor on the remote."""
    return len(MISSING_RE.findall(output))


def configure(target: Target, settings: Settings, repo: Path) -> str | None:
    """Write the remote to `.dvc/config.local` only, as the default remote; why not, or None.

    It replaces a previous definition, endpoint included. As the default, it is the remote
    a later `dvc repro --pull`, `dvc pull` or `dvc push` uses without `-r`. DVC's own config
    writer does it in this process, as `dvc remote add --local --default --force` would: no
    network, and none of the second a DVC process takes to start.
    """
    from dvc.config import Config, ConfigError

    section = {"url": target.url}
    if target.endpoint:
        section["endpointurl"] = target.endpoint
    try:
        with Config(dvc_dir=str(repo / ".dvc")).edit("local") as conf:
            conf["remote"][settings.name] = section
            conf["core"]["remote"] = settings.name
    except ConfigError as exc:
        return explained(str(exc))
    return None


def unconfigure(settings: Settings, repo: Path) -> None:
    """Remove the remote from `.dvc/config.local` again, default included, if it is there."""
    from dvc.config import Config

    with Config(dvc_dir=str(repo / ".dvc"), validate=False).edit("local", validate=False) as conf:
        conf["remote"].pop(settings.name, None)
        if conf["core"].get("remote") == settings.name:
            del conf["core"]["remote"]


def transfer(
    target: Target, settings: Settings, repo: Path, args: list[str]
) -> tuple[str | None, str]:
    """Configure the remote and run one DVC transfer: (why it failed or None, its output).

    A remote that failed is removed again, so no later DVC command tries it.
    """
    reason = configure(target, settings, repo)
    output = ""
    if reason is None:
        run = run_dvc([*args, "--remote", settings.name], repo, settings.timeout_seconds)
        reason, output = failure(run), run.output
    if reason:
        unconfigure(settings, repo)
    return reason, output


def pull(target: Target, settings: Settings, repo: Path) -> list[str]:
    """Fetch the run-cache and the recorded outputs; the annotations to print."""
    where = f"DVC remote '{settings.name}' ({target.shown})"
    fallback = "every stage whose outputs are missing runs here instead"
    if found := problem(target, "pull"):
        return [gha.annotation("warning", f"{found}; {fallback}.")]
    reason, out = transfer(target, settings, repo, ["pull", "--run-cache", "--allow-missing"])
    if reason:
        return [gha.annotation("warning", f"{where}: could not pull: {reason}; {fallback}.")]
    if missing := missing_outputs(out):
        return [
            gha.annotation(
                "notice",
                f"{where}: {missing} cached outputs of this commit are not on the remote yet; "
                "the stages that make them run here.",
            )
        ]
    print(f"{where}: this commit's outputs and the run-cache are in place")
    return []


def push(target: Target, settings: Settings, repo: Path) -> list[str]:
    """Upload the run-cache and the outputs of this run; the annotations to print.

    A failed upload only costs later runs the time to recompute: it warns and exits 0
    rather than failing a job whose results are complete (on `main`, the release waits
    for that job).
    """
    where = f"DVC remote '{settings.name}' ({target.shown})"
    fallback = "later runs recompute what this run could not save"
    if found := problem(target, "push"):
        return [gha.annotation("warning", f"{found}; {fallback}.")]
    reason, _ = transfer(target, settings, repo, ["push", "--run-cache"])
    if reason:
        return [gha.annotation("warning", f"{where}: could not push: {reason}; {fallback}.")]
    print(f"{where}: pushed this run's outputs and the run-cache")
    return []


ACTIONS = {"pull": pull, "push": push}
NOT_SET = {
    "pull": f"{URL_VAR} is not set: no DVC remote, every stage runs here",
    "push": f"{URL_VAR} is not set: no DVC remote, nothing to push",
}


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gitops.actions.remote", description=__doc__)
    parser.add_argument("action", choices=sorted(ACTIONS))
    parser.add_argument("--repo", type=Path, default=Path())
    parser.add_argument("--params", type=Path, default=None, help="default: <repo>/params.yaml")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_params(args.params or args.repo / "params.yaml")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    target = Target.from_env(os.environ if environ is None else environ)
    if target is None:
        print(NOT_SET[args.action])
        return 0
    for line in ACTIONS[args.action](target, settings, args.repo):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
