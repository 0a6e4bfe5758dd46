"""Shared fixtures: the synthad binary for interchange tests, the benchmark data, small data."""

import os
import pathlib
import shutil

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


def _required_or_skip(what, why):
    # Under CI every test must run: a missing prerequisite is a failure there, not a skip.
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing under CI=true: {why}")
    pytest.skip(f"{what} is missing: {why}")


@pytest.fixture(scope="session")
def cli():
    """The `synthad` binary: $SYNTHAD_BIN, else the repository's release build."""
    path = os.environ.get("SYNTHAD_BIN") or str(REPO / "target" / "release" / "synthad")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        path = shutil.which("synthad")
    if not path:
        _required_or_skip("the synthad binary", "build it with `cargo build --release` or set SYNTHAD_BIN")
    return path


@pytest.fixture(scope="session")
def data_dir():
    """The benchmark data: $SYNTHAD_DATA, else ../shared/data beside the repository."""
    path = pathlib.Path(os.environ.get("SYNTHAD_DATA") or REPO.parent / "shared" / "data")
    if not path.is_dir():
        _required_or_skip(f"the benchmark data ({path})", "set SYNTHAD_DATA to its folder")
    return path


@pytest.fixture
def blobs():
    """Normal rows around the origin, a labeled anomaly cluster, and unseen anomalies far out."""
    rng = np.random.default_rng(0)
    normal = rng.normal(size=(600, 4))
    known = rng.normal(loc=4.0, scale=0.3, size=(20, 4))
    X = np.vstack([normal, known])
    y = np.r_[np.zeros(600, dtype=int), np.ones(20, dtype=int)]
    unseen = rng.normal(loc=-5.0, scale=0.3, size=(20, 4))
    return X, y, unseen
