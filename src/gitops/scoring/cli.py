"""The model's command: score a CSV export, serve the HTTP API, describe the model.

Installed from the wheel (as `churn` in the example: params.yaml package.scripts names it),
every command uses the packaged, hash-checked model. In a checkout of the project,
`--model models/model.skops` scores with a development model and takes the contract and
the serving settings from params.yaml (`--params`), loaded once here.

Only the standard library and the token rules load before the arguments and, for `serve`,
the access tokens are known good: scikit-learn, pandas and the model take seconds to load,
and a server misconfigured by its operator should say so at once, not after that.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitops.scoring import access

if TYPE_CHECKING:
    from gitops.scoring import api, bundle
    from gitops.settings import Settings

#: A subcommand: the parsed arguments, the loaded model bundle, the program's name -> exit code.
Command = Callable[[argparse.Namespace, "bundle.Bundle", str], int]


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _prog() -> str:
    """The command's name as installed (`churn`), or how it was run from a checkout."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return name if name and not name.endswith(".py") else "python -m gitops.scoring.cli"


def _parser(prog: str) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--model", help="model file (development; default: the packaged model)")
    common.add_argument("--manifest", help="manifest to verify --model against")
    common.add_argument("--params", default="params.yaml", help="settings for --model alone")
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    predict = sub.add_parser("predict", parents=[common], help="score a CSV file")
    predict.add_argument("--input", required=True, help="CSV of records (published headers ok)")
    predict.add_argument("--output", required=True, help="CSV written: id, probability, band")
    predict.add_argument("--id-column", help="id column (default: the contract's roles.id)")
    predict.add_argument("--chunk-rows", type=int, help="rows per chunk (bounds memory)")
    predict.add_argument("--threads", type=int, default=_cores(), help="scoring threads")

    serve = sub.add_parser("serve", parents=[common], help="serve the HTTP JSON API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--max-request-bytes", type=int, help="largest request body accepted")
    serve.add_argument("--max-records", type=int, help="most records in one request")
    serve.add_argument("--no-access-log", action="store_true", help="log errors only")
    serve.add_argument(
        "--workers", type=int, default=1, help="processes serving requests (one per core)"
    )

    info = sub.add_parser("info", parents=[common], help="version, hashes, metrics and gates")
    info.add_argument("--json", action="store_true", help="print JSON")

    openapi = sub.add_parser("openapi", parents=[common], help="write the OpenAPI document")
    openapi.add_argument("--output", required=True)
    openapi.add_argument("--version", default=None, help="version shown (default: the model's)")
    return parser


