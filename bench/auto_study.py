"""Compares rules for auto's choice offline, on what `examples/auto_study.rs` wrote.

    cargo run --release -p synthad --example auto_study -- /tmp/study 0-2
    python3 bench/auto_study.py /tmp/study ../shared/ANCHORS.md

Each rule sees only the held-out (cross-fitted) scores of the candidates — training rows — and
returns weights; the test AUPR of the weighted mean of the candidates' standardised test scores
is what auto would reach with that rule. Prints, per rule, the test AUPR per scenario (mean
over seeds), the mean rank among the anchors, and the AUPR on unseen kinds. Standard library
only.
"""
import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from anchors_table import parse_anchors, rank_of  # noqa: E402


def aupr(scores, positive):
    """Average precision as scikit-learn computes it (tied scores form one threshold)."""
    total = sum(positive)
    if total == 0:
        return None
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    tp = fp = 0
    ap = last_recall = 0.0
    for n, i in enumerate(order):
        if positive[i]:
            tp += 1
        else:
            fp += 1
        if n + 1 == len(order) or scores[order[n + 1]] != scores[i]:
            recall = tp / total
            ap += (recall - last_recall) * tp / (tp + fp)
            last_recall = recall
    return ap


def combine(arrays, weights):
    total = sum(weights)
    out = [0.0] * len(arrays[0])
    for a, w in zip(arrays, weights):
        if w:
            for i, v in enumerate(a):
                out[i] += w / total * v
    return out


def held_estimate(cands, weights, seen_weight, shape_set):
    normal = combine([c["held_normal"] for c in cands], weights)
    parts = []
    known = combine([c["held_known"] for c in cands], weights) if cands[0]["held_known"] else []
    shapes = [combine([c["held_shapes"][s] for c in cands], weights) for s in shape_set]
    def vs_normal(anomalies):
        return aupr(normal + anomalies, [False] * len(normal) + [True] * len(anomalies))
    shape_mean = sum(vs_normal(s) for s in shapes) / len(shapes) if shapes else None
    seen = vs_normal(known) if known else None
    if seen is None:
        return shape_mean
    if shape_mean is None:
        return seen
    return seen_weight * seen + (1 - seen_weight) * shape_mean


def greedy(cands, seen_weight, shape_set, rounds=10, start=None):
    counts = list(start) if start else [0] * len(cands)
    best = held_estimate(cands, counts, seen_weight, shape_set) if start else float("-inf")
    for _ in range(rounds):
        trial = []
        for i in range(len(cands)):
            counts[i] += 1
            trial.append((held_estimate(cands, counts, seen_weight, shape_set), i))
            counts[i] -= 1
        score, i = max(trial, key=lambda t: (t[0], -t[1]))
        if score <= best + 1e-9:
            break
        counts[i] += 1
        best = score
    return counts


def best_single(cands, seen_weight, shape_set):
    scores = [held_estimate(cands, [int(j == i) for j in range(len(cands))], seen_weight, shape_set)
              for i in range(len(cands))]
    top = max(range(len(cands)), key=lambda i: scores[i])
    return [int(i == top) for i in range(len(cands))]


ALL_SHAPES = [0, 1, 2, 3]  # uniform, local, dependency, clustered


def plain(cands):
    return [int("+" not in x["name"]) for x in cands]


def evidence(cands, k0=10):
    k = len(cands[0]["held_known"])
    return k / (k + k0)


