"""The contract checked before anything relies on it: every mistake named by its key."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

import sample
from gitops.contract.load import ContractError, from_mapping, load
from support import ROOT


def contract_data() -> dict[str, Any]:
    return yaml.safe_load((ROOT / sample.settings().data.contract).read_text())


def edited(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(contract_data())
    change(data)
    return data


def field(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in data["fields"] if f["name"] == name)


def without_values(spec: dict[str, Any]) -> None:
    """A label field that lists no values: a number with neither categories nor enum."""
    for key in ("categories", "categoriesOrdered", "trueValues", "falseValues"):
        spec.pop(key, None)
    spec["constraints"] = {"required": True}
    spec["type"] = "number"


def test_the_project_contract_loads_with_its_hooks() -> None:
    contract = load(ROOT / sample.settings().data.contract)
    assert contract.features
    assert all(rule.hook is not None for rule in contract.rules)


LABEL = contract_data()["roles"]["label"]
NUMBER = sample.first("numeric", bounded=True).name


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(colour="blue"), "unknown key 'colour'"),
        (
            lambda d: field(d, NUMBER).update(precision=2),
            f"unknown key 'fields[{sample.contract().names.index(NUMBER)}] ({NUMBER}).precision'",
        ),
        (lambda d: field(d, NUMBER).update(type="float"), f"({NUMBER}).type"),
        (lambda d: d["roles"].update(label="outcome"), "roles.label: no field is named 'outcome'"),
        (lambda d: d["roles"].update(positive=12345), "roles.positive"),
        (lambda d: d["roles"].update(info=["shoe_size"]), "roles.info: no field is named"),
        (lambda d: d["roles"].pop("label"), "'roles.label' is missing"),
        (
            lambda d: field(d, NUMBER)["constraints"].update(maxLength=3),
            "constraints.maxLength: only string fields take maxLength",
        ),
        (
            lambda d: field(d, NUMBER).update(categories=["a", "b"]),
            "categories: 'a' is not a integer",
        ),
        (
            lambda d: without_values(field(d, LABEL)),
            f"roles.label: field '{LABEL}' needs categories, an enum or type boolean",
        ),
        (lambda d: d["fields"].append(dict(d["fields"][1])), "appears more than once"),
    ],
)
def test_contract_mistakes_are_named_by_key(change: Any, message: str) -> None:
    with pytest.raises(ContractError) as err:
        from_mapping(edited(change), "contract.yaml")
    assert message in str(err.value)
    assert str(err.value).startswith("contract.yaml: ")


def test_a_rule_hook_that_does_not_import_is_named() -> None:
    def change(d: dict[str, Any]) -> None:
        d["rules"] = [
            {"name": "r", "check": "no_such_pkg.rules:check", "fields": [NUMBER], "message": "x"}
        ]

    with pytest.raises(ContractError, match=r"rules\.r\.check: cannot import no_such_pkg\.rules"):
        from_mapping(edited(change), "contract.yaml")
    missing = edited(change)
    missing["rules"][0]["check"] = "churn.rules:no_such_rule"
    with pytest.raises(ContractError, match=r"churn\.rules has no function .no_such_rule."):
        from_mapping(missing, "contract.yaml")
    missing["rules"][0]["fields"] = ["nowhere"]
    with pytest.raises(ContractError, match=r"rules\[0\] \(r\)\.fields: unknown field"):
        from_mapping(missing, "contract.yaml")


def test_a_missing_or_broken_file_is_named(tmp_path: Any) -> None:
    with pytest.raises(ContractError, match="contract file not found"):
        load(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("fields: [\n")
    with pytest.raises(ContractError, match=r"broken\.yaml: not valid YAML"):
        load(broken)
