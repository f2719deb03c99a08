"""Promotion by tag: which version a GTO stage tag assigns, and proof its release works.

A stage tag (`churn#prod#3`) names a version; the release assets of that version are checked
against SHA256SUMS, the wheel is installed into a fresh virtual environment and its command
line is smoke-tested on a few sample rows before anything is handed to the environment. When
the release has a container image, the hand-over names it by digest (image.json).

    python -m gitops.actions.deploy resolve --ref churn#prod#3
    python -m gitops.actions.deploy verify --assets DIR
    python -m gitops.actions.deploy handover --assets DIR --stage prod --version v1.2.0
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from gitops import gha, yamltext
from gitops.files import digest
from gitops.release import image, registry

CHECKSUMS = "SHA256SUMS"
GTO_CONFIG = ".gto"  # GTO's registry config; its `stages:` list is the one list of stages
VERSION_RE = re.compile(r"v\d+\.\d+\.\d+")
STAGE_RE = re.compile(r"[a-z][a-z0-9-]{0,62}")
ARTIFACT_RE = re.compile(r"[a-z0-9][a-z0-9-]*")
LINE_RE = re.compile(r"([0-9a-f]{64}) [ *](.+)")


class DeployError(RuntimeError):
    """A release cannot be promoted; the message names the tag, file or command."""


@dataclass(frozen=True)
class Assignment:
    artifact: str
    version: str
    stage: str
    tag: str

    @property
    def release_tag(self) -> str:
        return f"{self.artifact}@{self.version}"


def allowed_stages(repo: Path) -> list[str]:
    """The stages `.gto` declares. A deploy to anything else is refused: GitHub creates an
    unknown environment on first use, without reviewers or branch rules."""
    path = repo / GTO_CONFIG
    try:
        config = yamltext.load(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (OSError, yaml.YAMLError) as exc:
        raise DeployError(f"{path}: cannot read GTO's config: {exc}") from exc
    stages = (config or {}).get("stages") if isinstance(config, dict) else None
    if not isinstance(stages, list) or not stages:
        raise DeployError(
            f"{path}: no `stages:` list; declare the stages you deploy to, e.g. "
            "`stages: [staging, prod]`, and create a GitHub environment for each"
        )
    bad = [s for s in stages if not isinstance(s, str) or not STAGE_RE.fullmatch(s)]
    if bad:
        raise DeployError(f"{path}: stages {bad!r} cannot name GitHub environments")
    return list(stages)


def assignment(info: dict[str, Any], ref: str, stages: list[str] | None = None) -> Assignment:
    """The stage assignment `gto check-ref --json` reported for `ref`, validated.

    `stages`: the declared stages (`allowed_stages`); None skips that check.
    """
    if info.get("event") != "assignment":
        raise DeployError(
            f"{ref}: not a stage assignment (gto says event={info.get('event')!r}); "
            "only tags made by `gto assign` deploy"
        )
    artifact, version, stage = info.get("artifact"), info.get("version"), info.get("stage")
    if not isinstance(artifact, str) or not ARTIFACT_RE.fullmatch(artifact):
        raise DeployError(f"{ref}: artifact name {artifact!r} is not a GTO artifact name")
    if not isinstance(version, str) or not VERSION_RE.fullmatch(version):
        raise DeployError(f"{ref}: version {version!r} is not a vX.Y.Z release version")
    if not isinstance(stage, str) or not STAGE_RE.fullmatch(stage):
        raise DeployError(f"{ref}: stage {stage!r} cannot name a GitHub environment")
    if stages is not None and stage not in stages:
        raise DeployError(
            f"{ref}: stage {stage!r} is not one of the stages in {GTO_CONFIG} "
            f"({', '.join(stages)}); add it there and create its GitHub environment first"
        )
    return Assignment(artifact=artifact, version=version, stage=stage, tag=ref)


def check_ref(ref: str, repo: Path) -> dict[str, Any]:
    """The event GTO reads in `ref` (GTO's API, in this process); an error when there is none."""
    try:
        info = registry.check_ref(ref, repo)
    except registry.RegistryError as exc:
        raise DeployError(f"{ref}: {exc}") from None
    if not info:
        raise DeployError(f"{ref}: gto check-ref found no version for it")
    return info


def parse_checksums(text: str) -> dict[str, str]:
    """File name → SHA-256 from a `sha256sum` listing; names must be plain file names."""
    sums: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        m = LINE_RE.fullmatch(line)
        if not m:
            raise DeployError(f"{CHECKSUMS} line {n}: expected '<sha256>  <file>', got {line!r}")
        sha, name = m.groups()
        if "/" in name or "\\" in name or name in {".", ".."}:
            raise DeployError(f"{CHECKSUMS} line {n}: {name!r} is not a plain file name")
        if name in sums:
            raise DeployError(f"{CHECKSUMS} line {n}: {name} is listed twice")
        sums[name] = sha
    if not sums:
        raise DeployError(f"{CHECKSUMS}: lists no files")
    return sums


def verify_checksums(assets: Path) -> dict[str, str]:
    """Every listed file present with its listed digest; returns the listing."""
    listing = assets / CHECKSUMS
    if not listing.is_file():
        raise DeployError(f"{listing}: missing; the release has no checksums to verify against")
    sums = parse_checksums(listing.read_text(encoding="utf-8"))
    for name, listed in sums.items():
        path = assets / name
        if path.is_symlink() or not path.is_file():
            raise DeployError(f"{path}: listed in {CHECKSUMS} but not in the release assets")
        actual = digest(path)
        if actual != listed:
            raise DeployError(f"{path}: SHA-256 {actual} does not match {CHECKSUMS} ({listed})")
    return sums


def the_wheel(assets: Path, sums: dict[str, str]) -> Path:
    wheels = sorted(name for name in sums if name.endswith(".whl"))
    if len(wheels) != 1:
        raise DeployError(f"{assets}: expected exactly one checksummed wheel, found {wheels}")
    return assets / wheels[0]


def sample_rows(source: Path, rows: int, dest: Path) -> Path:
    """The header and first `rows` records of a CSV: what the smoke test scores."""
    with source.open(encoding="utf-8") as fh:
        lines = [line for _, line in zip(range(rows + 1), fh, strict=False)]
    if len(lines) < 2:
        raise DeployError(f"{source}: needs a header and at least one row for the smoke test")
    dest.write_text("".join(lines), encoding="utf-8")
    return dest


def _run(cmd: list[str], cwd: Path) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise DeployError(
            f"`{' '.join(cmd)}` exited {proc.returncode}\n"
            f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
        )
    return proc.stdout


def install_fresh(wheel: Path, venv: Path, uv: str | None) -> Path:
    """A new virtual environment holding only the wheel and its dependencies."""
    if uv:
        _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], venv.parent)
        python = str(venv / "bin/python")
        _run([uv, "pip", "install", "--quiet", "--python", python, str(wheel)], venv.parent)
    else:
        _run([sys.executable, "-m", "venv", str(venv)], venv.parent)
        _run([str(venv / "bin/python"), "-m", "pip", "install", "--quiet", str(wheel)], venv.parent)
    return venv / "bin"


