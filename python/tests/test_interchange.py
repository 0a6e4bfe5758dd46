"""A model trained by the command line scores in Python, and the other way round, identically."""

import subprocess

import numpy as np
import pytest

import synthad

pd = pytest.importorskip("pandas")


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame({
        "duration": np.round(rng.exponential(2.0, n), 4),
        "bytes": np.round(rng.lognormal(5, 1, n), 2),
        "protocol": rng.choice(["tcp", "udp", "icmp"], n),
        "label": np.where(np.arange(n) < 385, "normal", "attack"),
    })
    frame.loc[385:, "bytes"] *= 50
    path = tmp_path / "train.csv"
    frame.to_csv(path, index=False)
    return path, frame


def cli_scores(cli, model, data, out):
    subprocess.run([cli, "score", "-q", "--model", str(model), "--data", str(data), "--out", str(out)],
                   check=True)
    return pd.read_csv(out)["score"].to_numpy(dtype=np.float32)


@pytest.mark.parametrize("detector", ["gbt", "classifier"])
def test_cli_model_scores_identically_in_python(cli, table, tmp_path, detector):
    path, frame = table
    model = tmp_path / "cli.synthad"
    subprocess.run([cli, "train", "-q", "--data", str(path), "--label-column", "label",
                    "--normal", "normal", "--known", "attack", "--detector", detector,
                    "--hidden", "32", "--max-epochs", "10", "--trees", "20", "--model", str(model)],
                   check=True)
    expected = cli_scores(cli, model, path, tmp_path / "cli-scores.csv")
    loaded = synthad.load(model)
    assert list(loaded._model.feature_names_in) == ["duration", "bytes", "protocol"]
    got = loaded.decision_function(frame.drop(columns="label")).astype(np.float32)
    np.testing.assert_array_equal(got, expected)

    # A loaded model flags at the model file's threshold, as `synthad score --predict` does.
    out = tmp_path / "flags.csv"
    subprocess.run([cli, "score", "-q", "--model", str(model), "--data", str(path), "--out", str(out),
                    "--predict"], check=True)
    flags = pd.read_csv(out)["anomaly"].to_numpy()
    np.testing.assert_array_equal(loaded.predict(frame.drop(columns="label")), flags)
    with pytest.raises(ValueError, match="no training scores"):
        loaded.predict_proba(frame.drop(columns="label"))


def test_python_model_scores_identically_on_the_cli(cli, table, tmp_path):
    path, frame = table
    y = (frame["label"] == "attack").astype(int)
    model = synthad.SynthAD(detector="gbt", trees=20, random_state=1).fit(frame.drop(columns="label"), y)
    saved = tmp_path / "python.synthad"
    model.save(saved)
    expected = model.decision_function(frame.drop(columns="label")).astype(np.float32)
    np.testing.assert_array_equal(cli_scores(cli, saved, path, tmp_path / "scores.csv"), expected)
