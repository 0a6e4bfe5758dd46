"""What synthetic anomalies changed for each detector: the difference `NAME+synthetic − NAME`
(and, for the paper's classifier, `synthetic − vanilla`) per scenario, from a bench JSON.

    python3 bench/synthetic_effect.py docs/results/bench.json

Prints markdown: AUPR over all test anomalies and over unseen kinds, a cell per scenario and
detector ("+0.095" where the synthetic form is higher), a row counting where the synthetic
form is ahead, level or behind by more than one standard deviation of the plain form, and the
seconds per fit. Standard library only.
"""
import json
import sys

PAIRS = [("classifier", "vanilla", "synthetic"), ("deepsad", "deepsad", "deepsad+synthetic"),
         ("abc", "abc", "abc+synthetic"), ("drocc", "drocc", "drocc+synthetic"),
         ("gbt", "gbt", "gbt+synthetic")]


def main():
    bench = json.load(open(sys.argv[1], encoding="utf-8"))
    rows = {(r["scenario"], r["method"]): r for r in bench["summary"]}
    pairs = [p for p in PAIRS if p[1] in bench["methods"] and p[2] in bench["methods"]]
    for key, title in [("aupr", "AUPR, all test anomalies"),
                       ("unseen_aupr", "AUPR on unseen kinds (scenarios that hold kinds out)")]:
        print(f"#### {title}: synthetic form − plain form\n")
        print("| scenario | " + " | ".join(p[0] for p in pairs) + " |")
        print("|---" * (len(pairs) + 1) + "|")
        tally = {p[0]: [0, 0, 0] for p in pairs}
        for s in bench["scenarios"]:
            cells = []
            for name, plain, synth in pairs:
                a, b = rows[(s, plain)].get(key), rows[(s, synth)].get(key)
                if not a or not b:
                    cells.append("—")
                    continue
                d = b["mean"] - a["mean"]
                noise = max(a["std"], b["std"])
                tally[name][0 if d > noise else (2 if d < -noise else 1)] += 1
                cells.append(f"{d:+.3f}")
            if any(c != "—" for c in cells):
                print(f"| {s} | " + " | ".join(cells) + " |")
        print("| **ahead / level / behind** (beyond 1 std) | "
              + " | ".join("{} / {} / {}".format(*tally[p[0]]) for p in pairs) + " |\n")
    print("#### Seconds per fit and scoring, mean over scenarios and seeds\n")
    methods = bench["methods"]
    print("| " + " | ".join(methods) + " |")
    print("|---" * len(methods) + "|")
    mean = lambda m: sum(rows[(s, m)]["seconds"]["mean"] for s in bench["scenarios"]) / len(bench["scenarios"])
    print("| " + " | ".join(f"{mean(m):.2f}" for m in methods) + " |")
    slow = lambda m: max(bench["scenarios"], key=lambda s: rows[(s, m)]["seconds"]["mean"])
    print("| " + " | ".join(f"max {rows[(slow(m), m)]['seconds']['mean']:.1f} ({slow(m)})" for m in methods) + " |")


if __name__ == "__main__":
    main()
