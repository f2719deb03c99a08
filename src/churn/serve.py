"""The HTTP API: customer records in JSON, churn probabilities and risk bands out.

Request models are generated from `churn.schema`, so the API accepts exactly the columns,
types and ranges the pipeline validates, and its OpenAPI document is the contract a CRM
team codes against. Bad input of any kind is answered 413 or 422 naming the field, never
with a server error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    model_validator,
)
from pydantic.json_schema import models_json_schema
from pydantic_core import from_json

from churn import schema
from churn.scoring import Bundle

log = logging.getLogger("churn.serve")
REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Limits:
    max_request_bytes: int
    max_records: int

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> Limits:
        return cls(int(settings["max_request_bytes"]), int(settings["max_records"]))


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


def _not_bool(value: Any) -> Any:
    """JSON true/false would pass as 1/0: a coded value must be sent as a number."""
    if isinstance(value, bool):
        raise ValueError("Input should be a number, not true or false")
    return value


def _field(col: schema.Column) -> tuple[Any, Any]:
    description = col.description + (f" Unit: {col.unit}." if col.unit else "")
    if col.allowed is not None:
        kind: Any = Annotated[Literal[col.allowed], BeforeValidator(_not_bool)]  # type: ignore[valid-type]
    elif col.dtype == "int":
        kind = Annotated[int, Field(strict=True, ge=col.minimum, le=col.maximum)]
    else:
        kind = Annotated[
            float, Field(strict=True, ge=col.minimum, le=col.maximum, allow_inf_nan=False)
        ]
    if col.role == "feature":
        return kind, Field(..., description=description)
    return kind | None, Field(None, description=description + " Optional; checked when sent.")


def _age_matches_group(record: Any) -> Any:
    age, group = getattr(record, "age", None), getattr(record, "age_group", None)
    expected = schema.AGE_OF_GROUP.get(group) if group is not None else None
    if age is not None and expected is not None and age != expected:
        raise ValueError(f"age {age} does not match age_group {group} (expects age {expected})")
    return record


def record_model(id_column: str) -> type[BaseModel]:
    """One customer record, generated from the schema; unknown fields are refused."""
    fields: dict[str, Any] = {
        id_column: (
            Annotated[str, Field(max_length=200)] | int | None,
            Field(None, description="Your customer id, returned with the prediction."),
        )
    }
    fields |= {col.name: _field(col) for col in schema.input_columns()}
    return create_model(  # type: ignore[call-overload, no-any-return]
        "CustomerRecord",
        __config__=ConfigDict(extra="forbid", title="CustomerRecord"),
        __doc__="A customer to score: the columns of the published export, code names.",
        __validators__={"age_matches_group": model_validator(mode="after")(_age_matches_group)},
        **fields,
    )


def batch_model(record: type[BaseModel], max_records: int) -> type[BaseModel]:
    return create_model(  # type: ignore[call-overload, no-any-return]
        "CustomerBatch",
        __config__=ConfigDict(extra="forbid"),
        __doc__="Several customers scored in one request; predictions keep their order.",
        records=(list[record], Field(..., min_length=1, max_length=max_records)),  # type: ignore[valid-type]
    )


def response_models(settings: dict[str, Any], id_column: str) -> type[BaseModel]:
    bands = tuple(settings["risk_bands"])
    prediction = create_model(  # type: ignore[call-overload]
        "Prediction",
        **{
            id_column: (str | int | None, Field(None, description="As sent, when sent.")),
            settings["score_column"]: (float, Field(..., ge=0, le=1)),
            settings["band_column"]: (Literal[bands], Field(..., description="Risk band.")),  # type: ignore[valid-type]
        },
    )
    return create_model(  # type: ignore[call-overload, no-any-return]
        "PredictResponse",
        model_version=(str, ...),
        predictions=(list[prediction], ...),  # type: ignore[valid-type]
    )


def create_app(
    settings: dict[str, Any],
    limits: Limits,
    *,
    version: str,
    bundle: Bundle | None = None,
    info: dict[str, Any] | None = None,
) -> FastAPI:
    """The API for `bundle`; without one it only documents itself (OpenAPI export)."""
    id_column = str(settings["id_column"])
    record = record_model(id_column)
    batch = batch_model(record, limits.max_records)
    response = response_models(settings, id_column)
    decimals = int(settings.get("probability_decimals", 6))
    app = FastAPI(
        title="Churn risk API",
        version=version,
        description=(
            "Scores telecom customers by churn risk, for ranking them for retention offers. "
            f'Send one record or up to {limits.max_records} as {{"records": [...]}} '
            f"(at most {limits.max_request_bytes} bytes)."
        ),
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
        summary="Churn probability and risk band for one customer or many",
        response_model=response,
        responses={413: {"model": TooLarge}, 422: {"model": Invalid}},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "oneOf": [
                                {"$ref": REF.format(model="CustomerRecord")},
                                {"$ref": REF.format(model="CustomerBatch")},
                            ]
                        }
                    }
                },
            }
        },
    )
    async def predict(request: Request) -> Any:
        body = await _read_body(request, limits.max_request_bytes)
        records = _parse(body, record, batch)
        if bundle is None:
            return JSONResponse({"detail": "no model loaded"}, status_code=503)
        frame = pd.DataFrame(
            {name: [getattr(r, name) for r in records] for name in schema.feature_names()}
        )
        probability = await run_in_threadpool(bundle.predict, frame)
        bands = bundle.bands.assign(probability)
        probability = probability.round(decimals)
        return {
            "model_version": version,
            "predictions": [
                {
                    id_column: getattr(r, id_column),
                    settings["score_column"]: float(p),
                    settings["band_column"]: str(b),
                }
                for r, p, b in zip(records, probability, bands, strict=True)
            ],
        }

    app.openapi = lambda: _openapi(app, [record, batch])  # type: ignore[method-assign]
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


def _parse(body: bytes, record: type[BaseModel], batch: type[BaseModel]) -> list[Any]:
    if not body.strip():
        raise BadRequestError([_problem(["body"], "empty body: expected a JSON object", "missing")])
    try:
        data = from_json(body, allow_inf_nan=False)
    except ValueError as exc:
        raise BadRequestError(
            [_problem(["body"], f"malformed JSON: {exc}", "json_invalid")]
        ) from None
    if not isinstance(data, dict):
        raise BadRequestError(
            [
                _problem(
                    ["body"],
                    'expected a JSON object: one record or {"records": [...]}',
                    "object_type",
                )
            ]
        )
    try:
        if "records" in data:
            return list(batch.model_validate(data).records)  # type: ignore[attr-defined]
        return [record.model_validate(data)]
    except ValidationError as exc:
        raise BadRequestError(
            [
                _problem(["body", *e["loc"]], _message(e), e["type"])
                for e in exc.errors(include_url=False, include_input=False)
            ]
        ) from None


def _message(error: Any) -> str:
    """Pydantic's message, prefixed with the field it is about."""
    field = next((str(x) for x in reversed(error["loc"]) if isinstance(x, str)), "record")
    return f"{field}: {error['msg']}"


def _problem(loc: list[Any], msg: str, kind: str) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": kind}


def _openapi(app: FastAPI, models: list[type[BaseModel]]) -> dict[str, Any]:
    """FastAPI's document plus the generated request models the body refers to."""
    if app.openapi_schema is None:
        spec = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        _, defs = models_json_schema([(m, "validation") for m in models], ref_template=REF)
        spec.setdefault("components", {}).setdefault("schemas", {}).update(defs["$defs"])
        app.openapi_schema = spec
    return app.openapi_schema
