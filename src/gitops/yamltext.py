"""Reading YAML: one loader for params.yaml, dvc.yaml, dvc.lock, contracts and workflows.

PyYAML's pure-Python parser takes ten times as long as libyaml's: about 20 ms for this
project's dvc.lock against 2 ms. A report, a stage or a release check reads these files
dozens of times, so every reader goes through `load`, which uses libyaml's safe loader
where PyYAML was built with it and the pure-Python one, same results, where it was not.
Errors are `yaml.YAMLError` either way, with the line and column of the problem.
"""

from __future__ import annotations

from typing import Any

import yaml

_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(text: str | bytes) -> Any:
    """The document in `text`, parsed as `yaml.safe_load` does (safe tags only)."""
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 (a safe loader)
