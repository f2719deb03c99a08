"""`churn`: score a CSV export, serve the HTTP API, describe the model.

Installed from the wheel, every command uses the packaged, hash-checked model. In a
checkout of the project, `--model models/model.skops` scores with a development model.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from churn import batch, scoring, validation
from churn.persist import ModelFileError


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--model", help="model file (development; default: the packaged model)")
    common.add_argument("--manifest", help="manifest to verify --model against")
    common.add_argument("--params", default="params.yaml", help="settings for --model alone")
    parser = argparse.ArgumentParser(prog="churn", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    predict = sub.add_parser("predict", parents=[common], help="score a CSV file")
    predict.add_argument("--input", required=True, help="CSV of customers (published headers ok)")
    predict.add_argument("--output", required=True, help="CSV written: id, probability, band")
    predict.add_argument("--id-column", help="customer id column (default from the package)")
    predict.add_argument("--chunk-rows", type=int, help="rows per chunk (bounds memory)")
    predict.add_argument("--threads", type=int, default=_cores(), help="scoring threads")

    serve = sub.add_parser("serve", parents=[common], help="serve the HTTP JSON API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--max-request-bytes", type=int, help="largest request body accepted")
    serve.add_argument("--max-records", type=int, help="most records in one request")
    serve.add_argument("--no-access-log", action="store_true", help="log errors only")

    info = sub.add_parser("info", parents=[common], help="version, hashes, metrics and gates")
    info.add_argument("--json", action="store_true", help="print JSON")

    openapi = sub.add_parser("openapi", parents=[common], help="write the OpenAPI document")
    openapi.add_argument("--output", required=True)
    openapi.add_argument("--version", default=None, help="version shown (default: the model's)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "openapi" and args.model is None and args.version is not None:
            return _openapi(args, None)
        bundle = scoring.load(
            args.model,
            manifest_path=args.manifest,
            params_path=args.params,
            threads=getattr(args, "threads", 1),
        )
        return {"predict": _predict, "serve": _serve, "info": _info, "openapi": _openapi}[
            args.command
        ](args, bundle)
    except (ModelFileError, scoring.BundleError) as exc:
        print(f"churn: {exc}", file=sys.stderr)
        return 1
    except validation.DataValidationError as exc:
        print(f"churn {args.command}: {exc}", file=sys.stderr)
        print(f"churn {args.command}: nothing was written.", file=sys.stderr)
        return 1


def _predict(args: argparse.Namespace, bundle: scoring.Bundle) -> int:
    settings = bundle.settings
    start = time.perf_counter()
    result = batch.score_csv(
        bundle,
        args.input,
        args.output,
        id_column=args.id_column or settings["id_column"],
        require_id=args.id_column is not None,
        chunk_rows=args.chunk_rows or int(settings["chunk_rows"]),
    )
    seconds = time.perf_counter() - start
    print(
        f"churn predict: {result.rows} rows scored into {args.output} "
        f"(id column '{result.id_column}', model {bundle.version}) in {seconds:.1f} s",
        file=sys.stderr,
    )
    return 0


def _serve(args: argparse.Namespace, bundle: scoring.Bundle) -> int:
    import uvicorn

    from churn import serve

    settings = dict(bundle.settings)
    for key in ("max_request_bytes", "max_records"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    app = serve.create_app(
        settings,
        serve.Limits.from_settings(settings),
        version=bundle.version,
        bundle=bundle,
        info=scoring.describe(bundle),
    )
    uvicorn.run(
        app, host=args.host, port=args.port, access_log=not args.no_access_log, log_level="info"
    )
    return 0


def _info(args: argparse.Namespace, bundle: scoring.Bundle) -> int:
    described = scoring.describe(bundle)
    if args.json:
        print(json.dumps(described, indent=2))
        return 0
    print(_info_text(described))
    return 0


def _info_text(d: dict[str, Any]) -> str:
    git = d["git"]
    lines = [
        f"{d['name'] or 'churn model'} {d['version']}",
        f"  model sha256          {d['model_sha256']}",
        f"  training data sha256  {d['training_data_sha256'] or 'unknown'}",
        f"  commit                {git.get('commit', 'unknown')}"
        + (" (uncommitted changes)" if git.get("dirty") else ""),
        "  risk bands            "
        + ", ".join(f"{k} from {v:g}" for k, v in d["risk_bands"].items()),
        "  metrics (test set)",
        *(f"    {k:<22}{v:.4f}" for k, v in d["metrics"].items()),
        "  gates at release time",
        *(
            [f"    {json.dumps(d['gates'])}"]
            if d["gates"]
            else ["    none recorded (params.yaml had no 'gates' section)"]
        ),
    ]
    return "\n".join(lines)


def _openapi(args: argparse.Namespace, bundle: scoring.Bundle | None) -> int:
    from churn import io, serve

    if bundle is None:
        settings = io.section(io.load_params(args.params), "serving", args.params)
    else:
        settings = bundle.settings
    version = args.version or (bundle.version if bundle else "dev")
    app = serve.create_app(settings, serve.Limits.from_settings(settings), version=version)
    with io.atomic_open(Path(args.output)) as fh:
        json.dump(app.openapi(), fh, indent=2)
        fh.write("\n")
    print(f"churn openapi: wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
