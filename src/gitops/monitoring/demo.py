"""`make demo-batch`: write the demo batch, a batch with a seeded, known shift.

The shift itself is the model package's (params.yaml monitor.demo.scenario names it, with
its settings); this command reads and validates the source, hands the typed records (the
label as the source spells it) to the scenario and writes the text it returns under the
published headers, like a real export.
"""

from __future__ import annotations

import argparse
import sys

from gitops.contract import load, reading
from gitops.contract.validate import DataValidationError, as_source, check
from gitops.files import write_csv
from gitops.settings import Settings, SettingsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--output", help="default: params monitor.demo.output")
    args = parser.parse_args(argv)
    try:
        settings = Settings.load(args.params)
        demo = settings.monitor.demo if settings.monitor else None
        if demo is None:
            raise SettingsError(f"{args.params}: no monitor.demo section")
        contract = load.load(settings.data.contract)
        scenario = load.import_hook(demo.scenario, f"{args.params}: monitor.demo.scenario")
        typed = check(reading.read_csv(demo.source, contract), contract, demo.source)
        customers = as_source(typed, contract)  # the label as the source writes it
    except (SettingsError, load.ContractError, DataValidationError) as exc:
        print(f"demo-batch: {exc}", file=sys.stderr)
        return 2
    text = scenario(
        customers, rows=demo.rows, seed=demo.seed, broken_rows=demo.broken_rows, **demo.settings
    )
    output = args.output or demo.output
    headers = {f.name: f.header for f in contract.fields}
    write_csv(output, text.rename(columns=headers))
    print(f"demo-batch: wrote {len(text)} rows to {output} ({demo.broken_rows} broken)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
