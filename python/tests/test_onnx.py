"""ONNX export: ONNX Runtime scores the raw rows as `synthad score` does, for every detector, on
data with numeric, binary and categorical columns (nsl-kdd), unseen categories (nsl-kdd's test
file) and missing values (arrhythmia); the models pass ONNX's full checker."""

import json
import subprocess

import numpy as np
import pytest

import synthad

from conftest import _required_or_skip

pd = pytest.importorskip("pandas")
try:
    import onnx
    import onnxruntime as ort
except ImportError as e:  # a failure under CI=true, a skip elsewhere
    onnx = ort = None
    _missing = str(e)

DETECTORS = ["classifier", "deepsad", "abc", "drocc", "gbt", "iforest", "auto"]

# How each data set is trained (as a user would on the command line) and which file is scored.
DATASETS = {
    "thyroid": dict(train="thyroid/ann-train.data", test="thyroid/ann-test.data",
                    args=["--label-column", "21", "--normal", "3", "--known", "1"]),
    "nsl-kdd": dict(train="nsl-kdd/KDDTrain+_20Percent.txt", test="nsl-kdd/KDDTest+.txt",
                    args=["--label-column", "41", "--normal", "normal", "--known", "neptune",
                          "--ignore", "42"]),
    "arrhythmia": dict(train="arrhythmia/arrhythmia.data", test="arrhythmia/arrhythmia.data",
                       args=["--label-column", "279", "--normal", "1", "--known", "2", "10", "14",
                             "--missing", "", "?", "NA", "NaN"]),
}
# Short training: the export is under test here, not the detectors' accuracy.
QUICK = {"auto": ["--budget", "20"], "gbt": ["--trees", "40"], "iforest": [],
         "default": ["--max-epochs", "3", "--hidden", "64,32"]}


@pytest.fixture(scope="module")
def runtime():
    if ort is None:
        _required_or_skip("onnx and onnxruntime", _missing + "; `bash python/install.sh` installs them")
    return ort


def read_raw(path):
    """Every field as text, as the CLI reads delimited files (fields trimmed)."""
    frame = pd.read_csv(path, header=None, dtype=str, keep_default_na=False)
    return frame.apply(lambda column: column.str.strip())


def feeds(session, model, frame):
    """One [rows, 1] input per model column: doubles (missing markers → NaN) or text."""
    meta = model.metadata_props
    missing = set(json.loads(next(p.value for p in meta if p.key == "synthad.missing")))
    out = {}
    for i in session.get_inputs():
        column = frame[int(i.name)]
        if i.type == "tensor(string)":
            out[i.name] = column.to_numpy(dtype=object).reshape(-1, 1)
        else:
            numbers = pd.to_numeric(column.where(~column.isin(missing)), errors="raise")
            out[i.name] = numbers.to_numpy(dtype=np.float64).reshape(-1, 1)
    return out


def assert_scores_match(got, expected):
    """Equal to 1e-5 relative; scores that cross zero (classifier logits) are compared relative
    to the scale of the data set's scores, where a relative error has no meaning."""
    scale = np.max(np.abs(expected))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * scale)


@pytest.mark.parametrize("dataset", list(DATASETS))
@pytest.mark.parametrize("detector", DETECTORS)
def test_onnx_runtime_scores_as_synthad_does(runtime, cli, data_dir, tmp_path, dataset, detector):
    spec = DATASETS[dataset]
    model_path, onnx_path = tmp_path / "m.synthad", tmp_path / "m.onnx"
    quick = QUICK.get(detector, QUICK["default"])
    subprocess.run([cli, "train", "-q", "--data", str(data_dir / spec["train"]), *spec["args"],
                    "--detector", detector, *quick, "--model", str(model_path)], check=True)
    subprocess.run([cli, "export", "--model", str(model_path), "--format", "onnx",
                    "--out", str(onnx_path)], check=True, capture_output=True)
    scores_csv = tmp_path / "scores.csv"
    subprocess.run([cli, "score", "-q", "--model", str(model_path), "--data",
                    str(data_dir / spec["test"]), "--out", str(scores_csv), "--predict"], check=True)
    expected = pd.read_csv(scores_csv)

    model = onnx.load(str(onnx_path))
    onnx.checker.check_model(model, full_check=True)
    session = runtime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    score, prediction = session.run(["score", "prediction"],
                                    feeds(session, model, read_raw(data_dir / spec["test"])))
    assert score.dtype == np.float32 and prediction.dtype == np.int64
    assert_scores_match(score, expected["score"].to_numpy(np.float32))
    np.testing.assert_array_equal(prediction, expected["anomaly"].to_numpy())
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["synthad.detector"] == detector
    assert np.float32(meta["synthad.threshold"]) == np.float32(synthad.load(model_path).threshold_)


