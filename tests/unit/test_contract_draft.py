"""`make contract`: a draft that reproduces the sample's contract up to what needs a person."""

from __future__ import annotations

from pathlib import Path

import pytest

import sample
import second_dataset as telco
from gitops.contract import load, reading
from gitops.contract.draft import main, plausible_maximum
from gitops.contract.validate import check


def _draft(tmp_path: Path, source: Path, *args: str) -> Path:
    out = tmp_path / "contract.yaml"
    assert main(["--input", str(source), "--output", str(out), *args]) == 0
    return out


def test_the_draft_of_the_sample_matches_its_contract_but_for_reviewable_details(
    tmp_path: Path,
) -> None:
    today = sample.contract()
    label = today.label_field
    path = _draft(
        tmp_path,
        sample.raw_path(),
        "--label",
        label.header,
        "--positive",
        str(today.roles.positive),
    )
    drafted = load.load(path, resolve_hooks=False)
    by_header = {f.header: f for f in drafted.fields}
    for field in today.fields:
        if field.name == today.id:
            continue  # the sample carries no id column
        got = by_header[field.header]
        assert got.type == field.type, field.name
        assert got.required == field.required, field.name
        if field.categories is not None:
            assert got.allowed == field.allowed, field.name
        if field.constraints.maximum is not None and field.allowed is None:
            assert got.constraints.maximum is not None, field.name
    assert drafted.field(drafted.label).header == label.header
    assert drafted.roles.positive == today.roles.positive
    # The draft is a contract the sample passes.
    typed = check(reading.read_csv(sample.raw_path(), drafted), drafted, "sample")
    assert len(typed) == len(sample.typed())


def test_the_draft_of_another_shape_finds_booleans_categories_blanks_and_dates(
    tmp_path: Path,
) -> None:
    source = tmp_path / "export.csv"
    telco.generate(500, seed=3).to_csv(source, index=False)
    path = _draft(tmp_path, source, "--label", "Active", "--positive", "No", "--id", "Customer ID")
    drafted = load.load(path, resolve_hooks=False)
    field = {f.header: f for f in drafted.fields}
    assert field["Paperless Billing"].type == "boolean"
    assert field["Paperless Billing"].true_values == ("Yes",)
    assert field["Plan Name"].allowed == ("Basic", "Plus", "Premium")
    assert field["Tenure Months"].required is False
    assert field["Signup Date"].type == "date"
    assert drafted.roles.info == ("signup_date",)
    assert drafted.roles.id == "customer_id"
    # A Yes/No label is a boolean: its positive class "No" is `false`.
    assert field["Active"].type == "boolean"
    assert (drafted.roles.label, drafted.roles.positive) == ("active", False)


def test_an_existing_contract_is_kept_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "contract.yaml"
    out.write_text("# reviewed by hand\n")
    label = sample.contract().label_field.header
    positive = str(sample.raw_text()[sample.contract().label].dropna().iloc[0])
    args = ["--input", str(sample.raw_path()), "--output", str(out), "--label", label]
    assert main([*args, "--positive", positive]) == 2
    assert out.read_text() == "# reviewed by hand\n"
    assert main([*args, "--positive", "not a class"]) == 2
    assert main([*args, "--positive", positive, "--force"]) == 0
    assert "make contract" in out.read_text()


@pytest.mark.parametrize(
    ("observed", "bound"), [(36, 500), (17090, 200000), (0.5, 5), (2165.28, 50000)]
)
def test_plausibility_bounds_are_ten_times_the_largest_value_rounded_up(
    observed: float, bound: float
) -> None:
    assert plausible_maximum(observed) == bound


def test_a_token_for_unknown_in_a_number_column_becomes_a_blank(tmp_path: Path) -> None:
    source = tmp_path / "export.csv"
    telco.generate(500, seed=3).to_csv(source, index=False)
    path = _draft(tmp_path, source, "--label", "Active", "--positive", "No")
    usage = {f.header: f for f in load.load(path, resolve_hooks=False).fields}["Data Usage GB"]
    assert usage.type == "number"
    assert usage.missing_values == ("", "NA")
    assert usage.required is False
