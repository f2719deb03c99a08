"""The customer record: the one place that names columns, types, ranges and allowed values.

Validation, training, scoring and the HTTP API all derive what they need from `COLUMNS`
so that a column is described exactly once. Raw files may use the published headers
(`source`), everything downstream uses the code-friendly `name`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["feature", "target", "info"]
Kind = Literal["count", "amount", "binary", "ordinal", "categorical"]


@dataclass(frozen=True)
class Column:
    name: str
    source: str
    dtype: Literal["int", "float"]
    kind: Kind
    role: Role
    description: str
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    allowed: tuple[int, ...] | None = None
    labels: dict[int, str] = field(default_factory=dict)

    def rule(self) -> str:
        """The constraint in words, as error messages and the data card state it."""
        if self.allowed is not None:
            return "one of " + ", ".join(str(v) for v in self.allowed)
        lo = "" if self.minimum is None else f">= {self.minimum:g}"
        hi = "" if self.maximum is None else f"<= {self.maximum:g}"
        return " and ".join(p for p in (lo, hi) if p) or "any number"


COLUMNS: tuple[Column, ...] = (
    Column("call_failures", "Call  Failure", "int", "count", "feature",
           "Failed calls in the first nine months.", "calls", minimum=0),
    Column("complained", "Complains", "int", "binary", "feature",
           "Whether the customer filed a complaint.", "", allowed=(0, 1),
           labels={0: "no complaint", 1: "complained"}),
    Column("subscription_months", "Subscription  Length", "int", "count", "feature",
           "Months since the subscription started.", "months", minimum=0, maximum=120),
    Column("charge_amount", "Charge  Amount", "int", "ordinal", "feature",
           "Spend band; the source documents 0..9 but ships values up to 10.", "band",
           minimum=0, maximum=10),
    Column("seconds_of_use", "Seconds of Use", "int", "count", "feature",
           "Total call time.", "seconds", minimum=0),
    Column("call_count", "Frequency of use", "int", "count", "feature",
           "Number of calls.", "calls", minimum=0),
    Column("sms_count", "Frequency of SMS", "int", "count", "feature",
           "Number of text messages.", "messages", minimum=0),
    Column("distinct_numbers_called", "Distinct Called Numbers", "int", "count", "feature",
           "Distinct numbers called.", "numbers", minimum=0),
    Column("age_group", "Age Group", "int", "ordinal", "feature",
           "Age band, 1 youngest to 5 oldest.", "band", allowed=(1, 2, 3, 4, 5)),
    Column("tariff_plan", "Tariff Plan", "int", "categorical", "feature",
           "Tariff plan.", "", allowed=(1, 2), labels={1: "pay as you go", 2: "contractual"}),
    Column("status", "Status", "int", "categorical", "feature",
           "Activity status.", "", allowed=(1, 2), labels={1: "active", 2: "non-active"}),
    Column("age", "Age", "int", "ordinal", "info",
           "Age in years as published: a fixed mapping of age_group, so not a feature.",
           "years", allowed=(15, 25, 30, 45, 55)),
    Column("customer_value", "Customer Value", "float", "amount", "feature",
           "Monetary value of the customer to the operator.", "currency units", minimum=0),
    Column("churn", "Churn", "int", "binary", "target",
           "Whether the customer left within twelve months.", "", allowed=(0, 1),
           labels={0: "stayed", 1: "churned"}),
)  # fmt: skip

TARGET = "churn"
ROW_ID = "row_id"
#: The business weight of a customer: how much value a retention campaign protects.
VALUE = "customer_value"
#: Age is published as a fixed function of age_group; validation enforces the mapping.
AGE_OF_GROUP: dict[int, int] = {1: 15, 2: 25, 3: 30, 4: 45, 5: 55}


def by_name() -> dict[str, Column]:
    return {c.name: c for c in COLUMNS}


def feature_columns() -> list[Column]:
    return [c for c in COLUMNS if c.role == "feature"]


def feature_names() -> list[str]:
    return [c.name for c in feature_columns()]


def input_columns() -> list[Column]:
    """What a caller sends to score a customer: every column but the label."""
    return [c for c in COLUMNS if c.role != "target"]


def input_names() -> list[str]:
    return [c.name for c in input_columns()]


def all_names() -> list[str]:
    return [c.name for c in COLUMNS]


def source_to_name() -> dict[str, str]:
    return {c.source: c.name for c in COLUMNS}


def rename_source_columns(columns: Iterable[str]) -> dict[str, str]:
    """Map published headers to code names; headers already in code form map to themselves.

    Whitespace runs are folded so that a re-exported file with single spaces still matches.
    """
    folded = {" ".join(c.source.split()).lower(): c.name for c in COLUMNS}
    mapping: dict[str, str] = {}
    for col in columns:
        key = " ".join(str(col).split()).lower()
        if key in folded:
            mapping[col] = folded[key]
    return mapping


def json_schema(*, title: str = "CustomerRecord") -> dict[str, Any]:
    """JSON Schema of one record to score, for callers that validate before they send."""
    props: dict[str, Any] = {}
    for c in input_columns():
        prop: dict[str, Any] = {
            "type": "integer" if c.dtype == "int" else "number",
            "description": c.description + (f" Unit: {c.unit}." if c.unit else ""),
        }
        if c.allowed is not None:
            prop["enum"] = list(c.allowed)
        if c.minimum is not None:
            prop["minimum"] = c.minimum
        if c.maximum is not None:
            prop["maximum"] = c.maximum
        props[c.name] = prop
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": title,
        "type": "object",
        "properties": props,
        "required": feature_names(),
        "additionalProperties": False,
    }
