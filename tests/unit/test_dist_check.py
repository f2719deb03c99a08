"""The packaged wheel is checked against the release version before anything is tagged."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gitops.release.dist_check import DistError, check_dist, normalize
from release_support import write_dist


def test_a_consistent_dist_passes(tmp_path: Path) -> None:
    wheel = write_dist(tmp_path, "1.2.0")
    checked = check_dist(tmp_path / "dist", "churn-model", "1.2.0")
    assert checked.path == wheel
    assert checked.checked_files == ("MODEL_CARD.md", wheel.name)
    assert len(checked.sha256) == 64


def test_wheel_of_another_version_is_refused(tmp_path: Path) -> None:
    write_dist(tmp_path, "1.1.0")
    with pytest.raises(DistError, match=r"expected one wheel churn_model-1\.2\.0-\*\.whl, found"):
        check_dist(tmp_path / "dist", "churn-model", "1.2.0")


def test_metadata_version_must_match(tmp_path: Path) -> None:
    write_dist(tmp_path, "1.2.0", metadata_version="0.1.0")
    with pytest.raises(DistError, match=re.escape("METADATA Version is '0.1.0', expected '1.2.0'")):
        check_dist(tmp_path / "dist", "churn-model", "1.2.0")


def test_a_changed_file_fails_the_checksums(tmp_path: Path) -> None:
    write_dist(tmp_path, "1.2.0")
    (tmp_path / "dist/MODEL_CARD.md").write_text("# edited after packaging\n")
    with pytest.raises(DistError, match=r"MODEL_CARD\.md: sha256 .* does not match"):
        check_dist(tmp_path / "dist", "churn-model", "1.2.0")


def test_missing_or_malformed_checksums(tmp_path: Path) -> None:
    write_dist(tmp_path, "1.2.0")
    sums = tmp_path / "dist/SHA256SUMS"
    sums.write_text("not a checksum line\n")
    with pytest.raises(DistError, match="SHA256SUMS:1: expected '<sha256>  <file>'"):
        check_dist(tmp_path / "dist", "churn-model", "1.2.0")
    sums.unlink()
    with pytest.raises(DistError, match="SHA256SUMS: missing"):
        check_dist(tmp_path / "dist", "churn-model", "1.2.0")


def test_normalized_names() -> None:
    assert normalize("Churn.Model") == normalize("churn-model") == "churn_model"
