"""synthad on Spark, end to end on the thyroid data (../shared/data, or $SYNTHAD_DATA):

    bash python/spark.sh --co -q          # once: target/spark-venv with pyspark and synthad
    cargo build --release                 # the CLI, to compare with
    PYSPARK_PYTHON=target/spark-venv/bin/python target/spark-venv/bin/python examples/spark_scoring.py

1. reads the training file into a Spark DataFrame and draws the training sample on the driver
   (all known anomalies and up to 100,000 normals), fits `auto` there and saves the model file;
2. scores the test file where it lives, with `synthad.spark.score` (mapInArrow; the model file
   reaches the executors through `SparkContext.addFile`);
3. scores the same file with `synthad score` and checks that the scores are identical.
"""

import os
import pathlib
import subprocess
import tempfile

import numpy as np
import pandas as pd
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

import synthad
import synthad.spark

repo = pathlib.Path(__file__).resolve().parents[1]
data = pathlib.Path(os.environ.get("SYNTHAD_DATA") or repo.parent / "shared" / "data") / "thyroid"
spark = (SparkSession.builder.master("local[2]").appName("synthad-example")
         .config("spark.ui.enabled", "false").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")


def read(name):
    """A header-less file, its columns named by position as the CLI names them ("0", "1", ...)."""
    df = spark.read.csv(str(data / name), header=False, inferSchema=True)
    df = df.toDF(*[str(i) for i in range(len(df.columns))])
    return df.drop(*[c for c in df.columns if int(c) > 21])  # the trailing comma's empty column


train = read("ann-train.data")                       # label in column 21: 3 normal, 1 and 2 not
X, y = synthad.spark.training_sample(train, "21", normal=["3"], known=["1"], normals=100_000)
model = synthad.SynthAD(random_state=0).fit(X, y)
work = pathlib.Path(tempfile.mkdtemp())
model.save(work / "thyroid.synthad")
print(f"fitted {model.detector_} on {len(y)} sampled rows ({y.sum()} known anomalies)")

test = read("ann-test.data").withColumn("row", F.monotonically_increasing_id())
scored = synthad.spark.score(test, str(work / "thyroid.synthad"), carry=["row", "21"], predict=True)
scored.orderBy("row").show(5)
result = scored.orderBy("row").toPandas()
print(f"{len(result)} rows scored on Spark, {result.prediction.sum()} flagged")

cli = os.environ.get("SYNTHAD_BIN") or repo / "target" / "release" / "synthad"
if pathlib.Path(cli).is_file():
    subprocess.run([str(cli), "score", "-q", "--model", str(work / "thyroid.synthad"), "--data",
                    str(data / "ann-test.data"), "--out", str(work / "cli.csv"), "--predict"],
                   check=True)
    expected = pd.read_csv(work / "cli.csv")
    same = np.array_equal(result.score.to_numpy(np.float32), expected.score.to_numpy(np.float32)) \
        and np.array_equal(result.prediction.to_numpy(), expected.anomaly.to_numpy())
    print(f"identical to `synthad score`: {'yes' if same else 'NO'}")
else:
    print(f"no CLI at {cli} to compare with: cargo build --release")
spark.stop()
