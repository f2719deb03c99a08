"""The data contract's vocabulary: fields, their constraints, the roles and the rule hooks.

The contract file is Frictionless Table Schema (https://datapackage.org/standard/table-schema/)
so forks write it in a documented, recognised format that frictionless tooling reads too.
Table Schema describes a table; a model also needs to know what the table means, so a few
extension keys say that: `unit` and `skewed` on fields, and at the top `roles` (id, label
and its positive class, value, info columns) and `rules` (cross-field checks, which stay
code in the model package). docs/contract.md documents every key.

These models are the parsed file: camelCase keys as the standard spells them, unknown keys
refused. Everything derived (checks, JSON Schema, preprocessing, bins) reads them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cached_property
from typing import Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

FieldType = Literal["string", "integer", "number", "boolean", "date"]
#: How the default preprocessing and monitoring treat a field (derived from its type).
Kind = Literal["numeric", "ordinal", "categorical", "boolean", "date", "text"]
#: Table Schema's default tokens for a boolean field.
TRUE_VALUES = ("true", "True", "TRUE", "1")
FALSE_VALUES = ("false", "False", "FALSE", "0")
Hook = Callable[[pd.DataFrame], pd.Series]


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, arbitrary_types_allowed=True
    )


class Category(_Model):
    value: str | int | float | bool
    label: str | None = None


class Constraints(_Model):
    """Table Schema constraints; `required` means a blank is not allowed."""

    required: bool = False
    minimum: float | int | str | None = None
    maximum: float | int | str | None = None
    exclusive_minimum: float | int | str | None = Field(None, alias="exclusiveMinimum")
    exclusive_maximum: float | int | str | None = Field(None, alias="exclusiveMaximum")
    min_length: int | None = Field(None, alias="minLength", ge=0)
    max_length: int | None = Field(None, alias="maxLength", ge=0)
    pattern: str | None = None
    enum: tuple[str | int | float | bool, ...] | None = None


class FieldSpec(_Model):
    """One column. `name` is the code name used downstream; `title` the published header."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    type: FieldType
    title: str | None = None
    description: str = ""
    unit: str = ""
    format: str = "default"
    constraints: Constraints = Constraints()
    categories: tuple[Category, ...] | None = None
    categories_ordered: bool = Field(False, alias="categoriesOrdered")
    true_values: tuple[str, ...] = Field(TRUE_VALUES, alias="trueValues")
    false_values: tuple[str, ...] = Field(FALSE_VALUES, alias="falseValues")
    missing_values: tuple[str, ...] | None = Field(None, alias="missingValues")
    skewed: bool = False
    example: Any = None

    @model_validator(mode="before")
    @classmethod
    def _plain_categories(cls, data: Any) -> Any:
        """`categories: [1, 2]` is short for `[{value: 1}, {value: 2}]`."""
        if isinstance(data, dict) and isinstance(data.get("categories"), list):
            data = dict(data)
            data["categories"] = [
                c if isinstance(c, dict) else {"value": c} for c in data["categories"]
            ]
        return data

    @property
    def header(self) -> str:
        return self.title or self.name

    @property
    def required(self) -> bool:
        return self.constraints.required

    @property
    def allowed(self) -> tuple[Any, ...] | None:
        """The values a field may take when they are listed (categories, enum, booleans)."""
        if self.categories is not None:
            return tuple(c.value for c in self.categories)
        if self.constraints.enum is not None:
            return tuple(self.constraints.enum)
        if self.type == "boolean":
            return (0, 1)
        return None

    @property
    def labels(self) -> dict[Any, str]:
        return {c.value: c.label for c in self.categories or () if c.label}

    @property
    def kind(self) -> Kind:
        if self.type == "date":
            return "date"
        if self.type == "boolean":
            return "boolean"
        if self.categories is not None:
            return "ordinal" if self.categories_ordered else "categorical"
        if self.type == "string":
            return "text"
        return "numeric"

    def rule(self) -> str:
        """The constraint in words, as error messages and the data card state it."""
        if self.type == "boolean":
            return "one of " + ", ".join(self.true_values + self.false_values)
        if self.allowed is not None:
            return "one of " + ", ".join(_show(v) for v in self.allowed)
        c = self.constraints
        parts = [
            f"{op} {_show(v)}"
            for op, v in ((">=", c.minimum), (">", c.exclusive_minimum), ("<=", c.maximum),
                          ("<", c.exclusive_maximum))
            if v is not None
        ]  # fmt: skip
        if c.min_length is not None:
            parts.append(f"at least {c.min_length} characters")
        if c.max_length is not None:
            parts.append(f"at most {c.max_length} characters")
        if c.pattern is not None:
            parts.append(f"matching {c.pattern}")
        if not parts:
            return {"date": "a date", "string": "any text"}.get(self.type, "any number")
        return " and ".join(parts)


