"""The developer commands: what `make help` promises exists, the hook config is valid."""

from __future__ import annotations

import re

import pytest

from runner import Checkout, Runner
from support import BIN, ROOT, run


@pytest.mark.process
def test_make_help_lists_every_documented_target(runner: Runner, merge_checkout: Checkout) -> None:
    out = runner.make("help", merge_checkout.path).stdout
    documented = re.findall(r"^([a-zA-Z_-]+):.*## ", (ROOT / "Makefile").read_text(), re.M)
    assert {"run", "test", "lint", "help", "check-lock"} <= set(documented)
    for target in documented:
        assert target in out


@pytest.mark.process
def test_pre_commit_config_is_valid_and_installs_from_pypi_only() -> None:
    run([str(BIN / "pre-commit"), "validate-config", ".pre-commit-config.yaml"], ROOT)
    text = (ROOT / ".pre-commit-config.yaml").read_text()
    assert re.findall(r"^\s*- repo: (\S+)", text, re.M) == ["local"]


def test_dvc_never_phones_home() -> None:
    config = (ROOT / ".dvc/config").read_text()
    assert re.search(r"analytics\s*=\s*false", config)
    assert re.search(r"check_update\s*=\s*false", config)


def test_no_tracked_file_holds_merge_conflict_markers() -> None:
    """The hook checks only during a merge; a resolved-in-a-hurry commit can still carry them."""
    files = run(["git", "ls-files", "-z"], ROOT).stdout.split("\0")
    marker = re.compile(r"^(<{7} |>{7} |={7}$)", re.M)
    found = []
    for name in filter(None, files):
        path = ROOT / name
        if name.startswith("data/raw/") or not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        found += [f"{name}:{text.count(chr(10), 0, m.start()) + 1}" for m in marker.finditer(text)]
    assert not found, f"merge conflict markers left in: {found}"
