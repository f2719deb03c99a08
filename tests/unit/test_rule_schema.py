"""A rule the contract also states in JSON Schema: both forms refuse exactly the same records.

The API's published schema carries the JSON Schema form (`allOf` of the Record); the
server answers with the rule's hook. Every combination of the allowed values of the rule's
fields is put to both.
"""

from __future__ import annotations

import itertools

import fastjsonschema
import numpy as np
import pandas as pd
import pytest

import sample
from gitops.contract.json_schema import record_schema, rule_schema

CONTRACT = sample.contract()
STATED = [rule for rule in CONTRACT.rules if rule.json_schema is not None]


@pytest.mark.skipif(not STATED, reason="the contract states no rule in JSON Schema")
@pytest.mark.parametrize("rule", STATED, ids=lambda r: r.name)
def test_the_schema_form_and_the_hook_agree_on_every_combination(rule: object) -> None:
    check = fastjsonschema.compile(rule_schema(rule))
    grids = []
    for name in rule.fields:  # type: ignore[attr-defined]
        allowed = CONTRACT.field(name).allowed
        assert allowed, f"{name}: the comparison needs the field's allowed values"
        grids.append(list(allowed))
    refused_somewhere = False
    for values in itertools.product(*grids):
        record = dict(zip(rule.fields, values, strict=True))  # type: ignore[attr-defined]
        try:
            check(record)
            by_schema = False
        except fastjsonschema.JsonSchemaValueException:
            by_schema = True
        frame = pd.DataFrame({k: np.asarray([v], dtype=np.int64) for k, v in record.items()})
        by_hook = bool(rule.offending(frame).iloc[0])  # type: ignore[attr-defined]
        assert by_schema == by_hook, (record, by_schema, by_hook)
        refused_somewhere |= by_hook
    assert refused_somewhere  # the rule refuses something, so the comparison means something


def test_the_record_schema_carries_the_stated_rules() -> None:
    schema = record_schema(CONTRACT)
    assert [part["title"] for part in schema.get("allOf", [])] == [r.name for r in STATED]
    for rule in CONTRACT.rules:
        for name in rule.fields:
            assert rule.message in schema["properties"][name]["description"]


def test_memoized_rule_verdicts_are_the_hooks_even_when_the_memory_is_cleared() -> None:
    from gitops.scoring import api

    rules = api.RuleChecks(CONTRACT)
    rules.LIMIT = 3  # cleared on almost every request
    stated = {r.name: r for r in STATED}
    grids = [[list(CONTRACT.field(n).allowed or ()) for n in r.fields] for r in STATED]
    for rule, grid in zip(STATED, grids, strict=True):
        combos = [dict(zip(rule.fields, v, strict=True)) for v in itertools.product(*grid)]
        frame = pd.DataFrame(combos).astype(np.int64)
        expected = rule.offending(frame).to_numpy().tolist()
        for _ in range(3):  # first asked, then remembered, cleared and asked again
            columns = api.Columns({k: frame[k].to_numpy() for k in frame}, set(frame), len(frame))
            found = [p["loc"][2] for p in rules.problems(columns, ["records"])]
            assert found == [i for i, bad in enumerate(expected) if bad]
            assert all(p["type"] == f"rule:{rule.name}" for p in rules.problems(columns, ["x"]))
    assert stated