def main(argv: list[str] | None = None) -> int:
    prog = _prog()
    args = _parser(prog).parse_args(argv)
    try:
        return _run(args, prog)
    except BrokenPipeError:
        # The reader went away (`... info | head`): nothing left to say, and nothing to trace.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _run(args: argparse.Namespace, prog: str) -> int:
    commands: dict[str, Command] = {"predict": _predict, "info": _info, "openapi": _openapi}
    if args.command == "serve":
        try:
            tokens = access.load_tokens()
        except access.TokenConfigError as exc:
            print(f"{prog} serve: {exc}; not starting", file=sys.stderr)
            return 1
        commands["serve"] = partial(_serve, tokens=tokens)
    from gitops.contract import load as contract_load
    from gitops.contract.validate import DataValidationError
    from gitops.scoring import bundle
    from gitops.scoring.persist import ModelFileError
    from gitops.settings import Settings, SettingsError

    try:
        settings = Settings.load(args.params) if args.model or args.command == "openapi" else None
        if args.command == "openapi" and args.model is None and args.version is not None:
            assert settings is not None
            return _openapi_from_settings(args, settings, prog)
        loaded = bundle.load(
            args.model,
            manifest_path=args.manifest,
            settings=settings,
            threads=getattr(args, "threads", 1),
        )
        code = commands[args.command](args, loaded, prog)
        sys.stdout.flush()
        return code
    except (ModelFileError, bundle.BundleError, SettingsError, contract_load.ContractError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    except DataValidationError as exc:
        print(f"{prog} {args.command}: {exc}", file=sys.stderr)
        print(f"{prog} {args.command}: nothing was written.", file=sys.stderr)
        return 1


def _predict(args: argparse.Namespace, loaded: bundle.Bundle, prog: str) -> int:
    from gitops.scoring import batch

    start = time.perf_counter()
    result = batch.score_csv(
        loaded,
        args.input,
        args.output,
        id_column=args.id_column,
        require_id=args.id_column is not None,
        chunk_rows=args.chunk_rows or loaded.serving.chunk_rows,
    )
    seconds = time.perf_counter() - start
    print(
        f"{prog} predict: {result.rows} rows scored into {args.output} "
        f"(id column '{result.id_column}', model {loaded.version}) in {seconds:.1f} s",
        file=sys.stderr,
    )
    return 0


def _app(loaded: bundle.Bundle, limits: api.Limits, version: str, *, auth: bool = False) -> Any:
    from gitops.scoring import api, bundle

    manifest = loaded.manifest
    return api.create_app(
        loaded.contract,
        loaded.input_schema,
        loaded.serving,
        loaded.bands,
        limits,
        version=version,
        title=str(manifest.get("title") or manifest.get("name") or "Model") + " API",
        description=str(manifest.get("summary") or ""),
        bundle=loaded,
        info=bundle.describe(loaded),
        auth=auth,
    )


def _serve(
    args: argparse.Namespace, loaded: bundle.Bundle, prog: str, *, tokens: access.Tokens
) -> int:
    from gitops.scoring import api, server

    limits = api.Limits(
        args.max_request_bytes or loaded.serving.max_request_bytes,
        args.max_records or loaded.serving.max_records,
    )
    if tokens.enabled:
        print(
            f"{prog} serve: bearer tokens required ({len(tokens.values)} from {tokens.source}); "
            f"{', '.join(sorted(access.OPEN_PATHS))} open",
            file=sys.stderr,
        )
    else:
        print(
            f"{prog} serve: access control is off (set {access.TOKENS_FILE_ENV} or "
            f"{access.TOKENS_ENV} to require bearer tokens)",
            file=sys.stderr,
        )
    app = _app(loaded, limits, loaded.version, auth=tokens.enabled)
    app = access.guard(app, tokens, access_log=not args.no_access_log)
    return server.run(app, host=args.host, port=args.port, workers=max(1, args.workers))


def _info(args: argparse.Namespace, loaded: bundle.Bundle, prog: str) -> int:
    from gitops.scoring import bundle

    described = bundle.describe(loaded)
    print(json.dumps(described, indent=2) if args.json else _info_text(described, prog))
    return 0


def _info_text(d: dict[str, Any], prog: str) -> str:
    git = d["git"]
    lines = [
        f"{d['name'] or prog} {d['version']}",
        f"  model sha256          {d['model_sha256']}",
        f"  training data sha256  {d['training_data_sha256'] or 'unknown'}",
        f"  commit                {git.get('commit', 'unknown')}"
        + (" (uncommitted changes)" if git.get("dirty") else ""),
        f"  scores                P({d['label']['field']} = {d['label']['positive']})",
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


def _write_openapi(app: Any, output: str, prog: str) -> int:
    from gitops.files import write_json

    write_json(output, app.openapi())
    print(f"{prog} openapi: wrote {output}", file=sys.stderr)
    return 0


def _openapi(args: argparse.Namespace, loaded: bundle.Bundle, prog: str) -> int:
    from gitops.scoring import api

    limits = api.Limits.from_settings(loaded.serving)
    app = _app(loaded, limits, args.version or loaded.version, auth=True)
    return _write_openapi(app, args.output, prog)


def settings_app(settings: Settings, version: str) -> Any:
    """The API from params.yaml and the contract alone, no model: what `make openapi` writes."""
    from gitops.contract import load as contract_load
    from gitops.contract.json_schema import record_schema
    from gitops.scoring import api, bundle

    contract = contract_load.load(settings.data.contract)
    names = bundle.names(settings)
    return api.create_app(
        contract,
        record_schema(contract),
        settings.serving,
        bundle.Bands.from_settings(settings.serving, settings.metrics.threshold),
        api.Limits.from_settings(settings.serving),
        version=version,
        title=f"{names['title']} API",
        description=names["summary"],
        auth=True,  # the document a production deployment serves: tokens required
    )


def _openapi_from_settings(args: argparse.Namespace, settings: Settings, prog: str) -> int:
    return _write_openapi(settings_app(settings, args.version), args.output, prog)


if __name__ == "__main__":
    sys.exit(main())
