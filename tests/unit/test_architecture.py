"""The line between the example model and the machinery a fork keeps."""

from __future__ import annotations

import ast

import pytest

from support import ROOT

GITOPS = sorted((ROOT / "src/gitops").rglob("*.py"))


@pytest.mark.parametrize("path", GITOPS, ids=lambda p: p.name)
def test_machinery_never_imports_the_model_package(path: object) -> None:
    tree = ast.parse(path.read_text())  # type: ignore[attr-defined]
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module.split(".")[0])
    assert "churn" not in imported
