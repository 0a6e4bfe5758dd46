"""ONNX Runtime scoring an exported model against synthad scoring the same model, on the same
rows and threads. Run through bench/onnx.sh, which builds what it needs:

    bash bench/onnx.sh [--rows 200000] [--threads 1,2] [--rounds 3] [--out FILE]

Per detector and thread count, rows per second of
  - `ort`:      InferenceSession.run on the raw columns (float64 / text numpy arrays in memory);
  - `synthad`:  the same rows through synthad's scoring in process (SynthAD.decision_function:
                preprocessing and model, the path `synthad score` takes, without file I/O);
  - `cli`:      `synthad score` end to end on the Parquet file (read, score, write CSV);
medians of alternating rounds, and the largest score difference between ort and synthad (also
divided by the largest |score|).
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
CLI = REPO / "target" / "release" / "synthad"
DETECTORS = ["classifier", "deepsad", "gbt", "iforest", "auto"]


def worker(args):
    """One thread count in one process (synthad's thread pool is set once per process)."""
    import onnxruntime as ort
    import pyarrow.parquet as pq
    import synthad

    threads = int(args.threads)
    synthad.set_threads(threads)
    frame = pq.read_table(args.data).to_pandas().drop(columns=["label"])
    rows = len(frame)
    results = []
    for detector in args.detectors.split(","):
        model_path = pathlib.Path(args.dir) / f"{detector}.synthad"
        onnx_path = pathlib.Path(args.dir) / f"{detector}.onnx"
        model = synthad.load(model_path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        feeds = {i.name: frame[[i.name]].to_numpy(object if i.type == "tensor(string)" else np.float64)
                 for i in session.get_inputs()}
        times = {"ort": [], "synthad": [], "cli": []}
        for _ in range(args.rounds):
            start = time.perf_counter()
            score = session.run(["score"], feeds)[0]
            times["ort"].append(time.perf_counter() - start)
            start = time.perf_counter()
            reference = model.decision_function(frame)
            times["synthad"].append(time.perf_counter() - start)
            with tempfile.NamedTemporaryFile(suffix=".csv") as out:
                start = time.perf_counter()
                subprocess.run([str(CLI), "--threads", str(args.threads), "score", "-q", "--model",
                                str(model_path), "--data", args.data, "--out", out.name], check=True)
                times["cli"].append(time.perf_counter() - start)
        difference = np.abs(score.astype(np.float64) - reference)
        results.append({
            "detector": detector, "threads": threads, "rows": rows,
            **{f"{k}_rows_per_s": rows / float(np.median(v)) for k, v in times.items()},
            "max_abs_difference": float(difference.max()),
            # Relative to the scores' scale: scores near zero (a logit, an ensemble's sum of
            # standardised members) have no meaningful relative error of their own.
            "max_scaled_difference": float(difference.max() / np.abs(reference).max()),
        })
        print(json.dumps(results[-1]), file=sys.stderr)
    print(json.dumps(results))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--detectors", default=",".join(DETECTORS))
    parser.add_argument("--out")
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--data")
    parser.add_argument("--dir")
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    with tempfile.TemporaryDirectory() as work:
        train, data = f"{work}/train.parquet", f"{work}/score.parquet"
        make = ["cargo", "run", "-q", "--release", "-p", "synthad", "--example", "make_scoring_data", "--"]
        subprocess.run(make + [train, "20000"], check=True, cwd=REPO)
        subprocess.run(make + [data, str(args.rows)], check=True, cwd=REPO)
        for detector in args.detectors.split(","):
            model = f"{work}/{detector}.synthad"
            subprocess.run([str(CLI), "train", "-q", "--data", train, "--label-column", "label",
                            "--normal", "normal", "--known", "odd", "--detector", detector,
                            "--seed", "0", "--model", model], check=True)
            subprocess.run([str(CLI), "export", "--model", model, "--out", f"{work}/{detector}.onnx"],
                           check=True, capture_output=True)
        results = []
        for threads in args.threads.split(","):
            out = subprocess.run([sys.executable, __file__, "--worker", "--threads", threads,
                                  "--rounds", str(args.rounds), "--detectors", args.detectors,
                                  "--data", data, "--dir", work], check=True, stdout=subprocess.PIPE,
                                 text=True)
            results += json.loads(out.stdout)
    print(f"{'detector':<11} {'threads':>7} {'ort rows/s':>12} {'synthad rows/s':>15} {'cli rows/s':>12} "
          f"{'ort/synthad':>11} {'max |diff|':>10} {'/ max|score|':>12}")
    for r in results:
        print(f"{r['detector']:<11} {r['threads']:>7} {r['ort_rows_per_s']:>12,.0f} "
              f"{r['synthad_rows_per_s']:>15,.0f} {r['cli_rows_per_s']:>12,.0f} "
              f"{r['ort_rows_per_s'] / r['synthad_rows_per_s']:>11.2f} {r['max_abs_difference']:>10.2e} "
              f"{r['max_scaled_difference']:>12.1e}")
    if args.out:
        pathlib.Path(args.out).write_text(json.dumps({
            "command": "bash bench/onnx.sh " + " ".join(sys.argv[1:]),
            "cpu_cores": os.cpu_count(), "results": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