def smoke_test(bindir: Path, commands: list[list[str]], sample: Path, workdir: Path) -> list[str]:
    """Run each command from the fresh environment; each must succeed and produce something.

    `{sample}` in a command is the sample CSV; `{output}` a file the command must write
    (a header and at least one row), otherwise the command must print something.
    """
    outputs = []
    for n, template in enumerate(commands, start=1):
        written = workdir / f"smoke-{n}.csv"
        cmd = [
            p.replace("{sample}", str(sample)).replace("{output}", str(written)) for p in template
        ]
        exe = bindir / cmd[0]
        if not exe.exists():
            raise DeployError(f"the wheel installs no `{cmd[0]}` command (looked in {bindir})")
        out = _run([str(exe), *cmd[1:]], workdir)
        if any("{output}" in part for part in template):
            lines = written.read_text(encoding="utf-8").splitlines() if written.exists() else []
            if len(lines) < 2:
                raise DeployError(f"`{' '.join(template)}` wrote no rows to its output file")
            out = "\n".join(lines) + "\n"
        elif not out.strip():
            raise DeployError(f"`{' '.join(template)}` printed nothing")
        outputs.append(out)
    return outputs


def verify_release(
    assets: Path, *, commands: list[list[str]], sample_source: Path, rows: int, uv: str | None
) -> dict[str, Any]:
    sums = verify_checksums(assets)
    wheel = the_wheel(assets, sums)
    with tempfile.TemporaryDirectory(prefix="verify-release-") as tmp:
        work = Path(tmp)
        bindir = install_fresh(wheel, work / "venv", uv)
        sample = sample_rows(sample_source, rows, work / "sample.csv")
        outputs = smoke_test(bindir, commands, sample, work)
    return {
        "wheel": wheel.name,
        "sha256": sums[wheel.name],
        "files": sorted(sums),
        "outputs": outputs,
    }


def deployment_record(assign: Assignment, assets: Path, env: dict[str, str]) -> dict[str, Any]:
    sums = verify_checksums(assets)
    wheel = the_wheel(assets, sums)
    server = env.get("GITHUB_SERVER_URL", "https://github.com")
    repo = env.get("GITHUB_REPOSITORY", "")
    return {
        **asdict(assign),
        "release_tag": assign.release_tag,
        "wheel": wheel.name,
        "wheel_sha256": sums[wheel.name],
        "repository": repo,
        "run_url": f"{server}/{repo}/actions/runs/{env['GITHUB_RUN_ID']}"
        if repo and env.get("GITHUB_RUN_ID")
        else "",
        **_image(assets, assign.version),
    }


