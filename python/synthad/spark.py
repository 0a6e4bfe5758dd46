"""synthad on Apache Spark (pyspark 4): score a DataFrame where it lives, and draw a training
sample from one to fit on the driver.

Scoring runs ``DataFrame.mapInArrow``: each Python worker receives Arrow record batches of its
partition, loads the model file once (shipped with ``SparkContext.addFile``, found with
``SparkFiles.get``) and returns the batches scored. Training is not distributed: a detector is
fitted on a sample small enough for one machine (all known anomalies and a uniform sample of
normals), which is what the detectors need — see docs/spark.md for why.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile

from . import InvalidInputError, load
from .arrow import load_cached, score_batch


def score(df, model_path, carry=(), predict=False, threads=1):
    """``df`` scored by the model file at ``model_path``: a DataFrame of the ``carry`` columns,
    ``score`` (float, higher = more anomalous) and, with ``predict``, ``prediction`` (int, 1
    above the model's threshold). ``threads``: synthad's threads per Python worker (Spark runs
    one worker per task slot already, so 1 keeps cores from being oversubscribed).

    A column the model needs that ``df`` lacks is refused here, on the driver; a value of the
    wrong type fails the job with synthad's message, naming the column.
    """
    from pyspark import SparkFiles
    from pyspark.sql.types import FloatType, IntegerType, StructField, StructType

    model = load(model_path)  # on the driver: checks the file and gives the columns
    needed = list(model._model.feature_names_in)
    missing = [c for c in needed + list(carry) if c not in df.columns]
    if missing:
        raise InvalidInputError(
            f"the DataFrame lacks the column(s) {missing} (it has {df.columns}); the model "
            f"{model_path} needs {needed}")
    spark = df.sparkSession
    # Shipped under a name derived from its bytes: Spark refuses a second, different file of
    # the same name in one session (a model retrained under the same path).
    with open(model_path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    name = f"synthad-{digest}.synthad"
    shipped = os.path.join(tempfile.gettempdir(), name)
    if not os.path.exists(shipped):
        shutil.copyfile(model_path, shipped + ".partial")
        os.replace(shipped + ".partial", shipped)
    spark.sparkContext.addFile(shipped)
    fields = [df.schema[c] for c in carry] + [StructField("score", FloatType(), False)]
    if predict:
        fields.append(StructField("prediction", IntegerType(), False))
    columns = list(dict.fromkeys(list(carry) + needed))

    def score_partition(batches):
        from . import set_threads

        # Once per worker process (Spark reuses workers between tasks): later calls are no-ops.
        set_threads(threads)
        model = load_cached(SparkFiles.get(name))
        for batch in batches:
            yield score_batch(batch, model, carry, predict)

    return df.select(*columns).mapInArrow(score_partition, StructType(fields))


def training_sample(df, label_column, normal, known, normals=100_000, seed=0):
    """A pandas DataFrame for ``SynthAD.fit`` on the driver, and its ``y``: every row whose
    ``label_column`` is in ``known`` (y = 1) and a uniform sample of about ``normals`` rows
    whose label is in ``normal`` (y = 0); other labels are left out. Sampling is Spark's
    (``DataFrame.sample`` per partition, seeded), so the rows never all pass through one
    executor."""
    from pyspark.sql import functions as F

    normal, known = list(normal), list(known)
    labels = F.col(label_column).cast("string")
    total = df.filter(labels.isin(normal)).count()
    if total == 0:
        raise InvalidInputError(f"no rows have a normal label {normal} in column {label_column!r}")
    fraction = min(1.0, normals / total)
    normal_rows = df.filter(labels.isin(normal)).sample(fraction=fraction, seed=seed)
    known_rows = df.filter(labels.isin(known))
    frame = normal_rows.unionByName(known_rows).toPandas()
    y = frame.pop(label_column).astype(str).isin(known).astype(int).to_numpy()
    return frame, y