class RuleSpec(_Model):
    """A cross-field rule: a hook of the model package returning the offending rows."""

    name: str
    check: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
    fields: tuple[str, ...] = Field(min_length=1)
    message: str
    # The same rule in JSON Schema (optional): the API's published schema then states it,
    # so a client or a schema-driven test knows exactly which records are accepted.
    json_schema: dict[str, Any] | None = Field(None, alias="schema")
    hook: Hook | None = Field(None, exclude=True)

    def offending(self, frame: pd.DataFrame) -> pd.Series:
        """Rows of a typed frame that break the rule; none when a field is not sent."""
        if self.hook is None or any(f not in frame.columns for f in self.fields):
            return pd.Series(False, index=frame.index)
        found = self.hook(frame)
        if not isinstance(found, pd.Series) or len(found) != len(frame):
            raise TypeError(
                f"rule {self.name} ({self.check}) must return a boolean Series, one per row"
            )
        return found.fillna(False).astype(bool).reindex(frame.index, fill_value=False)


class Roles(_Model):
    """What the model does with the fields; every other field is a feature."""

    id: str | None = None
    label: str
    positive: str | int | float | bool
    value: str | None = None
    info: tuple[str, ...] = ()


class Contract(_Model):
    """A parsed contract file. `source` is where it was read from, for error messages."""

    schema_uri: str | None = Field(None, alias="$schema")
    name: str = "records"
    title: str = ""
    description: str = ""
    missing_values: tuple[str, ...] = Field(("",), alias="missingValues")
    fields: tuple[FieldSpec, ...] = Field(min_length=1)
    roles: Roles
    rules: tuple[RuleSpec, ...] = ()
    source: str = Field("contract", exclude=True)

    @cached_property
    def by_name(self) -> dict[str, FieldSpec]:
        return {f.name: f for f in self.fields}

    def field(self, name: str) -> FieldSpec:
        return self.by_name[name]

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def label(self) -> str:
        return self.roles.label

    @property
    def id(self) -> str | None:
        return self.roles.id

    @property
    def value(self) -> str | None:
        return self.roles.value

    @property
    def label_field(self) -> FieldSpec:
        return self.field(self.roles.label)

    @property
    def features(self) -> list[FieldSpec]:
        """Fields the model learns from: all but the id, the label and the info columns."""
        skip = {self.roles.label, *self.roles.info} | ({self.roles.id} if self.roles.id else set())
        return [f for f in self.fields if f.name not in skip]

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def input_names(self) -> list[str]:
        """What a caller sends to score a record: every field but the label."""
        return [f.name for f in self.fields if f.name != self.roles.label]

    def required_columns(self, *, with_label: bool) -> list[str]:
        """Columns a file must have: all but the id to train on, the features to score."""
        if with_label:
            return [f.name for f in self.fields if f.name != self.roles.id]
        return self.feature_names

    def missing_tokens(self, field: FieldSpec) -> tuple[str, ...]:
        return field.missing_values if field.missing_values is not None else self.missing_values

    def negatives(self) -> tuple[Any, ...]:
        """The label's values other than the positive class (encoded 0)."""
        allowed = self.label_field.allowed or ()
        return tuple(v for v in allowed if not _same(v, self.positive_code()))

    def positive_code(self) -> Any:
        """The positive class as the parsed label holds it (booleans parse to 1/0)."""
        if self.label_field.type == "boolean":
            return int(bool(self.roles.positive))
        return self.roles.positive

    def header_map(self, columns: Iterable[object]) -> dict[object, str]:
        """Published headers to code names; code names map to themselves.

        Whitespace runs are folded and case ignored, so a re-exported file with single
        spaces still matches.
        """
        folded: dict[str, str] = {}
        for f in self.fields:
            folded.setdefault(_fold(f.header), f.name)
            folded.setdefault(_fold(f.name), f.name)
        return {c: folded[_fold(str(c))] for c in columns if _fold(str(c)) in folded}


def _fold(text: str) -> str:
    return " ".join(text.split()).lower()


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    return str(value)


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b if isinstance(a, bool) or isinstance(b, bool) else a == b
