"""Fixtures for monitoring: drift data files with a known shift."""

import io

import numpy as np
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile


def drift_frames(seed: int = 0, ref_rows: int = 600, cur_rows: int = 500):
    """Reference and current frames: one numeric column shifts, a category appears, one
    column stays put."""
    rng = np.random.default_rng(seed)

    def frame(rows: int, current: bool) -> pd.DataFrame:
        categories = ["grocery", "travel", "online"] + (["crypto"] if current else [])
        weights = np.array([0.5, 0.3, 0.2] + ([0.3] if current else []))
        return pd.DataFrame(
            {
                "amount": rng.lognormal(mean=3.0 + (0.4 if current else 0.0), size=rows),
                "hour": rng.integers(0, 24, size=rows),
                "merchant": rng.choice(categories, p=weights / weights.sum(), size=rows),
                "stable": rng.normal(size=rows),
            }
        )

    return frame(ref_rows, False), frame(cur_rows, True)


def as_upload(frame: pd.DataFrame, fmt: str, name: str) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    if fmt == "parquet":
        frame.to_parquet(buffer, index=False)
        return SimpleUploadedFile(f"{name}.parquet", buffer.getvalue())
    frame.to_csv(buffer, index=False)
    return SimpleUploadedFile(f"{name}.csv", buffer.getvalue(), content_type="text/csv")


@pytest.fixture
def api(member, client_for):
    return client_for(member)


@pytest.fixture
def committed_api(member, client_for, django_capture_on_commit_callbacks):
    """The member's API client whose requests run their on-commit callbacks, so the
    windows an ingest queues are computed (by the eager worker) before it answers."""
    client = client_for(member)
    request = client.request

    def committed(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return request(**kwargs)

    client.request = committed
    return client
