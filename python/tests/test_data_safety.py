"""The Python API as strict as the command line (docs/reliability.md, "From Python"): typed
text columns, 0/1 labels, fit_predict keeping y, load restoring every option, scoring by
position, pickles checked, fit warnings, Ctrl-C during fit."""

import pickle
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.base import clone
from sklearn.pipeline import Pipeline

import synthad


def _data(seed=0, n=300):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = np.zeros(n, dtype=int)
    X[:15] += 4
    y[:15] = 1
    return X, y


def test_numbers_held_as_text_stay_numbers_and_a_typo_is_named():
    X, y = _data()
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    as_text = frame.astype(str).astype(object)
    model = synthad.SynthAD(detector="gbt", random_state=0).fit(as_text, y)
    assert model._model.categorical_columns == []
    np.testing.assert_allclose(model.decision_function(as_text), model.decision_function(frame))
    # The ranking is the numeric one (as categories every row would score alike).
    scores = model.decision_function(frame)
    assert scores[:15].min() > np.median(scores[15:])
    typo = as_text.copy()
    typo.loc[7, "b"] = "1.2.3"
    with pytest.raises(synthad.InvalidInputError, match=r"row 8.*column b|column b.*row 8"):
        synthad.SynthAD(detector="gbt").fit(typo, y)
    # A text array is typed the same way.
    model = synthad.SynthAD(detector="gbt", random_state=0).fit(X.astype(str).astype(object), y)
    assert model._model.categorical_columns == []
    # Declared categories stay categories.
    cats = frame.assign(c=pd.Categorical(np.where(X[:, 2] > 0, "p", "n")))
    model = synthad.SynthAD(detector="gbt").fit(cats, y)
    assert model._model.categorical_columns == ["c"]


@pytest.mark.parametrize("bad, match", [
    (lambda y: np.where(y == 1, -1, 1), "-1/\\+1"),
    (lambda y: np.where(y == 1, "attack", "normal"), "map your labels"),
    (lambda y: np.where(y == 1, np.nan, 0.0), "NaN"),
    (lambda y: y * 2, "expected 1 for a known anomaly"),
])
def test_labels_must_be_zero_or_one(bad, match):
    X, y = _data()
    with pytest.raises(synthad.InvalidInputError, match=match):
        synthad.SynthAD(detector="gbt").fit(X, bad(y))
    # Booleans are fine.
    synthad.SynthAD(detector="gbt").fit(X, y.astype(bool))


def test_fit_predict_passes_y_also_through_a_pipeline():
    X, y = _data()
    semi = synthad.SynthAD(detector="gbt", random_state=0).fit(X, y).labels_
    unsupervised = synthad.SynthAD(detector="gbt", mode="unsupervised", random_state=0).fit(X).labels_
    direct = synthad.SynthAD(detector="gbt", random_state=0).fit_predict(X, y)
    np.testing.assert_array_equal(direct, semi)
    piped = Pipeline([("d", synthad.SynthAD(detector="gbt", random_state=0))]).fit_predict(X, y)
    np.testing.assert_array_equal(piped, semi)
    assert unsupervised.shape == semi.shape


def test_load_restores_every_option_so_clone_refits_the_same_model(tmp_path):
    X, y = _data()
    model = synthad.SynthAD(detector="classifier", hidden=[16], max_epochs=5, lr=0.01,
                            synthetic_ratio=2.0, random_state=3).fit(X, y)
    path = tmp_path / "m.synthad"
    model.save(path)
    loaded = synthad.load(path)
    assert (loaded.hidden, loaded.max_epochs, loaded.lr, loaded.synthetic_ratio) == ([16], 5, 0.01, 2.0)
    again = tmp_path / "again.synthad"
    clone(loaded).fit(X, y).save(again)
    assert again.read_bytes() == path.read_bytes()


def test_array_fitted_models_score_frames_by_position_and_refits_drop_names():
    X, y = _data()
    model = synthad.SynthAD(detector="gbt", random_state=0).fit(X, y)
    renamed = pd.DataFrame(X, columns=["p", "q", "r"])
    np.testing.assert_array_equal(model.decision_function(renamed), model.decision_function(X))
    named = synthad.SynthAD(detector="gbt").fit(pd.DataFrame(X, columns=["a", "b", "c"]), y)
    assert list(named.feature_names_in_) == ["a", "b", "c"]
    named.fit(X, y)
    assert not hasattr(named, "feature_names_in_")


