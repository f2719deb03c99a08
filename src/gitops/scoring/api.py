"""The HTTP API: records in JSON, probabilities and risk bands out.

A request is checked against the model's input schema, the JSON Schema exported from the
data contract (`models/input_schema.json`, shipped in the wheel): the API accepts exactly
what that document says, with JSON Schema's semantics, and its OpenAPI description refers
to the same document. The contract's rule hooks then run on the typed records, as in batch
scoring. Bad input of any kind is answered 413 or 422 naming the field, never with a
server error.

Validation is compiled once (fastjsonschema); a request that fails is checked again field
by field, so the 422 lists every problem, not only the first.
"""

from __future__ import annotations

import datetime
import logging
import math
from dataclasses import dataclass
from typing import Any, Literal

import fastjsonschema
import numpy as np
import pandas as pd
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from numpy.typing import NDArray
from pydantic import BaseModel, Field, create_model
from pydantic.json_schema import models_json_schema
from pydantic_core import from_json, to_json

from gitops.contract.parse import parse_column
from gitops.contract.spec import Contract
from gitops.scoring import access
from gitops.scoring.bundle import Bands, Bundle
from gitops.settings import ServingSettings

log = logging.getLogger("gitops.scoring.api")
REF = "#/components/schemas/{model}"
RECORD, BATCH = "Record", "Batch"
#: Batches up to this size are scored on the event loop: cheaper than a hop to a thread.
INLINE_RECORDS = 64
_TYPE_WORDS = {"integer": "a whole number", "number": "a number", "string": "text",
               "boolean": "true or false", "null": "null", "object": "a JSON object"}  # fmt: skip


@dataclass(frozen=True)
class Limits:
    max_request_bytes: int
    max_records: int

    @classmethod
    def from_settings(cls, serving: ServingSettings) -> Limits:
        return cls(serving.max_request_bytes, serving.max_records)


class Problem(BaseModel):
    """One reason a request was refused: where (`loc`), what (`msg`), which rule (`type`)."""

    loc: list[str | int]
    msg: str
    type: str


class Invalid(BaseModel):
    detail: list[Problem]


class TooLarge(BaseModel):
    detail: str


class Unauthorized(BaseModel):
    detail: str


class BadRequestError(Exception):
    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__(problems)
        self.problems = problems


class TooLargeError(Exception):
    pass


