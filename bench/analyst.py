"""The analyst features measured: conformal false-positive rates over seeds, the accuracy of
explanations where the anomalous column is known by construction, and what explaining costs.

    .venv/bin/python bench/analyst.py [--seeds 20] [--out docs/results/analyst.json]

(`bash python/install.sh` first.) Data: $SYNTHAD_DATA, else ../shared/data.

1. FPR: per data set and seed, a detector is fitted on a random 80% of the training file's
   normal rows and its known anomalies (synthad holds 10% of those normals out again as
   calibration normals); rows are flagged where the conformal p-value is at most 0.01 / 0.05.
   Measured on (a) the 20% of training normals the fit never saw — exchangeable with the
   calibration normals, where split conformal prediction guarantees E[FPR] <= alpha — and
   (b) the test file's normals, which come from another collection.
2. Attribution: 10 standard-normal columns; an anomaly is a normal row with one column moved
   4 to 6 standard deviations; known anomalies move columns 0-4, test anomalies any column
   (half of them kinds no label showed). Accuracy: the share of test anomalies whose top
   reason (`explain(X, top=1)`) is the moved column.
3. Cost: rows per second of explain(X) beside decision_function(X) on the same rows.
"""

import argparse
import json
import os
import pathlib
import sys
import time

import numpy as np
import pandas as pd

import synthad

REPO = pathlib.Path(__file__).resolve().parents[1]
DATA = pathlib.Path(os.environ.get("SYNTHAD_DATA") or REPO.parent / "shared" / "data")


def thyroid():
    read = lambda f: pd.read_csv(DATA / "thyroid" / f, header=None).drop(columns=[22])
    train, test = read("ann-train.data"), read("ann-test.data")
    split = lambda d: (d.drop(columns=[21]).rename(columns=str), d[21].astype(str))
    (xtr, ytr), (xte, yte) = split(train), split(test)
    return xtr, ytr == "3", ytr == "1", xte, yte == "3"


def nsl_kdd():
    read = lambda f: pd.read_csv(DATA / "nsl-kdd" / f, header=None).drop(columns=[42])
    train, test = read("KDDTrain+_20Percent.txt"), read("KDDTest+.txt")
    def split(d):
        x = d.drop(columns=[41]).rename(columns=str)
        for c in ["1", "2", "3"]:
            x[c] = x[c].astype(str)
        return x, d[41]
    (xtr, ytr), (xte, yte) = split(train), split(test)
    return xtr, ytr == "normal", ytr == "neptune", xte, yte == "normal"


def fpr_table(seeds, detectors):
    rows = []
    for name, load in [("thyroid", thyroid), ("nsl-kdd", nsl_kdd)]:
        xtr, normal, known, xte, test_normal = load()
        for detector in detectors:
            rates = {k: [] for k in ["held-out 0.01", "held-out 0.05", "test 0.01", "test 0.05"]}
            for seed in range(seeds):
                rng = np.random.default_rng(seed)
                normals = np.flatnonzero(normal)
                rng.shuffle(normals)
                cut = int(0.8 * len(normals))
                fit_rows = np.r_[normals[:cut], np.flatnonzero(known)]
                held = normals[cut:]
                y = known.to_numpy()[fit_rows].astype(int)
                model = synthad.SynthAD(detector=detector, random_state=seed).fit(
                    xtr.iloc[fit_rows], y)
                p_held = model.p_values(xtr.iloc[held])
                p_test = model.p_values(xte[test_normal.to_numpy()])
                for alpha in [0.01, 0.05]:
                    rates[f"held-out {alpha}"].append(float(np.mean(p_held <= alpha)))
                    rates[f"test {alpha}"].append(float(np.mean(p_test <= alpha)))
                print(name, detector, seed, {k: round(v[-1], 4) for k, v in rates.items()},
                      file=sys.stderr)
            rows.append({"data": name, "detector": detector, "seeds": seeds,
                         "held_out_normals": len(held), "test_normals": int(test_normal.sum()),
                         **{k: {"mean": float(np.mean(v)), "std": float(np.std(v)),
                                "max": float(np.max(v))} for k, v in rates.items()}})
    return rows


def shifted(n, d, columns, rng):
    x = rng.normal(size=(n, d))
    moved = rng.choice(columns, size=n)
    x[np.arange(n), moved] += rng.choice([-1, 1], size=n) * rng.uniform(4, 6, size=n)
    return x, moved


def attribution(detectors, seed=0):
    rng = np.random.default_rng(seed)
    d = 10
    names = [f"x{j}" for j in range(d)]
    normal = rng.normal(size=(3000, d))
    known, _ = shifted(30, d, np.arange(5), rng)
    test, moved = shifted(400, d, np.arange(d), rng)
    frame = lambda a: pd.DataFrame(a, columns=names)
    X = frame(np.vstack([normal, known]))
    y = np.r_[np.zeros(len(normal), int), np.ones(len(known), int)]
    rows = []
    for detector in detectors:
        model = synthad.SynthAD(detector=detector, random_state=seed).fit(X, y)
        start = time.perf_counter()
        top = model.explain(frame(test), top=1)
        explain_s = time.perf_counter() - start
        start = time.perf_counter()
        model.decision_function(frame(test))
        score_s = time.perf_counter() - start
        right = top["reason_1"].to_numpy() == np.asarray(names)[moved]
        seen = moved < 5
        full = model.explain(frame(test), top=None)
        residual = (full["score"] - full["baseline"] - full[names].sum(axis=1)).abs()
        scale = (full["score"] - full["baseline"]).abs().max()
        rows.append({"detector": detector, "anomalies": len(test),
                     "top_is_moved": float(right.mean()),
                     "top_is_moved_seen_columns": float(right[seen].mean()),
                     "top_is_moved_unseen_columns": float(right[~seen].mean()),
                     "max_residual_over_range": float(residual.max() / scale),
                     "explain_rows_per_s": len(test) / explain_s,
                     "score_rows_per_s": len(test) / score_s})
        print(rows[-1], file=sys.stderr)
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--fpr-detectors", default="gbt,auto")
    parser.add_argument("--detectors", default="classifier,deepsad,abc,drocc,gbt,iforest,auto")
    parser.add_argument("--out")
    args = parser.parse_args()
    synthad.set_threads(0)
    result = {"command": "python bench/analyst.py " + " ".join(sys.argv[1:]),
              "fpr": fpr_table(args.seeds, args.fpr_detectors.split(",")),
              "attribution": attribution(args.detectors.split(","))}
    print("\nFPR at p <= alpha (mean ± std over seeds, max):")
    for r in result["fpr"]:
        cells = "  ".join(f"{k} {r[k]['mean']:.4f}±{r[k]['std']:.4f} (max {r[k]['max']:.4f})"
                          for k in ["held-out 0.01", "held-out 0.05", "test 0.01", "test 0.05"])
        print(f"  {r['data']:<8} {r['detector']:<10} {cells}")
    print("\nTop reason = moved column:")
    for r in result["attribution"]:
        print(f"  {r['detector']:<10} {r['top_is_moved']:.3f} (seen columns "
              f"{r['top_is_moved_seen_columns']:.3f}, unseen {r['top_is_moved_unseen_columns']:.3f});"
              f" residual/range {r['max_residual_over_range']:.1e}; explain "
              f"{r['explain_rows_per_s']:,.0f} rows/s vs score {r['score_rows_per_s']:,.0f}")
    if args.out:
        pathlib.Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
