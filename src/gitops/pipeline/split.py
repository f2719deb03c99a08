"""Stage `split`: a stratified, seeded train/test split."""

from __future__ import annotations

import argparse
import sys

import pandas as pd
from sklearn.model_selection import train_test_split

from gitops.contract import load
from gitops.files import atomic_paths, write_parquet
from gitops.settings import Settings


def split(
    frame: pd.DataFrame, label: str, *, test_size: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified on the label so both sides keep the positive rate."""
    if not 0 < test_size < 1:
        raise ValueError(f"params.yaml: split.test_size must be between 0 and 1, got {test_size}")
    train, test = train_test_split(
        frame, test_size=test_size, random_state=seed, stratify=frame[label]
    )
    return train.reset_index(drop=True), test.reset_index(drop=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", required=True)
    parser.add_argument("--train", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    settings = Settings.load(args.params)
    contract = load.load(settings.data.contract)
    train, test = split(
        pd.read_parquet(args.input),
        contract.label,
        test_size=settings.split.test_size,
        seed=settings.split.seed,
    )
    with atomic_paths(args.train, args.test) as (train_path, test_path):
        write_parquet(train_path, train)
        write_parquet(test_path, test)
    print(f"split: {len(train)} train rows, {len(test)} test rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
