"""Arrow in, Arrow out: score pyarrow RecordBatches with a model file, loading it once per
process — the building block for engines that hand data over as Arrow (Spark's mapInArrow,
Dask, Ray, DataFusion)."""

from __future__ import annotations

import os
import threading

import numpy as np

_models = {}
_lock = threading.Lock()


def load_cached(path):
    """The model at ``path``, read once per process and kept (keyed by the file's real path,
    size and modification time, so a replaced file is read again)."""
    from . import load

    real = os.path.realpath(path)
    stat = os.stat(real)
    key = (real, stat.st_size, stat.st_mtime_ns)
    with _lock:
        model = _models.get(key)
        if model is None:
            model = load(real)
            _models.clear()  # one model per worker is the common case; keep memory flat
            _models[key] = model
        return model


def score_batch(batch, model, carry=(), predict=False):
    """One ``pyarrow.RecordBatch`` (or Table) scored: the ``carry`` columns as they are, then
    ``score`` (float32, higher = more anomalous) and, with ``predict``, ``prediction`` (int32,
    1 above the model's threshold — `synthad score --predict`'s ``anomaly``). ``model`` is a
    fitted ``SynthAD`` or a model file's path. Columns are matched by name; a missing column or
    a value of the wrong type raises ``InvalidInputError`` with synthad's message."""
    import pyarrow as pa

    from . import InvalidInputError

    if isinstance(model, (str, os.PathLike)):
        model = load_cached(model)
    missing = [c for c in carry if c not in batch.schema.names]
    if missing:
        raise InvalidInputError(f"carry: no column(s) {missing} in the batch (it has {batch.schema.names})")
    outputs = ["score"] + (["prediction"] if predict else [])
    clash = [c for c in carry if c in outputs]
    if clash or len(set(carry)) != len(carry):
        raise InvalidInputError(
            f"carry: {clash or list(carry)}: the output has a column of that name already, or "
            "a column is carried twice; carry each column once and none named like an output")
    if batch.num_rows == 0:
        # An empty partition (common in Spark) scores to an empty batch of the same schema.
        arrays = [batch.column(c) for c in carry] + [pa.array([], pa.float32())]
        if predict:
            arrays.append(pa.array([], pa.int32()))
        return pa.RecordBatch.from_arrays(arrays, names=list(carry) + outputs)
    expected = list(model._model.feature_names_in)
    needed = [c for c in expected if c in batch.schema.names]
    scores = model.decision_function(batch.select(needed) if len(needed) == len(expected)
                                     else batch)
    arrays = [batch.column(c) for c in carry] + [pa.array(scores.astype(np.float32))]
    names = list(carry) + ["score"]
    if predict:
        arrays.append(pa.array((scores > model.threshold_).astype(np.int32)))
        names.append("prediction")
    return pa.RecordBatch.from_arrays(arrays, names=names)


def score_batches(batches, model_path, carry=(), predict=False):
    """Scores an iterable of RecordBatches lazily, one output batch per input batch; the model
    is loaded once per process."""
    model = load_cached(model_path)
    for batch in batches:
        yield score_batch(batch, model, carry, predict)
