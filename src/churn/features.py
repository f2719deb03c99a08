"""Fork: features beyond the defaults the contract gives (params.yaml train.features).

The default preprocessing encodes every feature from its type in contract.yaml. When a
model needs more (a ratio of two columns, a date turned into an age, text into tokens),
return extra branches here: (name, scikit-learn transformer, input columns), appended to
the model's ColumnTransformer, so they travel inside the model and scoring still takes raw
records. The churn example needs none.
"""

from __future__ import annotations

from typing import Any

from gitops.contract.spec import Contract


def extra_features(contract: Contract) -> list[tuple[str, Any, list[str]]]:
    """No features beyond the defaults for the churn example."""
    return []
