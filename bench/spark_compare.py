"""Spark `local[2]` scoring against `synthad score`, on the same Parquet file and cores.
Run through bench/spark.sh:

    bash bench/spark.sh [--rows 1000000] [--detectors gbt,auto] [--out FILE]

Per detector: rows/s of
  - `cli`:    `synthad --threads T score` on the Parquet file, T = 1 and 2 (read, score, write CSV);
  - `spark`:  `synthad.spark.score` on `spark.read.parquet(file)` in a local[2] session, written to
              Spark's `noop` sink (every row computed, nothing stored), one synthad thread per task;
and per-core throughput (rows/s / cores); medians of three passes (Spark's after a warm-up pass). Memory: the peak resident memory of Spark's Python
workers and of its JVM while scoring 1/4, 1/2 and all of the rows (polled from /proc every
0.1 s), to show it does not grow with the rows.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import threading
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
CLI = REPO / "target" / "release" / "synthad"


def rss_by_kind():
    """Resident MiB of Spark's Python workers (summed) and of its JVM."""
    python, jvm = 0, 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ")
            rss = next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS"))
        except (OSError, StopIteration):
            continue
        if b"pyspark.daemon" in cmd or b"pyspark/daemon" in cmd or b"pyspark.worker" in cmd:
            python += rss
        elif b"org.apache.spark" in cmd:
            jvm += rss
    return python / 1024, jvm / 1024


class PeakMemory:
    def __enter__(self):
        self.peak = (0.0, 0.0)
        self.running = True
        def poll():
            while self.running:
                p, j = rss_by_kind()
                self.peak = (max(self.peak[0], p), max(self.peak[1], j))
                time.sleep(0.1)
        self.thread = threading.Thread(target=poll, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--detectors", default="gbt,auto")
    parser.add_argument("--out")
    args = parser.parse_args()
    from pyspark.sql import SparkSession

    import synthad.spark

    results = {"command": "bash bench/spark.sh " + " ".join(sys.argv[1:]), "cpu_cores": os.cpu_count(),
               "rows": args.rows, "detectors": [], "memory": []}
    with tempfile.TemporaryDirectory() as work:
        make = ["cargo", "run", "-q", "--release", "-p", "synthad", "--example", "make_scoring_data", "--"]
        train, data = f"{work}/train.parquet", f"{work}/score.parquet"
        subprocess.run(make + [train, "20000"], check=True, cwd=REPO)
        subprocess.run(make + [data, str(args.rows)], check=True, cwd=REPO)
        spark = (SparkSession.builder.master("local[2]").appName("synthad-bench")
                 .config("spark.ui.enabled", "false").config("spark.driver.memory", "2g")
                 .getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
        df = spark.read.parquet(data)
        for detector in args.detectors.split(","):
            model = f"{work}/{detector}.synthad"
            subprocess.run([str(CLI), "train", "-q", "--data", train, "--label-column", "label",
                            "--normal", "normal", "--known", "odd", "--detector", detector,
                            "--seed", "0", "--model", model], check=True, capture_output=True)
            row = {"detector": detector}
            for threads in (1, 2):
                passes = []
                for _ in range(3):
                    start = time.perf_counter()
                    subprocess.run([str(CLI), "--threads", str(threads), "score", "-q", "--model",
                                    model, "--data", data, "--out", f"{work}/cli.csv", "--carry",
                                    "label", "--predict"], check=True, capture_output=True)
                    passes.append(time.perf_counter() - start)
                row[f"cli_{threads}_thread_rows_per_s"] = args.rows / sorted(passes)[1]
            scored = lambda frame: synthad.spark.score(frame, model, carry=["label"], predict=True)
            # The first pass over the file warms the workers and the JVM's compiler (a second
            # pass ran 1.9x faster in a trial); the median of three passes after it counts.
            scored(df).write.format("noop").mode("overwrite").save()
            passes = []
            for _ in range(3):
                start = time.perf_counter()
                scored(df).write.format("noop").mode("overwrite").save()
                passes.append(time.perf_counter() - start)
            row["spark_local2_rows_per_s"] = args.rows / sorted(passes)[1]
            row["spark_per_core_over_cli_1_thread"] = (row["spark_local2_rows_per_s"] / 2) / row["cli_1_thread_rows_per_s"]
            row["spark_per_core_over_cli_2_threads_per_core"] = (row["spark_local2_rows_per_s"] / 2) / (row["cli_2_thread_rows_per_s"] / 2)
            print(json.dumps(row), file=sys.stderr)
            results["detectors"].append(row)
        detector = args.detectors.split(",")[0]
        model = f"{work}/{detector}.synthad"
        for share in (4, 2, 1):
            rows = args.rows // share
            with PeakMemory() as peak:
                synthad.spark.score(df.limit(rows), model, carry=["label"], predict=True) \
                    .write.format("noop").mode("overwrite").save()
            entry = {"detector": detector, "rows": rows, "python_workers_peak_mib": peak.peak[0],
                     "jvm_peak_mib": peak.peak[1]}
            print(json.dumps(entry), file=sys.stderr)
            results["memory"].append(entry)
        spark.stop()
    print(json.dumps(results, indent=1))
    if args.out:
        pathlib.Path(args.out).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
