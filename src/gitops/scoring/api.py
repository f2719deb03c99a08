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
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, create_model
from pydantic.json_schema import models_json_schema
from pydantic_core import from_json

from gitops.contract.parse import parse_column
from gitops.contract.spec import Contract
from gitops.scoring.bundle import Bands, Bundle
from gitops.settings import ServingSettings

log = logging.getLogger("gitops.scoring.api")
REF = "#/components/schemas/{model}"
RECORD, BATCH = "Record", "Batch"
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
        self.whole = fastjsonschema.compile(schema)
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


def records_frame(
    records: list[dict[str, Any]], contract: Contract, loc: list[Any]
) -> pd.DataFrame:
    """Typed records from schema-valid JSON, the contract's rule hooks checked.

    The schema already fixed every value's type, range and allowed values, so values are
    taken as they are (numbers as floats, whole ones as int64, booleans as 1/0); only dates,
    which travel as text, are parsed. A 422 names the field otherwise.
    """
    columns: dict[str, Any] = {}
    problems: list[dict[str, Any]] = []
    where = (lambda i: [*loc, int(i)]) if loc else (lambda i: [])
    for name in contract.input_names:
        if name == contract.id or not any(name in r for r in records):
            continue
        values = [r.get(name) for r in records]
        field = contract.field(name)
        if field.type in ("integer", "number", "boolean"):
            array = np.asarray([_number(v) for v in values], dtype=np.float64)
            for i in np.flatnonzero(np.isinf(array)):
                problems.append(
                    _problem([*where(i), name], f"{name}: must be a finite number", "value")
                )
            whole = field.type != "number" and not np.isnan(array).any()
            columns[name] = array.astype(np.int64) if whole and not problems else array
        elif field.type == "date":
            parsed, failures = parse_column(pd.Series(values, dtype=object), field)
            problems += [
                _problem([*where(i), name], f"{name}: {rule}", "value")
                for _, rule, i, _ in failures
            ]
            columns[name] = parsed.to_numpy()
        else:
            columns[name] = np.asarray(values, dtype=object)
    frame = pd.DataFrame(columns, index=pd.RangeIndex(len(records)))
    for rule in contract.rules:
        for i in frame.index[rule.offending(frame).to_numpy()]:
            named = ", ".join(rule.fields)
            problems.append(
                _problem(
                    [*where(i), rule.fields[0]], f"{named}: {rule.message}", f"rule:{rule.name}"
                )
            )
    if problems:
        raise BadRequestError(problems)
    return frame


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
) -> FastAPI:
    """The API for `bundle`; without one it only documents itself (OpenAPI export)."""
    id_column = contract.id or "id"
    checker = RecordChecker(input_schema)
    response = response_model(serving, bands, id_column)
    decimals = serving.probability_decimals
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
                        }
                    }
                },
            }
        },
    )
    async def predict(request: Request) -> Any:
        body = await _read_body(request, limits.max_request_bytes)
        records, loc = _records(body, limits.max_records)
        problems = [
            p for i, r in enumerate(records) for p in checker.problems(r, [*loc, i] if loc else [])
        ]
        if problems:
            raise BadRequestError(problems)
        frame = records_frame(records, contract, loc)
        if bundle is None:
            return JSONResponse({"detail": "no model loaded"}, status_code=503)
        probability = await run_in_threadpool(bundle.predict, frame)
        labels = bands.assign(probability)
        probability = probability.round(decimals)
        return {
            "model_version": version,
            "predictions": [
                {
                    id_column: _id(r.get(id_column)),
                    serving.score_column: float(p),
                    serving.band_column: str(b),
                }
                for r, p, b in zip(records, probability, labels, strict=True)
            ],
        }

    app.openapi = lambda: _openapi(app, input_schema, limits.max_records)  # type: ignore[method-assign]
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


def _openapi(app: FastAPI, input_schema: dict[str, Any], max_records: int) -> dict[str, Any]:
    """FastAPI's document plus the input schema and the batch the request body refers to."""
    if app.openapi_schema is None:
        spec = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        _, defs = models_json_schema([(Invalid, "validation")], ref_template=REF)
        record = {k: v for k, v in input_schema.items() if k != "$schema"}
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas.update(defs["$defs"])
        schemas.update({RECORD: record, BATCH: batch_schema(max_records)})
        app.openapi_schema = spec
    return app.openapi_schema
