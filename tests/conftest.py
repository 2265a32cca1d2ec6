"""Shared fixtures. Third-party test files are read from ../shared/corpus
(beside the clone, in CI too); they are never copied into the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.fail(f"the shared test corpus is missing: {CORPUS}")
    return CORPUS