def _image(assets: Path, version: str) -> dict[str, str]:
    """The release's container image by digest, when the release has one (image.json)."""
    if not (assets / image.RECORD).is_file():
        return {}
    try:
        return {"image": image.resolve(assets, version)["reference"]}
    except image.ImageError as exc:
        raise DeployError(str(exc)) from None


def _check_url(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https":
        return
    try:
        loopback = parts.hostname is not None and ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        loopback = parts.hostname == "localhost"
    if parts.scheme != "http" or not loopback:
        raise DeployError(f"DEPLOY_WEBHOOK_URL must use https (http only on loopback): {url}")


def post_record(record: dict[str, Any], url: str, token: str | None, timeout: float = 30) -> int:
    """Hand the deployment to the target system: one JSON POST, any 2xx accepted."""
    _check_url(url)
    headers = {"Content-Type": "application/json", "User-Agent": "gitops-deploy"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps(record, sort_keys=True).encode()
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (scheme checked)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            return int(resp.status)
    except OSError as exc:
        raise DeployError(f"hand-over to {url} failed: {exc}") from exc


def _params(path: Path) -> dict[str, Any]:
    try:
        section = (yamltext.load(path.read_text(encoding="utf-8")) or {}).get("deploy")
    except (OSError, yaml.YAMLError) as exc:
        raise DeployError(f"{path}: cannot read the deploy section: {exc}") from exc
    if not isinstance(section, dict):
        raise DeployError(f"{path}: no `deploy:` section")
    smoke = section.get("smoke")
    if not isinstance(smoke, list) or not all(
        isinstance(c, list) and c and all(isinstance(p, str) for p in c) for c in smoke
    ):
        raise DeployError(f"{path}: deploy.smoke must be a list of commands (lists of strings)")
    return section


def _resolve_main(args: argparse.Namespace) -> int:
    stages = allowed_stages(args.repo)
    assign = assignment(check_ref(args.ref, args.repo), args.ref, stages)
    gha.set_outputs({**asdict(assign), "release_tag": assign.release_tag})
    print(json.dumps({**asdict(assign), "release_tag": assign.release_tag}))
    return 0


def _assets_main(args: argparse.Namespace) -> int:
    """Print the checksummed files, one path a line: what a GitHub Release publishes."""
    for name in verify_checksums(args.dir):
        print(args.dir / name)
    print(args.dir / CHECKSUMS)
    return 0


def _verify_main(args: argparse.Namespace) -> int:
    params = _params(args.params)
    result = verify_release(
        args.assets,
        commands=params["smoke"],
        sample_source=Path(params["sample"]),
        rows=int(params["sample_rows"]),
        uv=os.environ.get("UV") or shutil.which("uv"),
    )
    gha.add_summary(
        f"Verified `{result['wheel']}` (sha256 `{result['sha256'][:16]}…`) against {CHECKSUMS}; "
        f"smoke test passed in a fresh environment ({len(result['outputs'])} commands)."
    )
    print(f"verified {result['wheel']}: checksums ok, {len(result['outputs'])} smoke commands ok")
    return 0


def _handover_main(args: argparse.Namespace) -> int:
    assign = Assignment(args.artifact, args.version, args.stage, args.tag or "")
    record = deployment_record(assign, args.assets, dict(os.environ))
    url = os.environ.get("DEPLOY_WEBHOOK_URL", "")
    if url:
        status = post_record(record, url, os.environ.get("DEPLOY_WEBHOOK_TOKEN"))
        target = f"handed over (HTTP {status})"
    else:
        target = "recorded (no DEPLOY_WEBHOOK_URL configured)"
    gha.add_summary(
        f"### {assign.artifact} {assign.version} → `{assign.stage}`: {target}\n\n"
        f"```json\n{json.dumps(record, indent=2, sort_keys=True)}\n```"
    )
    print(f"{assign.release_tag} → {assign.stage}: {target}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gitops.actions.deploy", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("resolve", help="the version and stage a GTO stage tag assigns")
    r.add_argument("--ref", required=True)
    r.add_argument("--repo", type=Path, default=Path())
    r.set_defaults(func=_resolve_main)
    v = sub.add_parser("verify", help="checksums, fresh install and smoke test of release assets")
    v.add_argument("--assets", type=Path, required=True)
    v.add_argument("--params", type=Path, default=Path("params.yaml"))
    v.set_defaults(func=_verify_main)
    a = sub.add_parser("assets", help="list the checksummed files of a release folder")
    a.add_argument("--dir", type=Path, required=True)
    a.set_defaults(func=_assets_main)
    h = sub.add_parser("handover", help="record the deployment and hand it to the target")
    h.add_argument("--assets", type=Path, required=True)
    h.add_argument("--artifact", default="churn")
    h.add_argument("--version", required=True)
    h.add_argument("--stage", required=True)
    h.add_argument("--tag", default="")
    h.set_defaults(func=_handover_main)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except DeployError as exc:
        print(f"error: {exc}", file=sys.stderr)
        gha.add_summary(f"Deployment stopped: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
