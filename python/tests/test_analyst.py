"""p-values and explanations from Python match the command line's, with their guarantees:
bounds, monotonicity, completeness where exact, one-hot groups folded into their column."""

import subprocess

import numpy as np
import pytest

import synthad

pd = pytest.importorskip("pandas")


@pytest.fixture
def frame():
    rng = np.random.default_rng(3)
    n = 800
    data = pd.DataFrame({
        "bytes": rng.normal(size=n),
        "duration": rng.normal(size=n),
        "protocol": rng.choice(["tcp", "udp", "icmp"], n),
    })
    y = (np.arange(n) >= 780).astype(int)
    data.loc[y == 1, "duration"] += 6
    return data, y


@pytest.mark.parametrize("detector", ["gbt", "iforest", "classifier", "auto"])
def test_p_values_and_explanations(frame, detector):
    data, y = frame
    options = {"classifier": {"hidden": [32]}, "auto": {"budget": 20}}.get(detector, {})
    model = synthad.SynthAD(detector=detector, random_state=0, **options).fit(data, y)
    p = model.p_values(data)
    n_calibration = round(0.1 * 780)
    assert p.min() >= 1 / (n_calibration + 1) - 1e-12 and p.max() <= 1
    scores = model.decision_function(data)
    order = np.argsort(scores)
    assert np.all(np.diff(p[order]) <= 1e-12), "a higher score never has a larger p-value"

    everything = model.explain(data, top=None)
    assert list(everything.columns) == ["score", "baseline", "bytes", "duration", "protocol"]
    np.testing.assert_allclose(everything["score"], scores, rtol=1e-6, atol=1e-6)
    residual = everything["score"] - everything["baseline"] - everything[["bytes", "duration", "protocol"]].sum(axis=1)
    scale = (everything["score"] - everything["baseline"]).abs().max()
    exact = detector in ("gbt", "iforest")
    assert residual.abs().max() <= (1e-4 if exact else 1e-2) * scale

    top = model.explain(data, top=2)
    assert list(top.columns) == ["score", "baseline", "reason_1", "contribution_1", "reason_2",
                                 "contribution_2"]
    assert (top["contribution_1"] >= top["contribution_2"]).all()
    shifted = top[y == 1]
    assert (shifted["reason_1"] == "duration").mean() >= 0.9


def test_python_matches_the_cli(cli, frame, tmp_path):
    data, y = frame
    path = tmp_path / "d.csv"
    data.assign(label=np.where(y == 1, "bad", "ok")).to_csv(path, index=False)
    model = tmp_path / "m.synthad"
    subprocess.run([cli, "train", "-q", "--data", str(path), "--label-column", "label", "--normal",
                    "ok", "--known", "bad", "--detector", "gbt", "--model", str(model)], check=True)
    out = tmp_path / "s.csv"
    subprocess.run([cli, "score", "-q", "--model", str(model), "--data", str(path), "--out",
                    str(out), "--pvalues", "--explain", "2"], check=True)
    cli_out = pd.read_csv(out, keep_default_na=False)
    loaded = synthad.load(model)
    np.testing.assert_allclose(loaded.p_values(data), cli_out["p_value"], atol=1e-6)
    top = loaded.explain(data, top=2)
    assert (top["reason_1"].to_numpy() == cli_out["reason_1"].to_numpy()).all()
    np.testing.assert_allclose(top["contribution_1"], cli_out["contribution_1"], rtol=1e-6, atol=1e-7)


def test_uncalibrated_models_say_so(frame):
    data, y = frame
    model = synthad.SynthAD(detector="iforest", calibration_fraction=0).fit(data, y)
    with pytest.raises(synthad.InvalidInputError, match="calibration-fraction"):
        model.p_values(data)
    with pytest.raises(synthad.InvalidInputError, match="top"):
        model.explain(data, top=0)