def test_repeated_column_names_are_an_input_error():
    X, y = _data()
    frame = pd.DataFrame(X, columns=["a", "a", "c"])
    with pytest.raises(synthad.InvalidInputError, match="more than one column named 'a'"):
        synthad.SynthAD(detector="gbt").fit(frame, y)


def test_pickles_check_their_state():
    X, y = _data()
    model = synthad.SynthAD(detector="gbt").fit(X, y)
    fresh = synthad.SynthAD.__new__(synthad.SynthAD)
    with pytest.raises(synthad.ModelFileError, match="not a dict"):
        fresh.__setstate__("nonsense")
    state = model.__getstate__()
    with pytest.raises(synthad.ModelFileError, match="not a model file's bytes"):
        fresh.__setstate__(dict(state, _model=12))
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.decision_function(X), model.decision_function(X))


def test_an_empty_arrow_batch_gives_an_empty_batch(tmp_path):
    X, y = _data()
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    model = synthad.SynthAD(detector="gbt").fit(frame, y)
    empty = pa.RecordBatch.from_pandas(frame.iloc[:0].assign(id=pd.Series([], dtype="int64")),
                                       preserve_index=False)
    out = synthad.score_batch(empty, model, carry=["id"], predict=True)
    assert out.num_rows == 0 and out.schema.names == ["id", "score", "prediction"]
    with pytest.raises(synthad.InvalidInputError, match="already"):
        synthad.score_batch(pa.RecordBatch.from_pandas(frame.assign(score=1.0)), model,
                            carry=["score"])


def test_an_identifier_column_warns():
    X, y = _data()
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(id=[f"u{i}" for i in range(len(y))])
    with pytest.warns(synthad.FitWarning, match='column "id" has 300 distinct values'):
        synthad.SynthAD(detector="gbt").fit(frame, y)


def test_ctrl_c_during_fit_raises_keyboard_interrupt_within_a_second():
    script = textwrap.dedent("""
        import sys, time, numpy as np, synthad
        X = np.random.default_rng(0).normal(size=(20000, 20))
        model = synthad.SynthAD(detector="classifier", max_epochs=100000, patience=100000)
        print("fitting", flush=True)
        try:
            model.fit(X)
        except KeyboardInterrupt:
            print("interrupted", time.monotonic(), flush=True)
            # The interpreter is still usable, and so is synthad.
            synthad.SynthAD(detector="iforest").fit(X[:500])
            print("usable", flush=True)
            sys.exit(0)
        sys.exit(3)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "fitting"
    time.sleep(2.0)
    sent = time.monotonic()
    child.send_signal(signal.SIGINT)
    line = child.stdout.readline().split()
    assert line[:1] == ["interrupted"], line
    assert float(line[1]) - sent < 1.0
    assert child.stdout.readline().strip() == "usable"
    assert child.wait(timeout=60) == 0


def test_predict_with_rejection_is_pyods_on_the_same_scores():
    from pyod.models.base import BaseDetector

    X, y = _data()
    model = synthad.SynthAD(detector="gbt", contamination=0.05, random_state=0).fit(X, y)
    labels, stats = model.predict_with_rejection(X, T=4, return_stats=True, c_r=0.05)
    assert set(np.unique(labels)) <= {-2, 0, 1} and (labels == -2).any()
    kept = labels != -2
    np.testing.assert_array_equal(labels[kept], model.predict(X)[kept])

    class Scores(BaseDetector):
        """A PyOD detector holding SynthAD's training and test scores."""

        def __init__(self, contamination):
            super().__init__(contamination=contamination)

        def fit(self, X, y=None):
            return self

        def decision_function(self, X):
            return model.decision_function(X)

    pyod = Scores(contamination=0.05)
    pyod.decision_scores_ = model.decision_scores_
    pyod._process_decision_scores()
    theirs, their_stats = pyod.predict_with_rejection(X, T=4, return_stats=True, c_r=0.05)
    np.testing.assert_array_equal(labels, theirs)
    np.testing.assert_allclose(stats, their_stats)
