"""Fork: the rules about this data that a column-by-column contract cannot state.

Cross-field rules are named in contract.yaml (`rules:`) and run everywhere records are
checked: validation, batch scoring, the HTTP API (a 422 naming the fields) and monitoring.
A hook takes the typed records (code names; blanks as NaN; a field that was not sent is
absent, and then the rule is skipped) and returns a boolean Series marking the rows that
break the rule, computed for all rows at once.

`findings` (params.yaml validate.findings) adds facts about this dataset to the
data-quality summary the review report and the model card show.

Shipped in the model wheel: keep imports to pandas and numpy.
"""

from __future__ import annotations

import pandas as pd

#: Age is published as a fixed function of the age group.
AGE_OF_GROUP: dict[int, int] = {1: 15, 2: 25, 3: 30, 4: 45, 5: 55}


def age_matches_group(records: pd.DataFrame) -> pd.Series:
    """Rows whose age is not the one published for their age group: a broken export."""
    expected = records["age_group"].map(AGE_OF_GROUP)
    return expected.notna() & records["age"].notna() & expected.ne(records["age"])


def findings(records: pd.DataFrame) -> list[str]:
    """Facts about the sample worth knowing before trusting a model trained on it."""
    notes = []
    over = int((records["charge_amount"] > 9).sum())
    if over:
        notes.append(
            f"charge_amount: {over} row(s) hold 10 although the source documents 0..9; "
            "accepted (range >= 0 and <= 10)."
        )
    idle = int(((records["seconds_of_use"] == 0) & (records["call_count"] == 0)).sum())
    if idle:
        notes.append(f"{idle} customer(s) made no calls at all in nine months; kept.")
    notes.append("age is a fixed mapping of age_group; validated, not used as a feature.")
    return notes