class RecordChecker:
    """The input schema, compiled: whole records first, field by field to explain a failure."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self.properties: dict[str, Any] = dict(schema.get("properties") or {})
        self.required: list[str] = list(schema.get("required") or [])
        self.closed = schema.get("additionalProperties") is False
        # The contract's rules the schema states (`allOf`) are left to their hooks, which
        # answer them naming the rule's fields and are memoized: as JSON Schema (`anyOf`
        # tried branch by branch) they would triple the cost of every record. A test holds
        # the two forms of each rule to the same verdicts.
        self.whole = fastjsonschema.compile({k: v for k, v in schema.items() if k != "allOf"})
        self.fields = {name: fastjsonschema.compile(sub) for name, sub in self.properties.items()}

    def problems(self, record: Any, loc: list[Any]) -> list[dict[str, Any]]:
        """Every way `record` breaks the schema; empty when it is valid."""
        try:
            self.whole(record)
            return []
        except fastjsonschema.JsonSchemaValueException:
            pass
        if not isinstance(record, dict):
            return [_problem(loc, "record: must be a JSON object", "object_type")]
        out = [
            _problem([*loc, name], f"{name}: is required", "missing")
            for name in self.required
            if name not in record
        ]
        if self.closed:
            out += [
                _problem(
                    [*loc, str(key)], f"{key}: is not a field of the record", "extra_forbidden"
                )
                for key in record
                if key not in self.properties
            ]
        for name, check in self.fields.items():
            if name in record:
                try:
                    check(record[name])
                except fastjsonschema.JsonSchemaValueException as exc:
                    out.append(_field_problem([*loc, name], name, exc))
        return out or [_problem(loc, "record: does not match the input schema", "schema")]


def _field_problem(loc: list[Any], name: str, exc: Any) -> dict[str, Any]:
    rule, definition = str(exc.rule), exc.rule_definition
    if rule == "type":
        kinds = definition if isinstance(definition, list) else [definition]
        text = "must be " + " or ".join(_TYPE_WORDS.get(k, k) for k in kinds)
    elif rule == "enum":
        text = "must be one of " + ", ".join("null" if v is None else str(v) for v in definition)
    elif rule in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        sign = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}
        text = f"must be {sign[rule]} {definition:g}"
    elif rule == "maxLength":
        text = f"must be at most {definition} characters long"
    elif rule == "minLength":
        text = f"must be at least {definition} characters long"
    elif rule == "format":
        text = (
            f"must be a {definition} (YYYY-MM-DD)"
            if definition == "date"
            else f"must be a {definition}"
        )
    elif rule == "pattern":
        text = f"must match {definition}"
    else:
        text = "does not match the input schema"
    return _problem(loc, f"{name}: {text}", rule)


def _problem(loc: list[Any], msg: str, kind: str) -> dict[str, Any]:
    return {"loc": ["body", *loc], "msg": msg, "type": kind}


def example_record(contract: Contract, schema: dict[str, Any]) -> dict[str, Any]:
    """A record the input schema and the rules accept, for the OpenAPI document.

    A field's `example` in the contract is taken as it is; otherwise the first allowed
    value, the lower bound of a range, or a short text. Tests send it to a real server.
    """
    out: dict[str, Any] = {}
    for name, prop in (schema.get("properties") or {}).items():
        field = contract.field(name)
        if field.example is not None:
            out[name] = field.example
        elif "enum" in prop:
            out[name] = next(v for v in prop["enum"] if v is not None)
        elif field.type in ("integer", "number"):
            low = prop.get("minimum", prop.get("exclusiveMinimum", 0))
            value = max(low, min(0, prop.get("maximum", 0)))
            if "exclusiveMinimum" in prop and value <= prop["exclusiveMinimum"]:
                value = prop["exclusiveMinimum"] + 1
            out[name] = int(value) if field.type == "integer" else float(value)
        elif field.type == "boolean":
            out[name] = False
        elif field.type == "date":
            fmt = "%Y-%m-%d" if field.format in ("default", "any") else field.format
            out[name] = datetime.date(2024, 1, 31).strftime(fmt)
        else:
            text = "C-0001"
            out[name] = text[: prop.get("maxLength", len(text))].ljust(
                prop.get("minLength", 0), "0"
            )
    return {k: v for k, v in out.items() if v is not None}


def _id(value: Any) -> Any:
    """The id as sent; an integral float (valid for an integer in JSON Schema) as its integer."""
    return int(value) if isinstance(value, float) else value


def _number(value: Any) -> float:
    if value is None:
        return math.nan
    try:
        return float(value)
    except OverflowError:  # a JSON integer beyond any float: not a finite number
        return math.inf if value > 0 else -math.inf


def _numbers(values: list[Any]) -> NDArray[np.float64]:
    try:  # the common case in one C loop: numbers, booleans and nulls only
        return np.array([math.nan if v is None else v for v in values], dtype=np.float64)
    except (OverflowError, TypeError, ValueError):
        return np.asarray([_number(v) for v in values], dtype=np.float64)


@dataclass
class Columns:
    """Schema-valid records as one typed array per field, and what was actually sent."""

    arrays: dict[str, NDArray[Any]]
    sent: set[str]
    rows: int


def records_columns(records: list[dict[str, Any]], contract: Contract, loc: list[Any]) -> Columns:
    """Typed columns from schema-valid JSON; a 422 names a value the schema let through.

    The schema already fixed every value's type, range and allowed values, so values are
    taken as they are (numbers as floats, whole ones as int64, booleans as 1/0, blanks and
    fields left out as NaN); only dates, which travel as text, are parsed.
    """
    arrays: dict[str, NDArray[Any]] = {}
    names = [n for n in contract.input_names if n != contract.id]
    sent = {n for n in names if any(n in r for r in records)}
    problems: list[dict[str, Any]] = []
    rows = len(records)
    fields = [contract.field(n) for n in names]
    numeric = [f for f in fields if f.type in ("integer", "number", "boolean")]
    if numeric:  # every number of the request in one array: a few numpy calls in all
        matrix = _numbers([r.get(f.name) for r in records for f in numeric])
        matrix = matrix.reshape(rows, len(numeric))
        for i, j in zip(*np.nonzero(np.isinf(matrix)), strict=True):
            name = numeric[j].name
            problems.append(
                _problem([*where(loc, i), name], f"{name}: must be a finite number", "value")
            )
        blank = np.isnan(matrix).any(axis=0)
        for j, field in enumerate(numeric):
            column = matrix[:, j]
            whole = field.type != "number" and not blank[j] and not problems
            arrays[field.name] = column.astype(np.int64) if whole else column
    for field in fields:
        name = field.name
        if field.type == "date":
            values = [r.get(name) for r in records]
            parsed, failures = parse_column(pd.Series(values, dtype=object), field)
            problems += [
                _problem([*where(loc, i), name], f"{name}: {rule}", "value")
                for _, rule, i, _ in failures
            ]
            arrays[name] = parsed.to_numpy()
        elif field.type not in ("integer", "number", "boolean"):
            arrays[name] = np.asarray([r.get(name) for r in records], dtype=object)
    if problems:
        raise BadRequestError(problems)
    return Columns(arrays, sent, rows)


class RuleChecks:
    """The contract's rule hooks, remembered per combination of the values they read.

    A hook is a row-wise function of its fields (src/churn/rules.py), so its verdict on a
    combination of values holds for every record with those values. Serving sees the same
    few combinations over and over; asking pandas once per combination instead of once per
    request takes the rules off the request's cost. The memory is bounded.
    """

    LIMIT = 4096

    def __init__(self, contract: Contract) -> None:
        self.rules = contract.rules
        self.memo: list[dict[tuple[Any, ...], bool]] = [{} for _ in self.rules]

    def problems(self, columns: Columns, loc: list[Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        where = (lambda i: [*loc, int(i)]) if loc else (lambda i: [])
        for rule, memo in zip(self.rules, self.memo, strict=True):
            if any(f not in columns.sent for f in rule.fields):
                continue  # a field that was not sent: the rule is skipped, as in batch
            arrays = [columns.arrays[f] for f in rule.fields]
            if not all(a.dtype.kind in "biuf" for a in arrays):  # text, dates: no memo
                frame = pd.DataFrame(dict(zip(rule.fields, arrays, strict=True)))
                flags = rule.offending(frame).to_numpy().tolist()
            else:
                flags = self._memoized(rule, memo, arrays)
            named = ", ".join(rule.fields)
            out += [
                _problem(
                    [*where(i), rule.fields[0]], f"{named}: {rule.message}", f"rule:{rule.name}"
                )
                for i, flag in enumerate(flags)
                if flag
            ]
        return out

    def _memoized(
        self, rule: Any, memo: dict[tuple[Any, ...], bool], arrays: list[NDArray[Any]]
    ) -> list[bool]:
        keys = list(zip(*(a.tolist() for a in arrays), strict=True))
        # Looked up with `get`, never `memo[k]`: a batch scored in the thread pool may clear
        # the memory between a check and a read.
        flags = [memo.get(k) for k in keys]
        unknown = list(dict.fromkeys(k for k, f in zip(keys, flags, strict=True) if f is None))
        if not unknown:
            return [bool(f) for f in flags]
        frame = pd.DataFrame(
            {
                f: np.asarray([k[j] for k in unknown], dtype=a.dtype)
                for j, (f, a) in enumerate(zip(rule.fields, arrays, strict=True))
            }
        )
        found = dict(zip(unknown, rule.offending(frame).to_numpy().tolist(), strict=True))
        if len(memo) + len(found) > self.LIMIT:
            memo.clear()
        memo.update(found)
        return [found[k] if f is None else bool(f) for k, f in zip(keys, flags, strict=True)]


def records_frame(
    records: list[dict[str, Any]], contract: Contract, loc: list[Any]
) -> pd.DataFrame:
    """Typed records from schema-valid JSON, the contract's rule hooks checked.

    What a model without a compiled path scores; fields that were not sent are left out,
    as in a CSV without that column. A 422 names the field otherwise.
    """
    columns = records_columns(records, contract, loc)
    frame = pd.DataFrame(
        {n: a for n, a in columns.arrays.items() if n in columns.sent},
        index=pd.RangeIndex(len(records)),
    )
    problems: list[dict[str, Any]] = []
    for rule in contract.rules:
        for i in frame.index[rule.offending(frame).to_numpy()]:
            named = ", ".join(rule.fields)
            problems.append(
                _problem(
                    [*where(loc, i), rule.fields[0]],
                    f"{named}: {rule.message}",
                    f"rule:{rule.name}",
                )
            )
    if problems:
        raise BadRequestError(problems)
    return frame


def where(loc: list[Any], i: Any) -> list[Any]:
    """Where record `i` sits in the request: nowhere for a single record."""
    return [*loc, int(i)] if loc else []


def response_model(serving: ServingSettings, bands: Bands, id_column: str) -> type[BaseModel]:
    prediction = create_model(  # type: ignore[call-overload]
        "Prediction",
        **{
            id_column: (str | int | None, Field(None, description="As sent, when sent.")),
            serving.score_column: (float, Field(..., ge=0, le=1)),
            serving.band_column: (Literal[bands.names], Field(..., description="Risk band.")),  # type: ignore[valid-type]
        },
    )
    return create_model(  # type: ignore[call-overload, no-any-return]
        "PredictResponse",
        model_version=(str, ...),
        predictions=(list[prediction], ...),  # type: ignore[valid-type]
    )


def batch_schema(max_records: int) -> dict[str, Any]:
    return {
        "title": BATCH,
        "description": "Several records scored in one request; predictions keep their order.",
        "type": "object",
        "properties": {
            "records": {
                "type": "array",
                "items": {"$ref": REF.format(model=RECORD)},
                "minItems": 1,
                "maxItems": max_records,
            }
        },
        "required": ["records"],
        "additionalProperties": False,
    }


def create_app(
    contract: Contract,
    input_schema: dict[str, Any],
    serving: ServingSettings,
    bands: Bands,
    limits: Limits,
    *,
    version: str,
    title: str,
    description: str,
    bundle: Bundle | None = None,
    info: dict[str, Any] | None = None,
    auth: bool = False,
) -> FastAPI:
    """The API for `bundle`; without one it only documents itself (OpenAPI export).

    `auth` documents the bearer tokens the access guard (`gitops.scoring.access`) checks:
    the document then says which operations answer 401 without one.
    """
    id_column = contract.id or "id"
    checker = RecordChecker(input_schema)
    response = response_model(serving, bands, id_column)
    decimals = serving.probability_decimals
    score_column, band_column = serving.score_column, serving.band_column
    app = FastAPI(
        title=title,
        version=version,
        description=(
            f"{description} Send one record or up to {limits.max_records} as "
            f'{{"records": [...]}} (at most {limits.max_request_bytes} bytes).'
        ).strip(),
    )

    @app.exception_handler(BadRequestError)
    async def _invalid(_: Request, exc: BadRequestError) -> JSONResponse:
        return JSONResponse({"detail": exc.problems}, status_code=422)

    @app.exception_handler(TooLargeError)
    async def _too_large(_: Request, exc: TooLargeError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=413)

    @app.get("/health", summary="Liveness and the model version")
    def health() -> dict[str, str]:
        return {"status": "ok" if bundle else "no model", "model_version": version}

    @app.get("/model", summary="Version, hashes, metrics and gates of the served model")
    def model_info() -> dict[str, Any]:
        return info or {}

    scorer = bundle.scorer if bundle is not None else None
    rules = RuleChecks(contract)
    example = example_record(contract, input_schema)

    def score(records: list[dict[str, Any]], loc: list[Any]) -> NDArray[np.float64]:
        """Probabilities for schema-valid records: arrays into compiled trees when possible."""
        assert bundle is not None
        assert scorer is not None
        if not scorer.fast:
            return bundle.predict(records_frame(records, contract, loc))
        columns = records_columns(records, contract, loc)
        problems = rules.problems(columns, loc)
        if problems:
            raise BadRequestError(problems)
        return scorer.proba_arrays(columns.arrays, columns.rows)

    @app.post(
        "/predict",
        summary="Probability and risk band for one record or many",
        response_model=response,
        responses={413: {"model": TooLarge}, 422: {"model": Invalid}},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "oneOf": [
                                {"$ref": REF.format(model=RECORD)},
                                {"$ref": REF.format(model=BATCH)},
                            ]
                        },
                        "examples": {
                            "one record": {"value": example},
                            "a batch": {"value": {"records": [example, example]}},
                        },
                    }
                },
            }
        },
    )
    async def predict(request: Request) -> Any:
        body = await _read_body(request, limits.max_request_bytes)
        records, loc = _records(body, limits.max_records)
        problems = [p for i, r in enumerate(records) for p in checker.problems(r, where(loc, i))]
        if problems:
            raise BadRequestError(problems)
        if bundle is None:
            records_frame(records, contract, loc)  # the same answers as a served model
            return JSONResponse({"detail": "no model loaded"}, status_code=503)
        if len(records) <= INLINE_RECORDS and (scorer is not None and scorer.fast):
            probability = score(records, loc)  # well under a millisecond: no thread hop
        else:
            probability = await run_in_threadpool(score, records, loc)
        labels = bands.assign(probability).tolist()
        scores = probability.round(decimals).tolist()
        predictions = [
            {id_column: _id(r.get(id_column)), score_column: p, band_column: b}
            for r, p, b in zip(records, scores, labels, strict=True)
        ]
        return Response(
            to_json({"model_version": version, "predictions": predictions}),
            media_type="application/json",
        )

    app.openapi = lambda: _openapi(app, input_schema, limits.max_records, auth=auth)  # type: ignore[method-assign]
    return app


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLargeError(f"request body is {declared} bytes; the limit is {limit}")
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > limit:
            raise TooLargeError(f"request body exceeds the limit of {limit} bytes")
    return bytes(body)


def _records(body: bytes, max_records: int) -> tuple[list[Any], list[Any]]:
    """The records of a request and where they sit (`["records"]` for a batch)."""
    if not body.strip():
        raise BadRequestError([_problem([], "empty body: expected a JSON object", "missing")])
    try:
        data = from_json(body, allow_inf_nan=False)
    except ValueError as exc:
        raise BadRequestError([_problem([], f"malformed JSON: {exc}", "json_invalid")]) from None
    if not isinstance(data, dict):
        raise BadRequestError(
            [
                _problem(
                    [], 'expected a JSON object: one record or {"records": [...]}', "object_type"
                )
            ]
        )
    if "records" not in data:
        return [data], []
    records, extra = data["records"], sorted(set(data) - {"records"})
    if extra:
        raise BadRequestError(
            [_problem([k], f"{k}: a batch holds only 'records'", "extra_forbidden") for k in extra]
        )
    if not isinstance(records, list) or not 1 <= len(records) <= max_records:
        raise BadRequestError(
            [
                _problem(
                    ["records"], f"records: must be a list of 1 to {max_records} records", "records"
                )
            ]
        )
    return records, ["records"]


def _openapi(
    app: FastAPI, input_schema: dict[str, Any], max_records: int, *, auth: bool = False
) -> dict[str, Any]:
    """FastAPI's document plus the input schema, the batch, and the tokens when required."""
    if app.openapi_schema is None:
        spec = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        _, defs = models_json_schema([(Invalid, "validation")], ref_template=REF)
        record = {k: v for k, v in input_schema.items() if k != "$schema"}
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas.update(defs["$defs"])
        schemas.update({RECORD: record, BATCH: batch_schema(max_records)})
        if auth:
            _document_tokens(spec)
        app.openapi_schema = spec
    return app.openapi_schema


def _document_tokens(spec: dict[str, Any]) -> None:
    _, defs = models_json_schema([(Unauthorized, "validation")], ref_template=REF)
    spec["components"]["schemas"].update(defs["$defs"])
    spec["components"]["securitySchemes"] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "One of the tokens the server was started with "
            f"({access.TOKENS_FILE_ENV} or {access.TOKENS_ENV}).",
        }
    }
    for path, operations in spec["paths"].items():
        if path in access.OPEN_PATHS:
            continue
        for operation in operations.values():
            operation["security"] = [{"bearer": []}]
            operation.setdefault("responses", {})["401"] = {
                "description": "Missing or invalid bearer token",
                "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
                "content": {
                    "application/json": {"schema": {"$ref": REF.format(model="Unauthorized")}}
                },
            }
