"""`make image`: the released wheel as a container image, and what a release records of it.

    python -m gitops.release.image build [--base IMAGE] [--engine podman|docker]
    python -m gitops.release.image push [--repository ghcr.io/owner/repo/churn]
    python -m gitops.release.image attach [--dist dist]
    python -m gitops.release.image notes --notes dist/RELEASE_NOTES.md
    python -m gitops.release.image resolve --assets DIR --version v1.2.0

The image is built from dist/ as `make package` left it, never from the source tree: the
wheel (checked against SHA256SUMS) and its dependencies at the versions uv.lock pins, each
with its hash, so the image runs the versions the tests ran. `build` writes a record
(params.yaml `image.record`) of what it built; `push` adds the registry digest to it (after
checking what the version's tag already holds: `check_tag`), `attach` lists the record and
the image's SBOM (`image.sbom`) in SHA256SUMS so the release publishes both, `notes` names
the digest in the release notes, and `resolve` reads it back from a release's assets, so a
deployment pulls exactly the image that was released, by digest.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gitops import gha, git, yamltext
from gitops.files import digest as file_digest
from gitops.files import write_text
from gitops.release import oci
from gitops.release.dist_check import (
    CheckedWheel,
    DistError,
    check_dist,
    normalize,
    read_sums,
    wheel_metadata,
    wheel_requirements,
)

ENGINES = ("podman", "docker")
MANIFEST = "manifest.json"
RECORD = "image.json"  # its name among a release's assets
SUMS = "SHA256SUMS"
DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
# A registry repository: host[:port]/path, lower case (the OCI distribution spec's rule).
REPOSITORY_RE = re.compile(r"[a-z0-9.-]+(:\d+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+")
NOTES_START = "<!-- container-image -->"
NOTES_END = "<!-- /container-image -->"


class ImageError(RuntimeError):
    """The image cannot be built, pushed or resolved; the message names the file or command."""


@dataclass(frozen=True)
class ImageSettings:
    """The `image` section of params.yaml, with what it needs from `package`."""

    name: str
    containerfile: Path
    python: str
    record: Path
    sbom: Path
    distribution: str
    summary: str

    @classmethod
    def from_params(cls, params: Mapping[str, Any], root: Path, source: str) -> ImageSettings:
        section = params.get("image")
        package = params.get("package")
        if not isinstance(section, dict):
            raise ImageError(f"{source}: no `image:` section")
        if not isinstance(package, dict) or "distribution" not in package:
            raise ImageError(f"{source}: package.distribution is missing")
        try:
            settings = cls(
                name=str(section["name"]),
                containerfile=root / str(section["containerfile"]),
                python=str(section["python"]),
                record=root / str(section["record"]),
                sbom=root / str(section["sbom"]),
                distribution=str(package["distribution"]),
                summary=str(package.get("summary", "")),
            )
        except KeyError as exc:
            raise ImageError(f"{source}: image.{exc.args[0]} is missing") from None
        if not re.fullmatch(r"[a-z0-9]+([._-][a-z0-9]+)*", settings.name):
            raise ImageError(f"{source}: image.name '{settings.name}' is not a valid image name")
        if not re.fullmatch(r"3\.\d+", settings.python):
            raise ImageError(f'{source}: image.python must be like "3.11", not {settings.python}')
        return settings


def load_settings(root: Path, params: str = "params.yaml") -> ImageSettings:
    path = root / params
    try:
        data = yamltext.load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ImageError(f"{path}: cannot read it: {exc}") from None
    if not isinstance(data, dict):
        raise ImageError(f"{path}: expected a mapping at the top level")
    return ImageSettings.from_params(data, root, params)


# --- What goes in ---------------------------------------------------------------------


def the_wheel(dist: Path, distribution: str) -> CheckedWheel:
    """The one wheel of `distribution` in dist/, its version read from it, SHA256SUMS checked."""
    wheels = sorted(dist.glob(f"{normalize(distribution)}-*.whl")) if dist.is_dir() else []
    if len(wheels) != 1:
        found = ", ".join(w.name for w in wheels) or "none"
        raise ImageError(
            f"{dist}: expected one {normalize(distribution)}-*.whl, found {found}; "
            "run `make run` and `make package VERSION=x.y.z` first"
        )
    version = wheel_metadata(wheels[0])["version"]
    try:
        return check_dist(dist, distribution, version)
    except DistError as exc:
        raise ImageError(str(exc)) from None


def read_manifest(dist: Path) -> dict[str, Any]:
    """The package manifest `make package` wrote next to the wheel (commit, time, hashes)."""
    path = dist / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ImageError(f"{path}: cannot read the package manifest: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("git"), dict):
        raise ImageError(f"{path}: not a package manifest (no 'git' section)")
    return data


def _run(cmd: list[str], cwd: Path, what: str) -> str:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise ImageError(f"{what}: `{cmd[0]}` is not installed") from None
    if proc.returncode != 0:
        raise ImageError(
            f"{what}: `{' '.join(cmd)}` exited {proc.returncode}\n{proc.stderr.strip()[-3000:]}"
        )
    return proc.stdout


def locked_requirements(wheel: Path, root: Path, uv: str, python: str) -> str:
    """Every runtime dependency of `wheel`, pinned to the version uv.lock holds, with hashes.

    The wheel's own requirements are resolved with uv.lock's versions as constraints, so
    the image gets what the project's tests ran, and pip can check every file it downloads.
    The resolution is for `python` (the image's), read with this interpreter: uv never goes
    looking for, or downloading, a Python of that version (10 s of retries offline).
    """
    requirements = wheel_requirements(wheel)
    if not requirements:
        raise ImageError(f"{wheel}: declares no requirements (Requires-Dist); is it the model?")
    with tempfile.TemporaryDirectory(prefix="image-lock-") as tmp:
        constraints = Path(tmp) / "constraints.txt"
        wanted = Path(tmp) / "requirements.in"
        locked = Path(tmp) / "requirements.txt"
        _run(
            [uv, "export", "--locked", "--no-dev", "--no-emit-project", "--no-hashes",
             "--no-header", "--no-annotate", "--format", "requirements-txt", "--quiet",
             "--output-file", str(constraints)],
            root, "uv.lock",
        )  # fmt: skip
        wanted.write_text("\n".join(requirements) + "\n", encoding="utf-8")
        _run(
            [uv, "pip", "compile", str(wanted), "--constraint", str(constraints),
             "--generate-hashes", "--python", sys.executable,
             "--python-version", python, "--python-platform", "linux",
             "--no-header", "--no-annotate", "--quiet", "--output-file", str(locked)],
            root, "resolving the wheel's dependencies against uv.lock",
        )  # fmt: skip
        text = locked.read_text(encoding="utf-8")
        unlocked = sorted(pins(text) - pins(constraints.read_text(encoding="utf-8")))
    if unlocked:
        listed = ", ".join(f"{name}=={version}" for name, version in unlocked)
        raise ImageError(
            f"{wheel.name} needs {listed}, which uv.lock does not pin; add the requirement to "
            "pyproject.toml and run `uv lock`, so the image runs what the tests ran"
        )
    return text


def pins(requirements: str) -> set[tuple[str, str]]:
    """(normalized name, version) of every `name==version` line of a requirements file.

    A lock may pin one package twice, at versions for different Pythons (markers).
    """
    found = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", requirements, re.MULTILINE)
    return {(normalize(name), version) for name, version in found}


def source_url(root: Path, env: Mapping[str, str]) -> str:
    """Where the source lives, for the `source` label: the GitHub repository, or origin."""
    if env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
        return f"{server}/{env['GITHUB_REPOSITORY']}"
    try:
        url = git.remote_url("origin", root)
    except git.GitError:
        url = None
    return public_url(url) if url else "unknown"


def public_url(url: str) -> str:
    """`url` without credentials; `git@host:owner/repo.git` as https://host/owner/repo."""
    scp = re.fullmatch(r"[\w.-]+@([\w.-]+):(?!//)(.+?)(\.git)?/?", url)
    if scp:
        return f"https://{scp[1]}/{scp[2]}"
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in {"http", "https", "ssh", "git"} or not parts.hostname:
        return "unknown"  # a local path says nothing to a reader of the image
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    path = parts.path.removesuffix("/").removesuffix(".git")
    return urllib.parse.urlunsplit(("https", host, path, "", ""))


def image_tag(name: str, version: str) -> str:
    """`name:version`; a local version's `+` is not allowed in a tag and becomes `-`."""
    return f"{name}:{version.replace('+', '-')}"


@dataclass(frozen=True)
class Build:
    """Everything one `build` passes to the engine."""

    engine: str
    tag: str
    base: str | None
    args: dict[str, str]

    def command(self, context: Path) -> list[str]:
        cmd = [self.engine, "build", "--file", str(context / "Containerfile"), "--tag", self.tag]
        if self.engine == "podman":
            # OCI image configs have no health check: podman would drop HEALTHCHECK.
            cmd += ["--format", "docker"]
        args = {**({"BASE_IMAGE": self.base} if self.base else {}), **self.args}
        for key, value in args.items():
            cmd += ["--build-arg", f"{key}={value}"]
        return [*cmd, str(context)]


def build_args(
    settings: ImageSettings, wheel: CheckedWheel, manifest: dict[str, Any], source: str
) -> dict[str, str]:
    gitmeta = manifest["git"]
    return {
        "VERSION": wheel.version,
        "REVISION": str(gitmeta.get("commit", "unknown")),
        "CREATED": str(gitmeta.get("commit_time", "unknown")),
        "SOURCE": source,
        "TITLE": settings.name,
        "DESCRIPTION": settings.summary or settings.name,
        "PYTHON": settings.python,
    }


def choose_engine(requested: str | None, which: Callable[[str], str | None] = shutil.which) -> str:
    """The engine asked for, or the first of podman and docker that is installed."""
    if requested:
        if requested not in ENGINES:
            raise ImageError(f"container engine '{requested}': expected one of {ENGINES}")
        if which(requested) is None:
            raise ImageError(f"container engine '{requested}' is not installed")
        return requested
    for engine in ENGINES:
        if which(engine):
            return engine
    raise ImageError(
        "neither podman nor docker is installed; install one (Debian: apt-get install podman)"
    )


def write_context(context: Path, settings: ImageSettings, wheel: CheckedWheel, locked: str) -> None:
    """The build context: the Containerfile, the wheel and two hash-checked requirement files."""
    if not settings.containerfile.is_file():
        raise ImageError(f"{settings.containerfile}: missing (params.yaml image.containerfile)")
    shutil.copy2(settings.containerfile, context / "Containerfile")
    shutil.copy2(wheel.path, context / wheel.path.name)
    (context / "requirements.txt").write_text(locked, encoding="utf-8")
    (context / "release.txt").write_text(
        f"{settings.distribution} @ file:///context/{wheel.path.name} "
        f"--hash=sha256:{wheel.sha256}\n",
        encoding="utf-8",
    )


def inspect(engine: str, tag: str) -> dict[str, Any]:
    """Id, size, digest, user, health check and labels of a built image."""
    out = _run([engine, "image", "inspect", tag], Path(), f"inspecting {tag}")
    try:
        data = json.loads(out)[0]
    except (ValueError, IndexError, KeyError):
        raise ImageError(f"`{engine} image inspect {tag}` printed no image") from None
    config = data.get("Config") or {}
    image_id = str(data.get("Id", ""))
    return {
        "id": image_id if image_id.startswith("sha256:") else f"sha256:{image_id}",
        # podman: the digest of the manifest it stores; a registry's comes with `push`.
        "local_digest": data.get("Digest") or None,
        "size_bytes": int(data.get("Size") or 0),
        "user": config.get("User") or data.get("User") or "",
        # podman reports it beside Config, docker inside it.
        "healthcheck": (data.get("Healthcheck") or config.get("Healthcheck") or {}).get("Test"),
        "labels": config.get("Labels") or data.get("Labels") or {},
    }


def build_image(
    settings: ImageSettings,
    root: Path,
    dist: Path,
    *,
    uv: str,
    engine: str,
    base: str | None,
    tag: str | None,
    env: Mapping[str, str],
) -> dict[str, Any]:
    """Build the image of the wheel in `dist` and write its record; returns the record."""
    wheel = the_wheel(dist, settings.distribution)
    manifest = read_manifest(dist)
    locked = locked_requirements(wheel.path, root, uv, settings.python)
    build = Build(
        engine=engine,
        tag=tag or image_tag(settings.name, wheel.version),
        base=base,
        args=build_args(settings, wheel, manifest, source_url(root, env)),
    )
    with tempfile.TemporaryDirectory(prefix="image-context-") as tmp:
        context = Path(tmp)
        write_context(context, settings, wheel, locked)
        start = time.monotonic()
        # The engine's progress goes straight to the terminal: a build takes a while.
        proc = subprocess.run(build.command(context), check=False, stdout=sys.stderr)
        seconds = time.monotonic() - start
    if proc.returncode != 0:
        raise ImageError(f"`{engine} build` exited {proc.returncode}; its output is above")
    record = {
        "name": settings.name,
        "version": wheel.version,
        "tag": build.tag,
        "engine": engine,
        **inspect(engine, build.tag),
        "base_image": base or containerfile_default(settings.containerfile, "BASE_IMAGE"),
        "wheel": wheel.path.name,
        "wheel_sha256": wheel.sha256,
        "revision": build.args["REVISION"],
        "source": build.args["SOURCE"],
        "build_seconds": round(seconds, 1),
    }
    write_record(settings.record, record)
    return record


def containerfile_default(path: Path, arg: str) -> str | None:
    """The default of `ARG <arg>=...` in a Containerfile: the base image when none is given."""
    match = re.search(rf"^ARG {arg}=(\S+)\s*$", path.read_text(encoding="utf-8"), re.MULTILINE)
    return match[1] if match else None


# --- The record, the push, the notes, the deployment ----------------------------------


def write_record(path: Path, record: dict[str, Any]) -> None:
    write_text(path, json.dumps(record, indent=2, sort_keys=True) + "\n")


def read_record(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ImageError(f"{path}: missing; run `make image` first") from None
    except (OSError, ValueError) as exc:
        raise ImageError(f"{path}: not a readable image record: {exc}") from None
    if not isinstance(data, dict) or not {"name", "version", "tag", "engine"} <= set(data):
        raise ImageError(f"{path}: not an image record (needs name, version, tag and engine)")
    return data


def default_repository(name: str, env: Mapping[str, str]) -> str:
    """ghcr.io/<owner>/<repo>/<name>, lower case as registries require."""
    repo = env.get("GITHUB_REPOSITORY")
    if not repo:
        raise ImageError("no --repository given and GITHUB_REPOSITORY is not set")
    return f"ghcr.io/{repo}/{name}".lower()


def check_repository(repository: str, *, tls_verify: bool) -> str:
    if not REPOSITORY_RE.fullmatch(repository):
        raise ImageError(
            f"'{repository}' is not a registry repository (host/path, lower case, no tag)"
        )
    host = repository.split("/", 1)[0].rsplit(":", 1)[0]
    if not tls_verify and host not in {"127.0.0.1", "localhost", "[::1]"}:
        raise ImageError(f"TLS verification can be turned off for a loopback registry only: {host}")
    return repository


REVISION_LABEL = "org.opencontainers.image.revision"


@dataclass(frozen=True)
class TagCheck:
    """What pushing over `target` would do: `new`, `same` (this image) or `replace`."""

    action: str
    previous: str | None  # the manifest digest the tag held before, when it held one
    message: str


def check_tag(record: dict[str, Any], target: str, existing: oci.Tagged | None) -> TagCheck:
    """Whether the version's tag may point at this build; refuses what is not ours to move.

    A release re-run (the run stopped after the push, before the GitHub Release was
    published) rebuilds the same commit, and a build is not byte-reproducible (its creation
    time, pip's files), so the tag already holds an earlier build of that commit: it is
    re-pointed to this one, the build this run attests and names in the notes; the earlier
    one stays in the registry untagged, named by no release. A tag holding another commit's
    image, or one that says no commit, is refused: a version belongs to one commit, and
    moving a tag that someone may have pulled is not a re-run's call.
    """
    if existing is None:
        return TagCheck("new", None, f"{target} is new")
    if existing.image_id == record.get("id"):
        return TagCheck("same", existing.digest, f"{target} already holds this image")
    ours = str(record.get("revision") or "unknown")
    if existing.image_id is None:
        raise ImageError(
            f"{target} holds an image index ({existing.digest}), not a build of this release; "
            "delete that tag in the registry if it is stray"
        )
    theirs = existing.labels.get(REVISION_LABEL)
    if ours == "unknown" or theirs != ours:
        raise ImageError(
            f"{target} holds {existing.digest}, an image of commit {theirs or '(none named)'}, "
            f"not of {ours}: a version's tag is only re-pointed to a rebuild of its own commit; "
            "delete that tag in the registry if it is stray"
        )
    return TagCheck(
        "replace",
        existing.digest,
        f"{target} held {existing.digest}, an earlier build of {ours[:12]}: "
        "re-pointed to this build",
    )


def push(
    record_path: Path,
    repository: str,
    *,
    tls_verify: bool = True,
    env: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], TagCheck]:
    """Push the recorded image as <repository>:<version>; record the digest the registry holds.

    The tag is looked up first (`check_tag` decides); when the registry cannot be read the
    push goes ahead with a warning in the check's message, as it would without the check:
    what a release names is the digest this push records, never the tag.
    """
    record = read_record(record_path)
    if record["engine"] != "podman":
        raise ImageError(
            f"{record_path}: built with {record['engine']}; `push` uses podman, which writes "
            "the pushed manifest's digest (`--digestfile`)"
        )
    check_repository(repository, tls_verify=tls_verify)
    tag = record["tag"].rsplit(":", 1)[1]
    target = f"{repository}:{tag}"
    try:
        existing = oci.lookup(repository, tag, tls_verify=tls_verify, env=env)
    except oci.RegistryError as exc:
        check = TagCheck("unknown", None, f"could not read what {target} holds ({exc}): pushing")
    else:
        check = check_tag(record, target, existing)
    with tempfile.TemporaryDirectory(prefix="image-push-") as tmp:
        digestfile = Path(tmp) / "digest"
        cmd = ["podman", "push", "--digestfile", str(digestfile)]
        if not tls_verify:
            cmd.append("--tls-verify=false")
        _run([*cmd, record["tag"], f"docker://{target}"], Path(), f"pushing {target}")
        digest = digestfile.read_text(encoding="utf-8").strip()
    if not DIGEST_RE.fullmatch(digest):
        raise ImageError(f"podman push wrote '{digest}' as the digest of {target}")
    record["pushed"] = {
        "repository": repository,
        "tag": tag,
        "digest": digest,
        "reference": f"{repository}@{digest}",
    }
    if check.action == "replace":
        record["pushed"]["replaced"] = check.previous
    write_record(record_path, record)
    return record, check


def pushed(record: dict[str, Any], where: str) -> dict[str, str]:
    """The registry half of a record, validated: repository, tag, digest, reference."""
    entry = record.get("pushed")
    if not isinstance(entry, dict):
        raise ImageError(f"{where}: the image was not pushed (no 'pushed' entry)")
    digest, repository = entry.get("digest"), entry.get("repository")
    if not isinstance(digest, str) or not DIGEST_RE.fullmatch(digest):
        raise ImageError(f"{where}: pushed.digest {digest!r} is not a sha256 digest")
    if not isinstance(repository, str) or not REPOSITORY_RE.fullmatch(repository):
        raise ImageError(f"{where}: pushed.repository {repository!r} is not a repository")
    if entry.get("reference") != f"{repository}@{digest}":
        raise ImageError(f"{where}: pushed.reference does not match its repository and digest")
    return {k: str(entry[k]) for k in ("repository", "tag", "digest", "reference")}


def notes_section(
    record: dict[str, Any], github_repository: str | None, sbom: str | None = None
) -> str:
    """The release notes' paragraph on the image: what to pull, by digest, and how to check it."""
    entry = pushed(record, "image record")
    ref = entry["reference"]
    size = int(record.get("size_bytes") or 0) / 2**20
    lines = [
        NOTES_START,
        "## Container image",
        "",
        f"`{entry['repository']}:{entry['tag']}`, digest `{entry['digest']}`. "
        "Deploy it by digest: a tag can be moved, a digest cannot.",
        "",
        "```bash",
        f"podman pull {ref}",
    ]
    if github_repository:
        lines.append(
            f"gh attestation verify oci://{ref} --repo {github_repository} "
            f"--signer-workflow {github_repository}/.github/workflows/release.yml"
        )
    lines += [
        f"podman run --read-only -p 8000:8000 {ref}",
        "```",
        "",
        f"Built from `{record.get('wheel')}` (sha256 `{record.get('wheel_sha256')}`) on "
        f"`{record.get('base_image')}`; {size:.0f} MiB unpacked; runs as user "
        f"`{record.get('user') or 'unknown'}`; serves on `PORT` (8000 unless set).",
    ]
    if sbom:
        lines += [
            "",
            f"Its software bill of materials is the release file `{sbom}`, also attested on "
            "the image in the registry; `image.json` records the build.",
        ]
    lines.append(NOTES_END)
    return "\n".join(lines) + "\n"


def with_section(notes: str, section: str) -> str:
    """`notes` with the image section replaced, or appended when it has none."""
    pattern = re.compile(re.escape(NOTES_START) + r".*?" + re.escape(NOTES_END) + r"\n?", re.S)
    if pattern.search(notes):
        return pattern.sub(lambda _: section, notes, count=1)
    return notes.rstrip("\n") + "\n\n" + section


def resolve(assets: Path, version: str) -> dict[str, str]:
    """The pushed image of release `version` (v1.2.0 or 1.2.0), from its release assets."""
    path = assets / RECORD
    record = read_record(path)
    wanted = version.removeprefix("v")
    if record["version"] != wanted:
        raise ImageError(
            f"{path}: records version {record['version']}, the deployment is of {wanted}"
        )
    return pushed(record, str(path))


def check_sbom(path: Path) -> str:
    """The SBOM's format and version (`SPDX-2.3`, `CycloneDX 1.6`); refuses anything else."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ImageError(f"{path}: missing; the SBOM of the pushed image goes there") from None
    except (OSError, ValueError) as exc:
        raise ImageError(f"{path}: not a JSON SBOM: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("spdxVersion"), str):
        if not data.get("packages"):
            raise ImageError(f"{path}: an SPDX document that lists no packages")
        return str(data["spdxVersion"])
    if isinstance(data, dict) and data.get("bomFormat") == "CycloneDX":
        if not data.get("components"):
            raise ImageError(f"{path}: a CycloneDX document that lists no components")
        return f"CycloneDX {data.get('specVersion', '')}".strip()
    raise ImageError(f"{path}: neither SPDX (spdxVersion) nor CycloneDX (bomFormat) JSON")


def attach(settings: ImageSettings, dist: Path) -> list[str]:
    """List the image record and its SBOM in dist/SHA256SUMS: the release then publishes them.

    Only a record of an image pushed from this very wheel is attached; running it again
    changes nothing. Returns the names it listed.
    """
    wheel = the_wheel(dist, settings.distribution)
    record = read_record(settings.record)
    pushed(record, str(settings.record))
    if record["version"] != wheel.version or record.get("wheel_sha256") != wheel.sha256:
        raise ImageError(
            f"{settings.record}: records an image of {record.get('wheel')} "
            f"(sha256 {record.get('wheel_sha256')}), not of {wheel.path.name} in {dist}"
        )
    check_sbom(settings.sbom)
    sums_path = dist / SUMS
    sums = read_sums(sums_path)
    names = []
    for path in (settings.record, settings.sbom):
        if path.parent.resolve() != dist.resolve():
            raise ImageError(f"{path}: release files live in {dist}/, next to {SUMS}")
        sums[path.name] = file_digest(path)
        names.append(path.name)
    write_text(sums_path, "".join(f"{sha}  {name}\n" for name, sha in sorted(sums.items())))
    return names


# --- Command line ---------------------------------------------------------------------


def _human(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def _build_main(args: argparse.Namespace, settings: ImageSettings, root: Path) -> int:
    record = build_image(
        settings,
        root,
        root / args.dist,
        uv=args.uv,
        engine=choose_engine(args.engine),
        base=args.base,
        tag=args.tag,
        env=os.environ,
    )
    print(
        f"image: {record['tag']} built with {record['engine']} in {record['build_seconds']:.0f} s\n"
        f"image:   id      {record['id']}\n"
        f"image:   digest  {record['local_digest'] or 'known once pushed'}\n"
        f"image:   size    {_human(record['size_bytes'])} unpacked\n"
        f"image:   base    {record['base_image']}\n"
        f"image:   record  {settings.record.relative_to(root)}"
    )
    return 0


def _push_main(args: argparse.Namespace, settings: ImageSettings, _: Path) -> int:
    repository = args.repository or default_repository(settings.name, os.environ)
    record, check = push(settings.record, repository, tls_verify=not args.no_tls_verify)
    entry = record["pushed"]
    if check.action in {"replace", "unknown"}:
        print(f"::warning title=Image tag::{check.message}")
    gha.set_outputs({k: entry[k] for k in ("repository", "tag", "digest", "reference")})
    gha.add_summary(
        f"Pushed `{entry['repository']}:{entry['tag']}` as `{entry['reference']}`: {check.message}."
    )
    print(
        f"image: pushed {entry['repository']}:{entry['tag']}\nimage:   {entry['reference']}\n"
        f"image:   {check.message}"
    )
    return 0


def _notes_main(args: argparse.Namespace, settings: ImageSettings, _: Path) -> int:
    record = read_record(settings.record)
    sbom = settings.sbom.name if settings.sbom.is_file() else None
    section = notes_section(record, os.environ.get("GITHUB_REPOSITORY") or None, sbom)
    try:
        notes = args.notes.read_text(encoding="utf-8")
    except OSError as exc:
        raise ImageError(f"{args.notes}: cannot read the release notes: {exc}") from None
    write_text(args.notes, with_section(notes, section))
    print(f"image: {args.notes} names {pushed(record, str(settings.record))['reference']}")
    return 0


def _attach_main(args: argparse.Namespace, settings: ImageSettings, root: Path) -> int:
    dist = root / args.dist
    names = attach(settings, dist)
    print(f"image: {dist / SUMS} lists {', '.join(names)}: they are release files now")
    return 0


def _resolve_main(args: argparse.Namespace, _: ImageSettings, __: Path) -> int:
    if args.if_present and not (args.assets / RECORD).is_file():
        # Releases made before images were: their wheel still deploys.
        gha.set_outputs({"image": "", "digest": ""})
        print(f"image: {args.assets} holds no {RECORD}: this release has no image", file=sys.stderr)
        return 0
    entry = resolve(args.assets, args.version)
    gha.set_outputs({"image": entry["reference"], "digest": entry["digest"]})
    print(entry["reference"])
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gitops.release.image", description=__doc__)
    parser.add_argument("--params", default="params.yaml")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build the image of the wheel in dist/")
    b.add_argument("--dist", default="dist")
    b.add_argument("--uv", default="uv", help="uv executable (reads uv.lock)")
    b.add_argument("--engine", choices=ENGINES, help="default: podman, else docker")
    b.add_argument("--base", help="base image (default: the Containerfile's pinned one)")
    b.add_argument("--tag", help="image tag (default: <image.name>:<version>)")
    b.set_defaults(func=_build_main)
    p = sub.add_parser("push", help="push the built image, record the registry's digest")
    p.add_argument("--repository", help="default: ghcr.io/<GITHUB_REPOSITORY>/<image.name>")
    p.add_argument("--no-tls-verify", action="store_true", help="loopback registries only")
    p.set_defaults(func=_push_main)
    n = sub.add_parser("notes", help="name the pushed image's digest in the release notes")
    n.add_argument("--notes", type=Path, required=True)
    n.set_defaults(func=_notes_main)
    a = sub.add_parser("attach", help="list image.json and the SBOM in dist/SHA256SUMS")
    a.add_argument("--dist", default="dist")
    a.set_defaults(func=_attach_main)
    r = sub.add_parser("resolve", help="the image reference (by digest) of a release")
    r.add_argument("--assets", type=Path, required=True, help="the release's downloaded assets")
    r.add_argument("--version", required=True, help="the release's version, v1.2.0")
    r.add_argument("--if-present", action="store_true", help="no image.json: print nothing")
    r.set_defaults(func=_resolve_main)
    args = parser.parse_args(argv)
    root = Path.cwd()
    try:
        settings = load_settings(root, args.params)
        return int(args.func(args, settings, root))
    except (ImageError, git.GitError) as exc:
        print(f"image: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
