"""`make docs`: generated blocks are replaced between their markers only, and `CHECK=1`
fails on a stale data card or OpenAPI document, naming it, without writing anything."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import sample
from gitops.docs import blocks, generate
from support import ROOT, copy_repo

PAGE = """\
# Serving

Hand-written prose before.

<!-- generated:example -->
old output
<!-- /generated:example -->

Hand-written prose after.
"""


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_block_is_replaced_and_the_text_around_it_kept(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(PAGE, encoding="utf-8")
    assert blocks.update(page, {"example": "```text\nnew output\n```\n"}) is True
    text = page.read_text(encoding="utf-8")
    assert "old output" not in text
    assert "<!-- generated:example -->\n```text\nnew output\n```\n<!-- /generated:example -->" in (
        text
    )
    assert text.startswith("# Serving\n\nHand-written prose before.\n\n")
    assert text.endswith("\n\nHand-written prose after.\n")
    # Writing the same block again changes nothing.
    before = _sha(page)
    assert blocks.update(page, {"example": "```text\nnew output\n```"}) is False
    assert _sha(page) == before


def test_a_page_without_its_markers_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    broken = PAGE.replace("<!-- /generated:example -->\n", "")
    page.write_text(broken, encoding="utf-8")
    before = _sha(page)
    with pytest.raises(blocks.BlockError, match=r"page\.md: needs exactly one .*found 1 and 0"):
        blocks.update(page, {"example": "new"})
    assert _sha(page) == before


def test_markers_out_of_order_are_refused() -> None:
    text = "<!-- /generated:x -->\n<!-- generated:x -->\n"
    with pytest.raises(blocks.BlockError, match="comes before"):
        blocks.replaced(text, "x", "body", source="page.md")


def test_the_committed_card_and_openapi_are_up_to_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert generate.main(["--check"]) == 0, "run `make docs` (or make card, make openapi)"


def test_check_names_a_stale_openapi_and_card_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = copy_repo(tmp_path / "repo", with_results=False)
    monkeypatch.chdir(repo)
    settings = sample.settings()
    contract = repo / settings.data.contract
    field = sample.contract().fields[1]
    contract.write_text(contract.read_text().replace(field.description, "Reworded description.", 1))
    card, openapi = repo / str(settings.data.card), repo / "docs/openapi.json"
    before = {card: _sha(card), openapi: _sha(openapi)}
    assert generate.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert "out of date: the data card's column table (make card)" in err
    assert "out of date: docs/openapi.json (make openapi)" in err
    assert {p: _sha(p) for p in before} == before
    # Regenerating the cheap parts brings both up to date, and the check passes again.
    assert generate.main(["--only", "card,openapi"]) == 0
    assert "Reworded description" in card.read_text()
    assert "Reworded description" in json.dumps(json.loads(openapi.read_text()))
    assert generate.main(["--check"]) == 0


def test_the_serving_example_record_is_wrapped_between_fields_and_stays_json() -> None:
    record = {"customer_id": "line-2", "plan": "Month-to-month plan", "count": 3, "x": 0.5}
    text = generate.wrapped(record, "  ", width=40)
    assert all(len(line) <= 40 for line in text.splitlines())
    assert json.loads(text) == record


def test_the_invalid_example_breaks_the_contract_three_ways() -> None:
    contract = sample.contract()
    good = {f.name: 1 for f in contract.fields if f.type == "integer"}
    bad = generate.invalid_record(contract, good)
    assert bad["region"] == "north"
    assert sum(1 for k, v in bad.items() if k in good and v != good[k]) == 2