def test_python_to_onnx_flags_as_predict(runtime, tmp_path):
    """`SynthAD.to_onnx` carries the Python threshold (from `contamination`), so ONNX Runtime
    flags exactly the rows `predict` flags; bytes or a file, categorical text and NaN in."""
    rng = np.random.default_rng(1)
    n = 500
    frame = pd.DataFrame({
        "bytes": rng.lognormal(5, 1, n),
        "duration": np.where(rng.random(n) < 0.05, np.nan, rng.exponential(2.0, n)),
        "protocol": rng.choice(["tcp", "udp", "icmp"], n),
    })
    y = (np.arange(n) >= 480).astype(int)
    frame.loc[480:, "bytes"] *= 40
    detector = synthad.SynthAD(detector="gbt", contamination=0.07, random_state=0).fit(frame, y)
    path = detector.to_onnx(tmp_path / "m.onnx")
    assert path == tmp_path / "m.onnx"
    assert open(path, "rb").read() == detector.to_onnx()
    session = runtime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    new = frame.copy()
    new.loc[:9, "protocol"] = "sctp"  # unseen category
    inputs = {"bytes": new[["bytes"]].to_numpy(np.float64),
              "duration": new[["duration"]].to_numpy(np.float64),
              "protocol": new[["protocol"]].to_numpy(object)}
    score, prediction = session.run(None, inputs)
    np.testing.assert_allclose(score, detector.decision_function(new), rtol=1e-5,
                               atol=1e-5 * np.abs(score).max())
    np.testing.assert_array_equal(prediction, detector.predict(new))
    assert 0 < prediction.sum() < n


def test_export_refuses_clearly(cli, tmp_path):
    """The CLI will not write over its model, nor binary to a terminal; an unfitted or
    unexportable model raises the core's message."""
    model = tmp_path / "m.synthad"
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 2))
    synthad.SynthAD(detector="iforest").fit(pd.DataFrame(X, columns=["score", "b"])).save(model)
    same = subprocess.run([cli, "export", "--model", str(model), "--out", str(model)],
                          capture_output=True, text=True)
    assert same.returncode != 0 and "same file as --model" in same.stderr
    piped = subprocess.run([cli, "export", "--model", str(model), "--out", "-"],
                           capture_output=True)
    assert piped.returncode != 0 and b'input column "score"' in piped.stderr
    clash = subprocess.run([cli, "export", "--model", str(model), "--out", str(tmp_path / "x.onnx")],
                           capture_output=True, text=True)
    assert clash.returncode != 0 and 'input column "score"' in clash.stderr
    assert not (tmp_path / "x.onnx").exists()
    with pytest.raises(synthad.InvalidInputError, match="rename the column"):
        synthad.load(model).to_onnx()


def test_readme_onnx_example(runtime, cli, data_dir, tmp_path):
    """The README's ONNX example runs as written (after its thyroid commands) and prints what
    the README shows."""
    import contextlib
    import io
    import os
    import re

    from conftest import REPO

    section = (REPO / "README.md").read_text().split("## Deploying with ONNX", 1)[1]
    blocks = re.findall(r"```(\w*)\n(.*?)```", section, re.S)
    languages = [language for language, _ in blocks]
    export = blocks[languages.index("sh")][1].split()
    at = languages.index("python")
    code, shown = blocks[at][1], blocks[at + 1][1]
    data = str(data_dir)
    subprocess.run([cli, "train", "-q", "--data", f"{data}/thyroid/ann-train.data", "--label-column",
                    "21", "--normal", "3", "--known", "1", "--model", "thyroid.synthad"],
                   check=True, cwd=tmp_path)
    assert export[0] == "synthad"
    subprocess.run([cli, *export[1:]], check=True, cwd=tmp_path, capture_output=True)
    printed = io.StringIO()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(code.replace("../shared/data", data), "README.md", "exec"), {})
    finally:
        os.chdir(cwd)
    assert printed.getvalue() == shown
