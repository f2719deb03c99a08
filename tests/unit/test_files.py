"""Outputs written together are published together: never half of one run, half of another."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops.files import atomic_paths, digest, write_json, write_text


def test_a_failure_before_the_end_publishes_none_of_the_outputs(tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.txt"
    write_json(first, {"run": 1})
    write_text(second, "run 1\n")
    before = {p: digest(p) for p in (first, second)}

    def half_a_run() -> None:
        with atomic_paths(first, second) as (a, _):
            write_json(a, {"run": 2})  # complete, but its partner never is
            raise RuntimeError("killed between the two writes")

    with pytest.raises(RuntimeError, match="killed"):
        half_a_run()
    assert {p: digest(p) for p in (first, second)} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.txt"]  # no temp left


def test_success_publishes_every_output(tmp_path: Path) -> None:
    first, second = tmp_path / "out/a.json", tmp_path / "out/b.txt"
    with atomic_paths(first, second) as (a, b):
        write_json(a, {"run": 2})
        write_text(b, "run 2\n")
        assert not first.exists()  # nothing visible until the block ends
    assert first.read_text() == '{\n  "run": 2\n}\n'
    assert second.read_text() == "run 2\n"
    assert sorted(p.name for p in first.parent.iterdir()) == ["a.json", "b.txt"]
