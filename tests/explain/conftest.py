"""Shared data for the explain tests: a small sentiment CSV whose label is carried by one word."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch

GOOD = ["great", "wonderful", "superb", "loved", "brilliant"]
BAD = ["awful", "terrible", "boring", "hated", "dreadful"]
FILLER = ["the", "film", "plot", "was", "acting", "really", "quite", "cast"]


@pytest.fixture
def reviews_csv(tmp_path):
    """A function ``(n=200) -> path`` writing :func:`write_reviews` into the test's folder."""
    return lambda n=200: write_reviews(tmp_path / "reviews.csv", n)


def write_reviews(path: Path, n: int = 200) -> Path:
    """``n`` texts of six filler words and one sentiment word (pos/neg alternate) as text,label CSV."""
    gen = torch.Generator().manual_seed(0)
    rows = []
    for i in range(n):
        words = [FILLER[int(j)] for j in torch.randint(0, len(FILLER), (6,), generator=gen)]
        pool = GOOD if i % 2 else BAD
        words.insert(int(torch.randint(0, 6, (1,), generator=gen)), pool[int(torch.randint(0, 5, (1,), generator=gen))])
        rows.append((" ".join(words), "pos" if i % 2 else "neg"))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("text", "label"), *rows])
    return path
