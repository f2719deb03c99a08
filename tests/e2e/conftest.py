"""Fixtures for end-to-end tests that need services: an S3-compatible server on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from s3_support import S3, s3_server


@pytest.fixture(scope="session")
def s3() -> Iterator[S3]:
    """One S3-compatible server for the session; tests keep apart by prefix in its bucket."""
    with s3_server() as server:
        yield server
