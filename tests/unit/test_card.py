"""The data card's column table is the contract's, regenerated, never hand-edited."""

from __future__ import annotations

from pathlib import Path

import pytest

import sample
from gitops.contract import card
from support import ROOT, copy_repo


def test_the_committed_data_card_matches_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert card.main(["--check"]) == 0, "run `make card` and commit the data card"


def test_a_changed_contract_makes_the_card_stale_until_regenerated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = copy_repo(tmp_path / "repo", with_results=False)
    monkeypatch.chdir(repo)
    contract = repo / sample.settings().data.contract
    first = sample.contract().fields[1]
    text = contract.read_text().replace(first.description, "Reworded description.", 1)
    contract.write_text(text)
    assert card.main(["--check"]) == 1
    assert card.main([]) == 0
    assert "Reworded description" in (repo / str(sample.settings().data.card)).read_text()
    assert card.main(["--check"]) == 0


def test_a_card_without_the_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="marker lines"):
        card.updated("# A card\n", sample.contract())
