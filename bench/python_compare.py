"""synthad from Python against the same work on the command line, and against PyOD's, DeepOD's
and scikit-learn's counterparts (Isolation Forest, DeepSAD, HistGradientBoosting), on the same rows (PROTOCOL.md's splits for one seed).

    python bench/python_compare.py [--seed 0] [--rounds 3] [--out docs/results/python-compare.json]
                                   [--scenarios nsl-kdd,thyroid,mvtec-cable] [--detectors ...]

Run it through `bash bench/python.sh`, which builds the venv it needs (torch, DeepOD, PyOD).

For each synthad detector it times, side by side and alternating (median of --rounds):
  - the CLI: `synthad train` and `synthad score` (whole processes) on a Parquet copy of the rows;
  - Python: `SynthAD.fit` on a DataFrame of the same rows, split into the training itself and
    the scoring of the training rows that PyOD's contract adds (`decision_scores_`), and
    `decision_function` on the test rows; also the time spent converting the DataFrame into
    the core's columns.
It checks that both give the same scores, and reports AUPR on the test rows beside the time.
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
import pandas as pd
from sklearn.metrics import average_precision_score

import synthad
from synthad import _core

REPO = pathlib.Path(__file__).resolve().parents[1]
DATA = pathlib.Path(os.environ.get("SYNTHAD_DATA", REPO.parent / "shared" / "data"))
CLI = os.environ.get("SYNTHAD_BIN", str(REPO / "target" / "release" / "synthad"))
NSL_COLUMNS = [f"c{i}" for i in range(41)] + ["attack", "difficulty"]


def nsl_kdd(rng):
    families = pd.read_csv(REPO / "examples" / "nsl-kdd-families.csv").set_index("label")["kind"]
    train = pd.read_csv(DATA / "nsl-kdd" / "KDDTrain+_20Percent.txt", names=NSL_COLUMNS)
    test = pd.read_csv(DATA / "nsl-kdd" / "KDDTest+.txt", names=NSL_COLUMNS)
    dos = np.flatnonzero(train["attack"].map(families).eq("DoS").to_numpy())
    known = rng.choice(dos, size=round(0.1 * len(dos)), replace=False)
    normal = np.flatnonzero(train["attack"].eq("normal").to_numpy())
    rows = np.sort(np.r_[normal, known])
    features = NSL_COLUMNS[:41]
    X = train.iloc[rows][features].reset_index(drop=True)
    y = np.isin(rows, known).astype(int)
    return X, y, test[features], test["attack"].ne("normal").to_numpy().astype(int)


def thyroid(rng):
    read = lambda name: pd.read_csv(DATA / "thyroid" / name, header=None).iloc[:, :22]
    train, test = read("ann-train.data"), read("ann-test.data")
    train.columns = test.columns = [f"c{i}" for i in range(21)] + ["class"]
    train = train[train["class"].isin([1, 3])].reset_index(drop=True)
    features = list(train.columns[:21])
    return (train[features], (train["class"] == 1).to_numpy().astype(int), test[features],
            (test["class"] != 3).to_numpy().astype(int))


def npz_scenario(path):
    def split(rng):
        data = np.load(path)
        X, y = data["X"], data["y"].astype(int)
        normal, anomaly = rng.permutation(np.flatnonzero(y == 0)), rng.permutation(np.flatnonzero(y == 1))
        n_train, n_known = round(0.7 * len(normal)), round(0.2 * len(anomaly))
        train_rows = np.r_[normal[:n_train], anomaly[:n_known]]
        test_rows = np.r_[normal[n_train:], anomaly[n_known:]]
        frame = lambda rows: pd.DataFrame(X[rows], columns=[f"x{j}" for j in range(X.shape[1])])
        return frame(train_rows), y[train_rows], frame(test_rows), y[test_rows]
    return split


SCENARIOS = {
    "nsl-kdd": nsl_kdd,
    "thyroid": thyroid,
    "mvtec-cable": npz_scenario(DATA / "adbench" / "cv_vit" / "MVTec-AD_cable.npz"),
}
DETECTORS = ["classifier", "gbt", "deepsad", "iforest", "auto"]


def timed(function):
    start = time.perf_counter()
    value = function()
    return value, time.perf_counter() - start


def run_cli(args):
    return timed(lambda: subprocess.run([CLI, *args, "-q"], check=True, capture_output=True))[1]


def synthad_side_by_side(detector, X, y, X_test, y_test, seed, folder, rounds):
    """The CLI and Python on the same rows, alternating for `rounds` rounds so that both see
    the same machine state: median times, AUPR, and whether the scores agree."""
    train_file, test_file = folder / "train.parquet", folder / "test.parquet"
    model_file, scores_file = folder / f"{detector}.synthad", folder / f"{detector}-scores.csv"
    times = {k: [] for k in ("cli_train", "cli_score", "fit", "train_scoring", "score", "convert")}
    for _ in range(rounds):
        times["cli_train"].append(run_cli([
            "train", "--data", str(train_file), "--label-column", "label", "--normal", "0", "--known", "1",
            "--detector", detector, "--seed", str(seed), "--model", str(model_file)]))
        times["cli_score"].append(run_cli(["score", "--model", str(model_file), "--data", str(test_file),
                                           "--no-label", "--out", str(scores_file)]))
        model = synthad.SynthAD(detector=detector, random_state=seed)
        times["convert"].append(timed(lambda: synthad._columns(X))[1])
        times["fit"].append(timed(lambda: model.fit(X, y))[1])
        times["train_scoring"].append(timed(lambda: model.decision_function(X))[1])  # what fit adds for PyOD
        scores, score = timed(lambda: model.decision_function(X_test))
        times["score"].append(score)
    cli_scores = pd.read_csv(scores_file)["score"].to_numpy(np.float32)
    median = {k: float(np.median(v)) for k, v in times.items()}
    python_compute = median["fit"] - median["train_scoring"] + median["score"]
    return {
        "method": f"synthad {detector}",
        "aupr": average_precision_score(y_test, scores),
        "rounds": rounds,
        "python_fit_s": median["fit"], "python_training_scores_s": median["train_scoring"],
        "python_score_s": median["score"], "python_convert_s": median["convert"],
        "cli_train_s": median["cli_train"], "cli_score_s": median["cli_score"],
        "python_over_cli": python_compute / (median["cli_train"] + median["cli_score"]),
        "scores_identical": bool(np.array_equal(scores.astype(np.float32), cli_scores)),
        "all_times_s": times,
    }


def encoded(X, X_test):
    """One-hot text columns and min-max scaling fitted on the training rows (PROTOCOL.md)."""
    both = pd.get_dummies(pd.concat([X, X_test]), dtype=float)
    train, test = both.iloc[: len(X)].to_numpy(), both.iloc[len(X):].to_numpy()
    lo, span = train.min(axis=0), np.ptp(train, axis=0)
    span[span == 0] = 1
    return ((train - lo) / span).astype(np.float32), ((test - lo) / span).astype(np.float32)


def counterparts(X, y, X_test, y_test, seed):
    import torch
    torch.set_num_threads(os.cpu_count())
    train, test = encoded(X, X_test)
    results = []

    def measure(name, make, fit, score):
        model = make()
        _, fit_s = timed(lambda: fit(model))
        scores, score_s = timed(lambda: score(model))
        results.append({"method": name, "aupr": average_precision_score(y_test, scores),
                        "fit_s": fit_s, "score_s": score_s})

    from pyod.models.iforest import IForest
    measure("PyOD IForest", lambda: IForest(random_state=seed), lambda m: m.fit(train[y == 0]),
            lambda m: m.decision_function(test))
    from sklearn.ensemble import HistGradientBoostingClassifier
    measure("scikit-learn HistGradientBoosting", lambda: HistGradientBoostingClassifier(random_state=seed),
            lambda m: m.fit(train, y), lambda m: m.predict_proba(test)[:, 1])
    from deepod.models.tabular import DeepSAD
    measure("DeepOD DeepSAD (50 epochs)",
            lambda: DeepSAD(epochs=50, device="cpu", verbose=0, random_state=seed),
            lambda m: m.fit(train, y), lambda m: m.decision_function(test))
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--detectors", default=",".join(DETECTORS))
    parser.add_argument("--rounds", type=int, default=3, help="CLI/Python alternations per detector")
    parser.add_argument("--synthad-only", action="store_true", help="leave out the counterparts")
    parser.add_argument("--out", type=pathlib.Path)
    args = parser.parse_args()
    report = {"seed": args.seed, "threads": os.cpu_count(), "rounds": args.rounds, "scenarios": {}}
    for name in args.scenarios.split(","):
        rng = np.random.default_rng(args.seed)
        X, y, X_test, y_test = SCENARIOS[name](rng)
        rows = []
        with tempfile.TemporaryDirectory() as folder:
            folder = pathlib.Path(folder)
            X.assign(label=y).to_parquet(folder / "train.parquet", index=False)
            X_test.to_parquet(folder / "test.parquet", index=False)
            for detector in args.detectors.split(","):
                rows.append(synthad_side_by_side(detector, X, y, X_test, y_test, args.seed, folder,
                                                 args.rounds))
                print(name, json.dumps(rows[-1]), file=sys.stderr, flush=True)
        for row in [] if args.synthad_only else counterparts(X, y, X_test, y_test, args.seed):
            rows.append(row)
            print(name, json.dumps(row), file=sys.stderr, flush=True)
        report["scenarios"][name] = {"train_rows": len(X), "known": int(y.sum()), "test_rows": len(X_test),
                                     "features": X.shape[1], "results": rows}
        print(table(name, report["scenarios"][name]), flush=True)
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")


def table(name, scenario):
    lines = [f"\n{name}: {scenario['train_rows']} training rows ({scenario['known']} known anomalies), "
             f"{scenario['test_rows']} test rows, {scenario['features']} columns",
             "| method | AUPR | fit s | score s | CLI train + score s | Python / CLI | same scores |",
             "|---|---|---|---|---|---|---|"]
    for r in scenario["results"]:
        if "cli_train_s" in r:
            fit = r["python_fit_s"] - r["python_training_scores_s"]
            lines.append(f"| {r['method']} | {r['aupr']:.3f} | {fit:.2f} (+{r['python_training_scores_s']:.2f}) "
                         f"| {r['python_score_s']:.2f} | {r['cli_train_s']:.2f} + {r['cli_score_s']:.2f} "
                         f"| {r['python_over_cli']:.3f} | {'yes' if r['scores_identical'] else 'NO'} |")
        else:
            lines.append(f"| {r['method']} | {r['aupr']:.3f} | {r['fit_s']:.2f} | {r['score_s']:.2f} | | | |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