RULES = {
    "greedy ½ seen ½ shapes": lambda c: greedy(c, 0.5, ALL_SHAPES),
    "greedy seen only": lambda c: greedy(c, 1.0, ALL_SHAPES),
    "greedy ¾ seen ¼ shapes": lambda c: greedy(c, 0.75, ALL_SHAPES),
    "greedy evidence k/(k+10)": lambda c: greedy(c, evidence(c), ALL_SHAPES),
    "best single ½ ½": lambda c: best_single(c, 0.5, ALL_SHAPES),
    "best single seen": lambda c: best_single(c, 1.0, ALL_SHAPES),
    "equal weights, all": lambda c: [1] * len(c),
    "greedy seen only from all": lambda c: greedy(c, 1.0, ALL_SHAPES, start=[1] * len(c)),
    "greedy ¾ seen from all": lambda c: greedy(c, 0.75, ALL_SHAPES, start=[1] * len(c)),
    "greedy ½ seen from all": lambda c: greedy(c, 0.5, ALL_SHAPES, start=[1] * len(c)),
    "greedy seen only from all, 3 rounds": lambda c: greedy(c, 1.0, ALL_SHAPES, rounds=3, start=[1] * len(c)),
    "greedy seen only from all x2": lambda c: greedy(c, 1.0, ALL_SHAPES, start=[2] * len(c)),
    "equal, no iforest": lambda c: [int(x["name"] != "iforest") for x in c],
    "equal, plain only": lambda c: [int("+" not in x["name"]) for x in c],
    "greedy seen from plain, 3 rounds": lambda c: greedy(c, 1.0, ALL_SHAPES, rounds=3, start=plain(c)),
    "greedy ¾ seen from plain, 3 rounds": lambda c: greedy(c, 0.75, ALL_SHAPES, rounds=3, start=plain(c)),
    "greedy ½ seen from plain, 3 rounds": lambda c: greedy(c, 0.5, ALL_SHAPES, rounds=3, start=plain(c)),
    "greedy seen from plain x2, 3 rounds": lambda c: greedy(c, 1.0, ALL_SHAPES, rounds=3, start=[2 * w for w in plain(c)]),
    "greedy ¾ seen from plain, 3 rounds, k>=5": lambda c: plain(c) if len(c[0]["held_known"]) < 5 else greedy(c, 0.75, ALL_SHAPES, rounds=3, start=plain(c)),
    "greedy ¾ seen from plain, 3 rounds, k>=10": lambda c: plain(c) if len(c[0]["held_known"]) < 10 else greedy(c, 0.75, ALL_SHAPES, rounds=3, start=plain(c)),
    "greedy ¾ seen from plain, 5 rounds": lambda c: greedy(c, 0.75, ALL_SHAPES, rounds=5, start=plain(c)),
    "greedy ¾ seen from plain, 2 rounds": lambda c: greedy(c, 0.75, ALL_SHAPES, rounds=2, start=plain(c)),
    "greedy seen only from all, 1 round": lambda c: greedy(c, 1.0, ALL_SHAPES, rounds=1, start=[1] * len(c)),
    "greedy seen only from all x2, 3 rounds": lambda c: greedy(c, 1.0, ALL_SHAPES, rounds=3, start=[2] * len(c)),
}


def main():
    runs = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(sys.argv[1], "*.json")))]
    anchors = parse_anchors(sys.argv[2]) if len(sys.argv) > 2 else {}
    table = next((t for n, t in anchors.items() if n.startswith("AUPR, all")), {})
    unseen_table = next((t for n, t in anchors.items() if n.startswith("AUPR on unseen")), {})
    names = [c["name"] for c in runs[0]["candidates"]]
    rules = dict(RULES)
    for i, n in enumerate(names):
        rules[f"only {n}"] = (lambda i: lambda c: [int(j == i) for j in range(len(c))])(i)
    scenarios = sorted({r["scenario"] for r in runs}, key=lambda s: [x["scenario"] for x in runs].index(s))
    results = {}
    for rule, choose in rules.items():
        per = {}
        for run in runs:
            cands = run["candidates"]
            weights = choose(cands)
            scores = combine([c["test_scores"] for c in cands], weights)
            kinds = run["test_kinds"]
            overall = aupr(scores, [k is not None for k in kinds])
            unseen = [k for k in set(k for k in kinds if k) if k not in run["seen_kinds"]]
            unseen_aupr = None
            if unseen:
                vals = []
                for kind in unseen:
                    rows = [i for i, k in enumerate(kinds) if k is None or k == kind]
                    vals.append(aupr([scores[i] for i in rows], [kinds[i] == kind for i in rows]))
                unseen_aupr = sum(vals) / len(vals)
            per.setdefault(run["scenario"], []).append((overall, unseen_aupr))
        results[rule] = per
    print("| rule | mean rank | mean AUPR | " + " | ".join(scenarios) + " | unseen nsl/thy/arr |")
    print("|---|---|---|" + "---|" * len(scenarios) + "---|")
    rows = []
    for rule, per in results.items():
        means = {s: sum(v[0] for v in per[s]) / len(per[s]) for s in scenarios}
        ranks = [rank_of(round(means[s], 3), [v[0] for v in table[s].values()])
                 for s in scenarios if s in table]
        unseen = [sum(v[1] for v in per[s]) / len(per[s]) for s in scenarios
                  if per[s][0][1] is not None]
        rows.append((sum(ranks) / max(len(ranks), 1), rule, means, unseen))
    for rank, rule, means, unseen in sorted(rows):
        print(f"| {rule} | {rank:.2f} | {sum(means.values()) / len(means):.3f} | "
              + " | ".join(f"{means[s]:.3f}" for s in scenarios)
              + " | " + "/".join(f"{u:.3f}" for u in unseen) + " |")


if __name__ == "__main__":
    main()
