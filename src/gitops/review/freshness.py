"""Are the committed results the ones the pipeline reproduces? (stale results check)

Reviewers read numbers that were committed on the branch; CI reproduces the pipeline
and reports on what it got. The two must agree. Stage commands, dependency hashes and
params are compared exactly; metrics numerically, because model binaries (and therefore
the md5 of cached outputs) may differ across CPUs while the numbers agree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gitops import dvclock
from gitops.review.diffs import flatten

FIX_COMMAND = "make run && git add dvc.lock models/ data/quality.json && git commit"


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def lock_differences(
    committed: Mapping[str, Any] | None, reproduced: Mapping[str, Any] | None
) -> list[str]:
    """What differs in stage commands, dependencies and params (outputs' hashes ignored)."""
    if reproduced is None:
        return ["the workspace has no dvc.lock: the pipeline was not reproduced (run `make run`)"]
    if committed is None:
        return ["dvc.lock is not committed on the branch"]
    old = dvclock.from_mapping(committed).stages if committed.get("stages") else {}
    new = dvclock.from_mapping(reproduced).stages if reproduced.get("stages") else {}
    out: list[str] = []
    for name in sorted(old.keys() - new.keys()):
        out.append(f"stage {name}: committed but not reproduced")
    for name in sorted(new.keys() - old.keys()):
        out.append(f"stage {name}: reproduced but not in the committed dvc.lock")
    for name in [n for n in new if n in old]:
        a, b = old[name], new[name]
        if a.cmd != b.cmd:
            out.append(f"stage {name}: command changed")
        da, db = {d.path: d.md5 for d in a.deps}, {d.path: d.md5 for d in b.deps}
        for path in sorted(da.keys() | db.keys()):
            if path not in db:
                out.append(f"stage {name}: dependency {path} no longer used")
            elif path not in da:
                out.append(f"stage {name}: new dependency {path}")
            elif da[path] != db[path]:
                out.append(f"stage {name}: {path} changed since the results were committed")
        pa, pb = a.params, b.params
        for file in sorted(pa.keys() | pb.keys()):
            fa, fb = flatten(pa.get(file) or {}), flatten(pb.get(file) or {})
            for key in sorted(fa.keys() | fb.keys()):
                if _show(fa.get(key)) != _show(fb.get(key)):
                    out.append(
                        f"stage {name}: param {key} is {_show(fa.get(key))} in the committed "
                        f"dvc.lock but {_show(fb.get(key))} in {file}"
                    )
    return out


def metric_differences(
    committed: Mapping[str, float] | None,
    reproduced: Mapping[str, float] | None,
    tolerance: float,
    path: str = "metrics",
) -> list[str]:
    """Metrics that moved by more than `tolerance` between the commit and the reproduction."""
    if reproduced is None:
        return [f"{path}: not produced by the pipeline"]
    if committed is None:
        return [f"{path}: not committed on the branch"]
    out = []
    for key in sorted(committed.keys() | reproduced.keys()):
        a, b = committed.get(key), reproduced.get(key)
        if a is None or b is None:
            out.append(f"{path}: {key} only in the {'reproduced' if a is None else 'committed'}")
        elif abs(float(a) - float(b)) > tolerance:
            out.append(f"{path}: {key} is {a:.6g} committed but {b:.6g} reproduced")
    return out
