"""synthad on a real local Spark session: scores equal `synthad score`'s row for row on the
thyroid and nsl-kdd test files, bad rows fail the job with synthad's message, and a training
sample drawn from a DataFrame fits on the driver. Run with `bash python/spark.sh`."""

import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import synthad
import synthad.spark

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
from conftest import _required_or_skip, cli, data_dir  # noqa: E402,F401  (fixtures)

pyspark = pytest.importorskip("pyspark")


@pytest.fixture(scope="module")
def spark():
    if not shutil.which("java") and not os.environ.get("JAVA_HOME"):
        _required_or_skip("a Java runtime", "install openjdk-17-jre-headless")
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("synthad-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.sql.execution.arrow.maxRecordsPerBatch", "2000")
               .getOrCreate())
    yield session
    session.stop()


def headerless(spark, path, names):
    """A header-less file as the CLI reads it: columns named by position ("0", "1", ...)."""
    df = spark.read.csv(str(path), header=False, inferSchema=True)
    return df.toDF(*[str(i) for i in range(len(df.columns))]).select(*names)


CASES = {
    "thyroid": dict(train="thyroid/ann-train.data", test="thyroid/ann-test.data", label="21",
                    args=["--normal", "3", "--known", "1", "--detector", "gbt"], columns=22),
    "nsl-kdd": dict(train="nsl-kdd/KDDTrain+_20Percent.txt", test="nsl-kdd/KDDTest+.txt", label="41",
                    args=["--normal", "normal", "--known", "neptune", "--ignore", "42",
                          "--detector", "classifier", "--hidden", "64", "--max-epochs", "3"],
                    columns=43),
}


@pytest.mark.parametrize("case", list(CASES))
def test_spark_scores_equal_the_cli_row_for_row(spark, cli, data_dir, tmp_path, case):
    spec = CASES[case]
    model = tmp_path / "m.synthad"
    subprocess.run([cli, "train", "-q", "--data", str(data_dir / spec["train"]), "--label-column",
                    spec["label"], *spec["args"], "--model", str(model)], check=True)
    out = tmp_path / "cli.csv"
    subprocess.run([cli, "score", "-q", "--model", str(model), "--data", str(data_dir / spec["test"]),
                    "--out", str(out), "--predict"], check=True)
    expected = pd.read_csv(out)

    from pyspark.sql import functions as F

    names = [str(i) for i in range(spec["columns"])]
    df = headerless(spark, data_dir / spec["test"], names).withColumn(
        "row", F.monotonically_increasing_id())
    scored = synthad.spark.score(df.repartition(3, "row"), str(model), carry=["row", spec["label"]],
                                 predict=True)
    got = scored.toPandas().sort_values("row").reset_index(drop=True)
    assert len(got) == len(expected)
    np.testing.assert_array_equal(got["score"].to_numpy(np.float32),
                                  expected["score"].to_numpy(np.float32))
    np.testing.assert_array_equal(got["prediction"].to_numpy(), expected["anomaly"].to_numpy())


def test_bad_rows_fail_the_job_with_synthads_message(spark, cli, data_dir, tmp_path):
    model = tmp_path / "m.synthad"
    subprocess.run([cli, "train", "-q", "--data", str(data_dir / "thyroid/ann-train.data"),
                    "--label-column", "21", "--normal", "3", "--known", "1", "--detector", "iforest",
                    "--model", str(model)], check=True)
    names = [str(i) for i in range(22)]
    df = headerless(spark, data_dir / "thyroid/ann-test.data", names)
    # A column the model needs is missing: refused on the driver, naming it.
    with pytest.raises(synthad.InvalidInputError, match=r"lacks the column\(s\) \['5'\]"):
        synthad.spark.score(df.drop("5"), str(model))
    # Text in a numeric column: the job fails with synthad's message naming the column.
    from pyspark.sql import functions as F

    bad = df.withColumn("5", F.when(F.col("21") == 1, F.lit("high")).otherwise(F.col("5").cast("string")))
    with pytest.raises(Exception, match=r'"high" is not a number.*column 5|column 5.*"high"'):
        synthad.spark.score(bad, str(model)).collect()


def test_a_training_sample_fits_on_the_driver(spark, data_dir):
    names = [str(i) for i in range(43)]
    df = headerless(spark, data_dir / "nsl-kdd/KDDTrain+_20Percent.txt", names).drop("42")
    frame, y = synthad.spark.training_sample(df, "41", normal=["normal"], known=["neptune"],
                                             normals=3000, seed=1)
    assert y.sum() == df.filter("`41` = 'neptune'").count()
    assert 2500 < (y == 0).sum() < 3500
    assert "41" not in frame.columns
    detector = synthad.SynthAD(detector="gbt", random_state=0).fit(frame, y)
    test = headerless(spark, data_dir / "nsl-kdd/KDDTest+.txt", names).limit(500).toPandas()
    assert np.isfinite(detector.decision_function(test.drop(columns=["41", "42"]))).all()


def test_the_example_runs_as_documented(cli, data_dir):
    """examples/spark_scoring.py, as its docstring says to run it, matches the CLI."""
    repo = pathlib.Path(__file__).resolve().parents[2]
    env = dict(os.environ, SYNTHAD_BIN=cli, SYNTHAD_DATA=str(data_dir), PYSPARK_PYTHON=sys.executable)
    out = subprocess.run([sys.executable, str(repo / "examples" / "spark_scoring.py")], env=env,
                         check=True, capture_output=True, text=True).stdout
    assert "rows scored on Spark" in out
    assert "identical to `synthad score`: yes" in out, out
