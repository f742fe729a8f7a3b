"""Shared by the example scripts: where to write the figure, and the small size CI runs them at."""

from __future__ import annotations

import argparse
from pathlib import Path


def arguments(description: str) -> argparse.Namespace:
    """``--out FOLDER`` (default docs/examples) and ``--small`` (the size the test suite runs)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--out", type=Path, default=Path("docs/examples"), help="folder for the figure")
    parser.add_argument("--small", action="store_true", help="a small case, for the test suite")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    return args
