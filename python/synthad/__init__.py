"""synthad: semi-supervised anomaly detection with synthetic anomalies, in Python.

The detector follows PyOD's ``BaseDetector`` contract — ``fit(X, y)`` with ``y == 1`` marking
a known anomaly, ``decision_function`` (higher = more anomalous), ``predict`` at
``threshold_``, ``predict_proba``, ``predict_confidence`` — and scikit-learn's estimator rules,
over synthad's Rust core (``synthad._core``). Models save to the same file the ``synthad``
command line reads and writes, and pickle through it.

>>> import numpy as np, synthad
>>> X = np.random.default_rng(0).normal(size=(500, 4))
>>> y = (np.abs(X).max(axis=1) > 2.8).astype(int)   # a few labeled anomalies
>>> model = synthad.SynthAD(detector="gbt").fit(X, y)
>>> scores = model.decision_function(X)
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin

from . import _core
from ._core import InvalidInputError, ModelFileError, SynthadError

__all__ = [
    "SynthAD",
    "load",
    "load_cached",
    "score_batch",
    "score_batches",
    "set_threads",
    "SynthadError",
    "InvalidInputError",
    "ModelFileError",
    "FitWarning",
    "__version__",
]
__version__ = _core.__version__


class FitWarning(UserWarning):
    """Something about a fit the user should know (a column that looks like an identifier):
    the message says what to do."""

# Keyword → (TrainParams field path, converter). Every option of `synthad train`.
_PARAMS = {
    "detector": ("detector", str),
    "mode": ("mode", str),
    "random_state": ("seed", int),
    "hidden": ("hidden", lambda v: [int(w) for w in v]),
    "loss": ("loss", str),
    "precision": ("precision", str),
    "lr": ("learning_rate", float),
    "weight_decay": ("weight_decay", float),
    "batch_size": ("batch_size", int),
    "max_epochs": ("max_epochs", int),
    "patience": ("patience", int),
    "min_patience_steps": ("min_patience_steps", int),
    "validation_fraction": ("validation_fraction", float),
    "calibration_fraction": ("calibration_fraction", float),
    "synthetic_ratio": ("synthetic_ratio", float),
    "known_weight": ("known_weight", float),
    "margin": ("margin", float),
    "max_categories": ("max_categories", int),
    "target_fpr": ("target_fpr", float),
    "budget": ("auto.budget_seconds", float),
    "candidates": ("auto.candidates", lambda v: [str(c) for c in v]),
    "eta": ("deepsad.eta", float),
    "representation": ("deepsad.representation", int),
    "drocc_radius": ("drocc.radius", float),
    "drocc_gamma": ("drocc.gamma", float),
    "drocc_lambda": ("drocc.lambda", float),
    "ascent_steps": ("drocc.ascent_steps", int),
    "trees": ("trees.trees", int),
    "max_leaves": ("trees.max_leaves", int),
    "sample_size": ("trees.sample_size", int),
}


# Keywords that tune one detector's training: `auto` trains its candidates with their own.
_ONE_DETECTOR = ("hidden", "loss", "lr", "weight_decay", "batch_size", "max_epochs",
                 "patience")


def set_threads(threads):
    """Threads for training and scoring (0: all cores); before the first fit of the process."""
    _core.set_threads(int(threads))


def load(path):
    """A detector from a model file, as written by ``save`` or by ``synthad train``."""
    return SynthAD._from_core(_core.load(str(path)))


def _columns(X):
    """(names, columns, categorical names) of a numpy array, pandas DataFrame or pyarrow Table.

    Numeric and boolean columns go as float64 arrays (NaN = missing); object and string
    columns as lists of str (None = missing), which the core types as it types a file's
    columns — numbers stay numbers, and a column of numbers with one typo is an error naming
    the row and column, as ``synthad train`` says of the same rows. Only pandas ``category``
    columns are declared categorical.
    """
    module = type(X).__module__.split(".")[0]
    if module == "pyarrow":
        X = X.to_pandas()
        module = "pandas"
    if module == "pandas" and hasattr(X, "columns"):
        names = [str(name) for name in X.columns]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise InvalidInputError(
                f"X has more than one column named {repeated[0]!r}: columns are matched by "
                "name, so each needs its own; rename them")
        columns, categorical = [], []
        for position, name in enumerate(names):
            series = X.iloc[:, position]
            kind = series.dtype.kind
            if kind in "biuf":
                columns.append(np.ascontiguousarray(series.to_numpy(dtype="float64", na_value=np.nan)))
            else:
                values = [None if _is_missing(v) else str(v) for v in series.tolist()]
                columns.append(values)
                if str(series.dtype) == "category":
                    categorical.append(name)
        return names, columns, categorical
    from sklearn.utils import check_array

    # scikit-learn's own checks and messages: 2-D, dense, not complex, at least one row and
    # column; NaN is a missing value, infinity an error.
    array = check_array(X, dtype=None, accept_sparse=False, ensure_all_finite="allow-nan")
    if array.dtype.kind not in "biuf":
        # Mixed or text arrays: every column as text, typed by the core as a file's would be.
        columns = [[None if _is_missing(v) else str(v) for v in array[:, j]] for j in range(array.shape[1])]
        names = [str(j) for j in range(array.shape[1])]
        return names, columns, []
    array = np.asarray(array, dtype="float64")
    names = [str(j) for j in range(array.shape[1])]
    return names, [np.ascontiguousarray(array[:, j]) for j in range(array.shape[1])], []


def _is_missing(value):
    return value is None or (isinstance(value, float) and math.isnan(value))


class SynthAD(OutlierMixin, BaseEstimator):
    """Anomaly detector trained against known and synthetic anomalies.

    Parameters are those of ``synthad train`` (``detector="auto"`` chooses and combines
    detectors from the training rows, each candidate with its own settings, so ``mode`` and the
    training keywords — ``hidden``, ``lr``, ... — apply to a single detector only;
    ``"classifier"`` is the paper's network; also ``"deepsad"``, ``"abc"``, ``"drocc"``,
    ``"gbt"``, ``"iforest"``), plus PyOD's
    ``contamination``: the share of training rows ``labels_`` and ``predict`` flag, through
    ``threshold_``, the training scores' ``1 − contamination`` quantile. Parameters left at
    None take the detector's defaults.

    ``fit(X, y)``: ``y == 1`` marks a known anomaly, anything else a normal (or unlabeled) row;
    ``y=None`` is unsupervised. ``kinds`` (optional, one per row) names the kind of each known
    anomaly.
    """

    def __init__(self, detector="auto", mode="synthetic", contamination=0.1, random_state=None,
                 hidden=None, loss=None, precision=None, lr=None, weight_decay=None,
                 batch_size=None, max_epochs=None, patience=None, min_patience_steps=None,
                 validation_fraction=None, calibration_fraction=None, synthetic_ratio=None,
                 known_weight=None, margin=None, max_categories=None, target_fpr=None,
                 budget=None, candidates=None, eta=None, representation=None, drocc_radius=None,
                 drocc_gamma=None, drocc_lambda=None, ascent_steps=None, trees=None,
                 max_leaves=None, sample_size=None):
        self.detector = detector
        self.mode = mode
        self.contamination = contamination
        self.random_state = random_state
        self.hidden = hidden
        self.loss = loss
        self.precision = precision
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.min_patience_steps = min_patience_steps
        self.validation_fraction = validation_fraction
        self.calibration_fraction = calibration_fraction
        self.synthetic_ratio = synthetic_ratio
        self.known_weight = known_weight
        self.margin = margin
        self.max_categories = max_categories
        self.target_fpr = target_fpr
        self.budget = budget
        self.candidates = candidates
        self.eta = eta
        self.representation = representation
        self.drocc_radius = drocc_radius
        self.drocc_gamma = drocc_gamma
        self.drocc_lambda = drocc_lambda
        self.ascent_steps = ascent_steps
        self.trees = trees
        self.max_leaves = max_leaves
        self.sample_size = sample_size

    # -- fitting ---------------------------------------------------------------------------

    def _params_json(self):
        if self.detector == "auto":
            given = [k for k in _ONE_DETECTOR if getattr(self, k) is not None]
            if given:
                raise InvalidInputError(
                    f"{given[0]} sets the training of one detector, but detector='auto' trains "
                    "each of its candidates with that candidate's own defaults; pass "
                    "detector=NAME (e.g. 'classifier') to set it")
        params = {}
        for keyword, (path, convert) in _PARAMS.items():
            value = getattr(self, keyword)
            if value is None:
                continue
            if keyword == "random_state":
                value = _seed(value)
            try:
                value = convert(value)
            except (TypeError, ValueError) as e:
                raise InvalidInputError(f"{keyword}={value!r}: {e}") from None
            node = params
            *parents, leaf = path.split(".")
            for p in parents:
                node = node.setdefault(p, {})
            node[leaf] = value
        return json.dumps(params)

    def fit(self, X, y=None, kinds=None):
        """Fit on rows ``X``; ``y == 1`` marks a known anomaly (PyOD's convention)."""
        if not (isinstance(self.contamination, (int, float)) and 0 < self.contamination <= 0.5):
            raise InvalidInputError(
                f"contamination must be in (0, 0.5], got {self.contamination!r}")
        names, columns, categorical = _columns(X)
        rows = len(columns[0]) if columns else 0
        if rows < 2:
            raise InvalidInputError(
                f"n_samples={rows}: fitting needs at least 2 rows (one to train on, one to validate)")
        roles = _roles(y, kinds, rows)
        self._model, warnings_ = _core.fit(names, columns, categorical, roles, self._params_json())
        for message in warnings_:
            warnings.warn(message, FitWarning, stacklevel=2)
        self.n_features_in_ = len(names)
        if _module_of(X) in ("pandas", "pyarrow"):
            self.feature_names_in_ = np.asarray(names, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_  # refitted on an array: no names any more
        self.decision_scores_ = self.decision_function(X)
        self._process_decision_scores()
        return self

    def fit_predict(self, X, y=None, **fit_params):
        """``fit(X, y)``, then the training rows' labels (scikit-learn's OutlierMixin would
        drop ``y``, turning a semi-supervised fit into an unsupervised one)."""
        return self.fit(X, y, **fit_params).labels_

    def _process_decision_scores(self):
        """PyOD's thresholding: the training scores' (1 − contamination) quantile."""
        self.threshold_ = float(np.percentile(self.decision_scores_, 100 * (1 - self.contamination)))
        self.labels_ = (self.decision_scores_ > self.threshold_).astype(int)
        self._mu = float(np.mean(self.decision_scores_))
        self._sigma = float(np.std(self.decision_scores_))

    # -- scoring -----------------------------------------------------------------------------

    def _check_fitted(self):
        if not hasattr(self, "_model"):
            from sklearn.exceptions import NotFittedError
            raise NotFittedError("this SynthAD is not fitted yet; call fit first")

    def _check_training_scores(self):
        self._check_fitted()
        if not hasattr(self, "decision_scores_"):
            raise InvalidInputError(
                "this model was loaded from a model file, which keeps no training scores: "
                "predict_proba and predict_confidence need them. Fit it, or pickle the fitted "
                "SynthAD instead of saving it")

    def decision_function(self, X):
        """Anomaly scores of the rows of ``X``: higher is more anomalous."""
        names, columns = self._named_columns(X)  # checks it is fitted first
        return np.asarray(self._model.decision_function(names, columns), dtype="float64")

    def _named_columns(self, X):
        """The columns of ``X`` with the names the model matches them by."""
        self._check_fitted()
        names, columns, _ = _columns(X)
        expected = list(self._model.feature_names_in)
        by_name = _module_of(X) in ("pandas", "pyarrow") and hasattr(self, "feature_names_in_")
        if by_name:
            missing = [n for n in expected if n not in names]
            if missing:
                raise InvalidInputError(
                    f"X lacks the column(s) {missing} the model was fitted on (it has {names})")
        elif len(names) != len(expected):
            raise InvalidInputError(
                f"X has {len(names)} features, but SynthAD is expecting {len(expected)} features "
                "as input")
        else:
            names = expected  # an array's columns are the fitted columns, in order
        return names, columns

    def predict(self, X, return_confidence=False):
        """1 for rows scoring above ``threshold_``, else 0."""
        labels = (self.decision_function(X) > self.threshold_).astype(int)
        if return_confidence:
            return labels, self.predict_confidence(X)
        return labels

    def predict_proba(self, X, method="linear", return_confidence=False):
        """(n, 2) probabilities of [normal, anomaly]: PyOD's "linear" (the training scores'
        range scaled to [0, 1]) or "unify" (Kriegel et al. 2011's Gaussian scaling)."""
        self._check_training_scores()
        scores = self.decision_function(X)
        if method == "linear":
            lo, hi = float(np.min(self.decision_scores_)), float(np.max(self.decision_scores_))
            anomaly = np.clip((scores - lo) / (hi - lo if hi > lo else 1.0), 0.0, 1.0)
        elif method == "unify":
            from scipy.special import erf
            anomaly = np.clip(erf((scores - self._mu) / (self._sigma * np.sqrt(2) or 1.0)), 0.0, 1.0)
        else:
            raise InvalidInputError(f'method must be "linear" or "unify", got {method!r}')
        proba = np.column_stack([1.0 - anomaly, anomaly])
        if return_confidence:
            return proba, self.predict_confidence(X)
        return proba

    def predict_confidence(self, X):
        """How sure each ``predict`` label is, in [0, 1] (PyOD's, after Perini et al. 2020)."""
        from scipy.stats import binom
        self._check_training_scores()
        scores = self.decision_function(X)
        n = len(self.decision_scores_)
        sorted_train = np.sort(self.decision_scores_)
        below = np.searchsorted(sorted_train, scores, side="right")
        posterior = (1 + below) / (2 + n)
        confidence = 1 - binom.cdf(n - int(n * self.contamination), n, posterior)
        predicted = scores > self.threshold_
        confidence[~predicted] = 1 - confidence[~predicted]
        return confidence

    def predict_with_rejection(self, X, T=32, return_stats=False, delta=0.1, c_fp=1, c_fn=1,
                               c_r=-1):
        """PyOD's prediction with rejection (Perini et al. 2023): 1 anomaly, 0 normal, -2 where
        the prediction's confidence is below 1 − 2·exp(−T); with ``return_stats``, also PyOD's
        [expected rejection rate, its upper bound, the cost's upper bound]. Computed by PyOD's
        own ``BaseDetector`` methods on this detector's training scores, so the numbers are
        PyOD's; needs ``pip install pyod``."""
        return self._pyod_base().predict_with_rejection(
            self, X, T=T, return_stats=return_stats, delta=delta, c_fp=c_fp, c_fn=c_fn, c_r=c_r)

    def compute_rejection_stats(self, T=32, delta=0.1, c_fp=1, c_fn=1, c_r=-1, verbose=False):
        """PyOD's rejection statistics for ``predict_with_rejection`` (needs ``pyod``)."""
        return self._pyod_base().compute_rejection_stats(
            self, T=T, delta=delta, c_fp=c_fp, c_fn=c_fn, c_r=c_r, verbose=verbose)

    def _pyod_base(self):
        self._check_training_scores()
        try:
            from pyod.models.base import BaseDetector
        except ImportError:
            raise ImportError("predict_with_rejection and compute_rejection_stats are PyOD's: "
                              "pip install pyod") from None
        return BaseDetector

    # -- the model file and pickling ---------------------------------------------------------

    @property
    def detector_(self):
        """The detector fitted ("auto" keeps its choice in ``leaderboard_``)."""
        self._check_fitted()
        return self._model.detector

    @property
    def leaderboard_(self):
        """What ``detector="auto"`` tried and chose (a dict), else None."""
        self._check_fitted()
        text = self._model.leaderboard_json
        return json.loads(text) if text else None

    def p_values(self, X):
        """Conformal p-values of the rows of ``X``: the share of calibration normals — normal
        training rows held out from the fit (``calibration_fraction``, default 0.1) — that
        score at least as high, (1 + count) / (n + 1). For normal rows like the training ones,
        ``p_values(X) <= a`` flags at most a share ``a`` of them (split conformal
        prediction); ``synthad score --pvalues`` writes the same numbers."""
        names, columns = self._named_columns(X)
        return np.asarray(self._model.p_values(names, columns), dtype="float64")

    def explain(self, X, top=3):
        """Which input columns push each row's score up, as ``synthad score --explain`` writes
        them: a pandas DataFrame with ``score``, ``baseline`` and, for k = 1..top,
        ``reason_k`` (a column name; one-hot groups as their column) and ``contribution_k``,
        largest first. Contributions add up to score − baseline (exactly for boosted trees and
        Isolation Forest, up to the integral's discretisation for networks: docs/analyst.md).
        ``top=None`` returns every column's contribution instead, one column each."""
        import pandas as pd

        names, columns = self._named_columns(X)
        columns, flat, scores, baseline, _method = self._model.explain(names, columns)
        contributions = np.asarray(flat, dtype="float64").reshape(len(scores), len(columns))
        index = getattr(X, "index", None) if _module_of(X) == "pandas" else None
        if top is None:
            frame = pd.DataFrame(contributions, columns=columns, index=index)
            frame.insert(0, "baseline", float(baseline))
            frame.insert(0, "score", np.asarray(scores, dtype="float64"))
            return frame
        top = int(top)
        if top < 1:
            raise InvalidInputError(f"top = {top}: expected at least 1 (or None for all columns)")
        order = np.argsort(-contributions, axis=1, kind="stable")[:, :top]
        data = {"score": np.asarray(scores, dtype="float64"), "baseline": float(baseline)}
        names = np.asarray(columns, dtype=object)
        for k in range(min(top, len(columns))):
            data[f"reason_{k + 1}"] = names[order[:, k]]
            data[f"contribution_{k + 1}"] = np.take_along_axis(contributions, order[:, k:k + 1], 1)[:, 0]
        return pd.DataFrame(data, index=index)

    def to_onnx(self, path=None):
        """The detector as an ONNX model (what ``synthad export`` writes): the raw columns in
        (numeric ones as float64 with NaN for missing, categorical ones as text), ``score`` and
        ``prediction`` (at ``threshold_``) out. Writes it to ``path`` (atomically) and returns
        the path, or returns the bytes when no path is given. Raises ``InvalidInputError`` for a
        model without an exact ONNX form, saying why."""
        self._check_fitted()
        # ONNX compares float32 scores: the largest float32 at or below threshold_ flags
        # exactly the rows `predict` flags.
        threshold = np.float32(self.threshold_)
        if threshold > self.threshold_:
            threshold = np.nextafter(threshold, np.float32(-np.inf))
        if path is None:
            return bytes(self._model.to_onnx(float(threshold)))
        self._model.export_onnx(str(path), float(threshold))
        return path

    def save(self, path):
        """Writes the model file (the CLI's format; atomic)."""
        self._check_fitted()
        self._model.save(str(path))

    @classmethod
    def _from_core(cls, model):
        # Every stored option that differs from the detector's defaults comes back as its
        # keyword, so that clone(load(path)).fit(X, y) trains the model the file holds.
        params = json.loads(model.params_json)
        defaults = json.loads(_core.default_params_json(params["detector"]))
        keywords = {"detector": params["detector"], "mode": params["mode"],
                    "random_state": params["seed"]}
        for keyword, (path, _convert) in _PARAMS.items():
            if keyword in keywords:
                continue
            value, default = params, defaults
            for part in path.split("."):
                value, default = value.get(part), (default or {}).get(part)
            if value is not None and value != default:
                keywords[keyword] = value
        detector = cls(**keywords)
        detector._model = model
        names = list(model.feature_names_in)
        if names != [str(j) for j in range(len(names))]:  # fitted on named columns
            detector.feature_names_in_ = np.asarray(names, dtype=object)
        detector.n_features_in_ = len(model.feature_names_in)
        # A model file holds no training scores: its own threshold (fitted on held-out normal
        # rows, the one `synthad score --predict` uses) stands in for PyOD's.
        detector.threshold_ = float(model.threshold)
        return detector

    def __getstate__(self):
        state = self.__dict__.copy()
        if "_model" in state:
            # The model travels as its model file: no code runs on unpickling.
            state["_model"] = bytes(self._model.to_bytes())
        return state

    def __setstate__(self, state):
        if not isinstance(state, dict):
            raise ModelFileError(
                f"not a pickled SynthAD: its state is a {type(state).__name__}, not a dict")
        if "_model" in state:
            if not isinstance(state["_model"], (bytes, bytearray)):
                raise ModelFileError(
                    "not a pickled SynthAD: its model is a "
                    f"{type(state['_model']).__name__}, not a model file's bytes")
            state = dict(state, _model=_core.from_bytes(bytes(state["_model"])))
        self.__dict__.update(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        return tags


def _module_of(X):
    return type(X).__module__.split(".")[0]


def _seed(value):
    if isinstance(value, (int, np.integer)):
        return int(value) % (1 << 64)
    if isinstance(value, np.random.RandomState):
        return int(value.randint(0, 2**31 - 1))
    raise InvalidInputError(f"random_state must be an int or a RandomState, got {value!r}")


def _roles(y, kinds, rows):
    """One role per row: None normal or unlabeled, a kind name for a known anomaly."""
    if y is None:
        if kinds is not None:
            raise InvalidInputError("kinds= needs y, the known anomalies it names")
        return [None] * rows
    y = np.asarray(y).ravel()
    if len(y) != rows:
        raise InvalidInputError(f"y has {len(y)} labels for {rows} rows")
    y = _binary_labels(y)
    if kinds is not None:
        kinds = list(kinds)
        if len(kinds) != rows:
            raise InvalidInputError(f"kinds has {len(kinds)} entries for {rows} rows")
    return [
        (str(kinds[i]) if kinds is not None and kinds[i] is not None else "1") if y[i] == 1 else None
        for i in range(rows)
    ]


def _binary_labels(y):
    """y as 0/1: 1 marks a known anomaly. Booleans and the numbers 0 and 1 only: scikit-learn's
    {-1, +1} (where -1 is the outlier) or text labels would silently mean something else."""
    if y.dtype.kind == "b":
        return y.astype(int)
    if y.dtype.kind in "iuf":
        if y.dtype.kind == "f" and np.isnan(y).any():
            raise InvalidInputError(
                "y holds NaN: mark each row 1 (known anomaly) or 0 (normal or unlabeled)")
        values = set(np.unique(y).tolist())
        if values <= {0, 1}:
            return y.astype(int)
        shown = sorted(values)[:5]
        hint = (" — scikit-learn's -1/+1 outlier labels: pass (y == -1).astype(int)"
                if values <= {-1, 1} else "")
        raise InvalidInputError(
            f"y holds {shown}: expected 1 for a known anomaly and 0 for a normal or unlabeled "
            f"row{hint}")
    raise InvalidInputError(
        f"y holds {y.dtype} values ({list(y[:3])}...): expected 0/1 or booleans, 1 marking a "
        "known anomaly; map your labels first, e.g. (labels == 'attack').astype(int)")


from .arrow import load_cached, score_batch, score_batches  # noqa: E402  (they use load above)
