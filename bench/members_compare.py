"""synthad's `deepsad` and `gbt` against the implementations they are named after (DeepOD 0.4.1's
DeepSAD, scikit-learn's HistGradientBoostingClassifier) on *identical* splits: the ADBench-style
scenarios of PROTOCOL.md (70% of normals train, 20% of anomalies known, the rest test), drawn
here with numpy per seed, then each method fits the same rows. ANCHORS.md's figures come from
other splits; with a handful of test anomalies (glass: 7) the split alone moves AUPR by 0.1-0.2,
so only a paired comparison can tell a real gap from a lucky draw.

    target/torch-venv/bin/python bench/members_compare.py --scenarios glass --seeds 20

Needs torch, deepod==0.4.1, scikit-learn and the synthad wheel in one environment
(`bash bench/python.sh` builds target/torch-venv; then pip install deepod==0.4.1 and the wheel).
"""
import argparse
import json
import os
import sys
import time

import numpy as np
from sklearn.metrics import average_precision_score

FILES = {
    "glass": "adbench/classical/14_glass.npz",
    "cardio": "adbench/classical/6_cardio.npz",
    "mammography": "adbench/classical/23_mammography.npz",
    "thyroid-odds": "adbench/classical/38_thyroid.npz",
    "20news": "adbench/nlp_roberta/20news_3.npz",
    **{f"mvtec-{c}": f"adbench/cv_vit/MVTec-AD_{c}.npz"
       for c in ["bottle", "cable", "capsule", "carpet", "grid", "hazelnut", "leather",
                 "metal_nut"]},
}


def share(n, fraction):
    return min(max(int(round(fraction * n)), 1), n) if n else 0


def split(y, seed):
    rng = np.random.default_rng(seed)
    normal = rng.permutation(np.flatnonzero(y == 0))
    anomalies = rng.permutation(np.flatnonzero(y != 0))
    n_train, n_known = share(len(normal), 0.7), share(len(anomalies), 0.2)
    train = np.concatenate([normal[:n_train], anomalies[:n_known]])
    test = np.concatenate([normal[n_train:], anomalies[n_known:]])
    return train, test


def minmax(train_x, test_x):
    lo, hi = train_x.min(0), train_x.max(0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return (train_x - lo) / span, (test_x - lo) / span


def deepod_deepsad(x, y, test_x, seed):
    from deepod.models.tabular import DeepSAD
    model = DeepSAD(epochs=50, device="cpu", verbose=0, random_state=seed)
    model.fit(x, y)
    return model.decision_function(test_x)


def sklearn_hgb(x, y, test_x, seed):
    from sklearn.ensemble import HistGradientBoostingClassifier
    model = HistGradientBoostingClassifier(random_state=seed).fit(x, y)
    return model.predict_proba(test_x)[:, 1]


def synthad_member(detector):
    def fit_score(x, y, test_x, seed):
        import synthad
        model = synthad.SynthAD(detector=detector, mode="vanilla", random_state=seed,
                                calibration_fraction=0.0)
        model.fit(x, y)
        return model.decision_function(test_x)
    return fit_score


METHODS = {
    "deepod-deepsad": deepod_deepsad,
    "synthad-deepsad": synthad_member("deepsad"),
    "sklearn-hgb": sklearn_hgb,
    "synthad-gbt": synthad_member("gbt"),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenarios", default="glass")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--data-dir", default=os.environ.get("SYNTHAD_DATA", "../shared/data"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", help="write the per-seed AUPRs as JSON")
    args = ap.parse_args()
    import torch
    import synthad
    torch.set_num_threads(args.threads)
    synthad.set_threads(args.threads)
    methods = args.methods.split(",")
    results = {}
    for scenario in args.scenarios.split(","):
        data = np.load(os.path.join(args.data_dir, FILES[scenario]))
        x_all, y_all = data["X"].astype(np.float64), (data["y"] != 0).astype(np.int64)
        rows = {m: [] for m in methods}
        for seed in range(args.seeds):
            train, test = split(y_all, seed)
            x, test_x = minmax(x_all[train], x_all[test])
            for m in methods:
                start = time.perf_counter()
                s = METHODS[m](x, y_all[train], test_x, seed)
                rows[m].append(float(average_precision_score(y_all[test], s)))
                print(f"{scenario} seed {seed} {m}: {rows[m][-1]:.3f} "
                      f"({time.perf_counter() - start:.1f}s)", file=sys.stderr)
        results[scenario] = rows
        print(f"## {scenario} ({args.seeds} seeds, identical splits)")
        for m in methods:
            print(f"{m:16s} {np.mean(rows[m]):.3f} ± {np.std(rows[m]):.3f}")
        for ours, theirs in [("synthad-deepsad", "deepod-deepsad"), ("synthad-gbt", "sklearn-hgb")]:
            if ours in rows and theirs in rows:
                d = np.array(rows[ours]) - np.array(rows[theirs])
                print(f"{ours} - {theirs}: {d.mean():+.3f} (paired std error "
                      f"{d.std(ddof=1) / np.sqrt(len(d)):.3f})")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
