"""Shared fixtures: the real shipped corpus and the legal texts under ../shared."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.pipeline import load

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SHARED = ROOT.parent / "shared"
FIDH = CORPUS / "fidh-adc-2018-invisible-and-exploited-kazakhstan.md"
UN = CORPUS / "un-a-hrc-27-53-add-2-slavery-rapporteur-kazakhstan-2014.txt"
LEGAL = SHARED / "corpus"
PDFS = SHARED / "pdfs"


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path, monkeypatch):
    """Never touch the checkout's data/ from a test."""
    monkeypatch.setenv("OMBUDS_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture(scope="session")
def fidh():
    return load(FIDH)


@pytest.fixture(scope="session")
def un():
    return load(UN)
