"""A second dataset of a different shape than the example's, and what a fork writes for it.

Generated (seeded), so the tests own it: a telecom export with string categoricals (plan
and contract names as text), a Yes/No label whose positive class ("No": the customer is
no longer active) does not sort last, blank numbers, a text customer id, a date info
column, published headers with spaces and a column-level missing-value token. The
adaptation a fork makes is exactly: this contract, these params changes and a data card.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd
import yaml

RAW = "data/raw/telco_export.csv"
PLANS = ("Basic", "Plus", "Premium")
CONTRACTS = ("Month-to-month", "One year", "Two year")

CONTRACT = """\
# The data contract of the telco export. Plausibility bounds: tenure below 50 years,
# charges below 10,000 a month, 10,000 support calls and 100,000 GB of data a year.
name: telco-customers
title: Telco customer export
description: One subscriber per row and whether they are still active a year later.
missingValues: [""]
fields:
  - name: customer_id
    title: Customer ID
    type: string
    description: The CRM's subscriber id.
    constraints: {required: false, maxLength: 40, pattern: "CUST-[0-9]{6}"}
  - name: signup_date
    title: Signup Date
    type: date
    description: When the subscription started.
    constraints: {required: true, minimum: "2000-01-01"}
  - name: plan
    title: Plan Name
    type: string
    description: The tariff plan.
    categories: [Basic, Plus, Premium]
    constraints: {required: true}
  - name: contract
    title: Contract Type
    type: string
    description: Commitment length.
    categories: [Month-to-month, One year, Two year]
    categoriesOrdered: true
    constraints: {required: true}
  - name: paperless
    title: Paperless Billing
    type: boolean
    description: Whether bills are sent by e-mail only.
    trueValues: ["Yes"]
    falseValues: ["No"]
    constraints: {required: true}
  - name: tenure_months
    title: Tenure Months
    type: integer
    description: Months subscribed; blank when the CRM lost it.
    unit: months
    constraints: {required: false, minimum: 0, maximum: 600}
  - name: monthly_charges
    title: Monthly Charges
    type: number
    description: What the subscriber pays a month.
    unit: EUR
    constraints: {required: true, minimum: 0, maximum: 10000}
  - name: support_calls
    title: Support Calls
    type: integer
    description: Calls to support in the last year.
    unit: calls
    skewed: true
    constraints: {required: false, minimum: 0, maximum: 10000}
  - name: data_usage_gb
    title: Data Usage GB
    type: number
    description: Mobile data used in the last year.
    unit: GB
    skewed: true
    missingValues: ["", "NA"]
    constraints: {required: false, minimum: 0, maximum: 100000}
  - name: active
    title: Active
    type: string
    description: Whether the subscriber is still active a year later.
    categories: ["Yes", "No"]
    constraints: {required: true}
roles:
  id: customer_id
  label: active
  positive: "No"
  value: monthly_charges
  info: [signup_date]
"""

DATA_CARD = """\
# Data card: telco subscriber export

A generated export of telco subscribers: one row per subscriber, whether they are still
active a year later (`Active`, positive class `No`).

## Columns

<!-- contract:columns:start -->
<!-- contract:columns:end -->
"""


def generate(rows: int, seed: int) -> pd.DataFrame:
    """The export as text, published headers, with blanks where the CRM loses values."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(PLANS, rows, p=[0.5, 0.3, 0.2])
    contract = rng.choice(CONTRACTS, rows, p=[0.55, 0.25, 0.2])
    paperless = rng.random(rows) < 0.6
    tenure = rng.integers(0, 73, rows)
    charges = np.round(rng.gamma(4.0, 16.0, rows) + 10 * (plan == "Premium"), 2)
    calls = rng.poisson(1.5 + 2.0 * (contract == "Month-to-month"), rows)
    usage = np.round(rng.lognormal(3.0, 1.0, rows), 1)
    logit = (
        -1.6
        + 1.4 * (contract == "Month-to-month")
        - 0.9 * (contract == "Two year")
        - 0.035 * tenure
        + 0.35 * calls
        + 0.012 * (charges - 60)
        + 0.45 * (plan == "Basic")
        + 0.3 * paperless
    )
    churned = rng.random(rows) < 1 / (1 + np.exp(-logit))
    start = np.datetime64("2015-01-01") + rng.integers(0, 3000, rows).astype("timedelta64[D]")
    frame = pd.DataFrame(
        {
            "Customer ID": [f"CUST-{i:06d}" for i in rng.permutation(rows) + 1],
            "Signup Date": pd.Series(start).dt.strftime("%Y-%m-%d"),
            "Plan Name": plan,
            "Contract Type": contract,
            "Paperless Billing": np.where(paperless, "Yes", "No"),
            "Tenure Months": tenure.astype(str),
            "Monthly Charges": [f"{c:.2f}" for c in charges],
            "Support Calls": calls.astype(str),
            "Data Usage GB": [f"{u:.1f}" for u in usage],
            "Active": np.where(churned, "No", "Yes"),
        }
    )
    for column, share, token in (
        ("Tenure Months", 0.05, ""),
        ("Support Calls", 0.08, ""),
        ("Data Usage GB", 0.05, "NA"),
    ):
        frame.loc[rng.random(rows) < share, column] = token
    return frame


def params(base: dict[str, Any]) -> dict[str, Any]:
    """params.yaml adapted to the export: only data, words, rules, gates and the card move."""
    out = copy.deepcopy(base)
    out["data"]["raw"] = RAW
    out["validate"]["findings"] = None  # the example's findings name its columns
    out["train"]["monotonic_increasing"] = ["support_calls"]
    out["monitor"].pop("demo", None)  # the demo batch's shift is the example's
    out["deploy"]["sample"] = RAW
    out["wording"] = {
        "positive": "leaver",
        "positives": "leavers",
        "positive_rate": "leaving rate",
        "population": "subscribers",
        "value": "monthly charges",
        "top_segment": "the subscribers the retention desk can call",
    }
    # Gates set from a first run of this data (docs/fork.md): floors a little below what the
    # default model reaches, regression allowances as for the example.
    out["gates"]["min"] = {"roc_auc": 0.70, "average_precision": 0.45, "top_positives_caught": 0.2}
    out["gates"]["max"] = {"log_loss": 0.65}
    out["package"]["summary"] = "Telco subscriber churn risk, for the retention desk."
    out["package"]["card"]["title"] = "Telco churn risk model"
    out["package"]["card"]["intended_use"] = "Ranking subscribers for retention calls."
    out["package"]["card"]["limits"] = ["Trained on generated data."]
    return out


def params_text(base_text: str) -> str:
    return yaml.safe_dump(params(yaml.safe_load(base_text)), sort_keys=False, allow_unicode=True)
