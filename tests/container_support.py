"""Containers in tests: podman settings of the tests' own, a base image made here, a registry.

No image registry is needed. The base image is Debian's minimal system plus Python, made with
debootstrap and imported into podman, cached in a folder keyed by its recipe so only the first
run pays for it. The registry is Debian's `docker-registry` binary, unpacked (not installed)
into the same cache and served on loopback for one test module.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

SUITE = "bookworm"  # Debian 12: Python 3.11, params.yaml image.python
MIRROR = "http://deb.debian.org/debian"
PACKAGES = ("python3", "python3-venv", "ca-certificates")
# Certificate authorities the machine adds to Debian's (a proxy's, a company's): the base must
# trust them too, or pip inside the build cannot reach PyPI from here.
LOCAL_CAS = Path("/usr/local/share/ca-certificates")
BASE_NAME = "localhost/churn-test-base"


def cache_dir() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    path = root / "churn-gitops-tests"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def locked(name: str) -> Iterator[None]:
    """One process at a time builds a cached thing; the others wait and then reuse it."""
    with (cache_dir() / f"{name}.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def containers_conf(dest: Path) -> Path:
    """podman settings that work on a VM or CI host without systemd, written for the tests.

    No default ulimits (podman's nofile limit cannot be set in every VM), cgroups managed
    through the file system and events logged to a file (no systemd, no journald).
    """
    lines = ["[containers]", "default_ulimits = []", "", "[engine]"]
    lines += ['cgroup_manager = "cgroupfs"', 'events_logger = "file"']
    if shutil.which("runc"):
        lines.append('runtime = "runc"')
    dest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dest


def podman_problem() -> str | None:
    """Why podman cannot run containers here, or None when it can."""
    if shutil.which("podman") is None:
        return "podman is not installed (Debian: apt-get install podman runc)"
    proc = subprocess.run(["podman", "info"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return f"`podman info` fails here: {proc.stderr.strip()[-400:]}"
    return None


def base_problem() -> str | None:
    """Why the local base image cannot be made here, or None."""
    if shutil.which("debootstrap") is None:
        return "debootstrap is not installed (Debian: apt-get install debootstrap)"
    if os.geteuid() != 0:
        return "making the base image with debootstrap needs root"
    return None


def _recipe() -> str:
    cas = sorted(LOCAL_CAS.glob("*.crt")) if LOCAL_CAS.is_dir() else []
    parts = [SUITE, MIRROR, "minbase", *PACKAGES]
    parts += [f"{p.name}:{hashlib.sha256(p.read_bytes()).hexdigest()}" for p in cas]
    return "\n".join(parts)


def _image_exists(tag: str) -> bool:
    proc = subprocess.run(["podman", "image", "exists", tag], capture_output=True, check=False)
    return proc.returncode == 0


def _check(cmd: list[str], **kwargs: object) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")


def local_base() -> str:
    """A Debian base image with Python 3.11 and venv, in podman; made once per recipe."""
    key = hashlib.sha256(_recipe().encode()).hexdigest()[:16]
    tag = f"{BASE_NAME}:{key}"
    if _image_exists(tag):
        return tag
    with locked("base"):
        if _image_exists(tag):
            return tag
        tarball = cache_dir() / f"base-{key}.tar"
        if not tarball.is_file():
            _make_rootfs_tar(tarball)
        _check(["podman", "import", str(tarball), tag])
    return tag


def _make_rootfs_tar(tarball: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="rootfs-", dir=cache_dir()) as tmp:
        rootfs = Path(tmp) / "rootfs"
        _check(
            ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}",
             SUITE, str(rootfs), MIRROR]
        )  # fmt: skip
        # What apt fetched is not part of the system: leave it out of the image.
        for cached in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for item in (rootfs / cached).glob("*"):
                if item.is_file():
                    item.unlink()
        if LOCAL_CAS.is_dir():
            for ca in LOCAL_CAS.glob("*.crt"):
                shutil.copy2(ca, rootfs / "usr/local/share/ca-certificates" / ca.name)
            _check(["chroot", str(rootfs), "update-ca-certificates"])
        partial = tarball.with_suffix(".partial")
        _check(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), "."])
        partial.replace(tarball)


def registry_binary() -> Path | str:
    """Debian's docker-registry, unpacked into the cache; a reason string when unobtainable."""
    existing = sorted(cache_dir().glob("docker-registry-*/usr/bin/docker-registry"))
    if existing:
        return existing[-1]
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        return "no docker-registry: apt-get and dpkg-deb are needed to fetch Debian's"
    with locked("registry"), tempfile.TemporaryDirectory(dir=cache_dir()) as tmp:
        proc = subprocess.run(
            ["apt-get", "download", "docker-registry"],
            cwd=tmp,
            capture_output=True,
            text=True,
            check=False,
        )
        debs = sorted(Path(tmp).glob("docker-registry_*.deb"))
        if proc.returncode != 0 or not debs:
            return f"apt-get download docker-registry failed: {proc.stderr.strip()[-400:]}"
        unpacked = cache_dir() / f"docker-registry-{debs[0].name.split('_')[1]}"
        _check(["dpkg-deb", "-x", str(debs[0]), str(unpacked)])
    return unpacked / "usr/bin/docker-registry"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, *, seconds: float, alive: Callable[[], bool] | None = None) -> float:
    """Seconds until `url` answers 200; fails after `seconds` or when `alive()` turns False."""
    start = time.monotonic()
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 (loopback)
                if resp.status == 200:
                    return time.monotonic() - start
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if alive is not None and not alive():
            raise AssertionError(f"{url}: the server stopped before it answered")
        if time.monotonic() - start > seconds:
            raise AssertionError(f"{url}: no answer within {seconds:.0f} s")
        time.sleep(0.2)


@contextmanager
def registry(binary: Path, storage: Path) -> Iterator[str]:
    """A registry on a loopback port for the duration of the block: yields host:port."""
    port = free_port()
    config = storage / "registry.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {storage / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n",
        encoding="utf-8",
    )
    log = (storage / "registry.log").open("w")
    proc = subprocess.Popen([str(binary), "serve", str(config)], stdout=log, stderr=log)
    try:
        wait_for(f"http://127.0.0.1:{port}/v2/", seconds=30, alive=lambda: proc.poll() is None)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
