"""Puts synthad's bench results beside the anchors of ../shared/ANCHORS.md.

    python3 bench/anchors_table.py docs/results/bench.json ../shared/ANCHORS.md
    python3 bench/anchors_table.py docs/results/bench.json ../shared/ANCHORS.md --ranks
    python3 bench/anchors_table.py docs/results/bench-auto.json ../shared/ANCHORS.md --auto

Prints markdown tables (AUPR overall, seen, unseen): synthad's methods, then the anchors, with
the best cell of each row in bold; after each, the best synthad method against the best anchor
per scenario. With --ranks: each synthad method's mean AUPR rank among the nine anchors plus
itself (rank 1 = best; per scenario, by mean AUPR over seeds rounded to the anchors' three
decimals, ties sharing their average rank), and, for reference, each anchor's mean rank among
the anchors plus the synthad method ranked best. With --auto: per scenario, what `auto` chose
(each candidate's mean weight over seeds), its fitting time against the paper's classifier
(`synthetic`), and AUPR on unseen kinds beside `synthetic`'s. Standard library only.
"""
import json
import re
import sys


def parse_anchors(path):
    """{table title: {scenario: {method: (mean, std)}}} from the ANCHORS markdown tables."""
    tables, title, header = {}, None, None
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if line.startswith("### "):
            title, header = line[4:], None
            tables[title] = {}
        elif line.startswith("|") and title:
            cells = [c.strip() for c in line.strip("|").split("|")]
            if header is None:
                header = cells
            elif not set(cells[0]) <= set("-"):
                row = {}
                for method, cell in zip(header[1:], cells[1:]):
                    m = re.match(r"([\d.]+) ± ([\d.]+)", cell)
                    if m:
                        row[method] = (float(m.group(1)), float(m.group(2)))
                tables[title][cells[0]] = row
    return tables


def rank_of(value, others):
    """1-based rank of `value` among itself and `others`, higher better, ties averaged."""
    above = sum(o > value for o in others)
    tied = sum(o == value for o in others)
    return 1 + above + tied / 2


def ranks(bench, anchors):
    table = next(t for name, t in anchors.items() if name.startswith("AUPR, all"))
    ours = {(r["scenario"], r["method"]): r["aupr"]["mean"] for r in bench["summary"] if r["aupr"]}
    scenarios = [s for s in bench["scenarios"] if s in table]
    anchor_methods = list(next(iter(table.values())).keys())
    print(f"Mean AUPR rank among the {len(anchor_methods)} anchors plus the method, "
          f"over {len(scenarios)} scenarios (1 = best):\n")
    print("| method | mean rank | scenarios ranked first |")
    print("|---|---|---|")
    results = []
    for m in bench["methods"]:
        rs = []
        for s in scenarios:
            if (s, m) not in ours:
                continue
            mine = round(ours[(s, m)], 3)
            rs.append(rank_of(mine, [v[0] for v in table[s].values()]))
        if rs:
            results.append((sum(rs) / len(rs), m, sum(r == 1 for r in rs), len(rs)))
    for mean, m, first, n in sorted(results):
        print(f"| synthad {m} | {mean:.2f} | {first} of {n} |")
    best = sorted(results)[0][1] if results else None
    if best:
        print(f"\nEach anchor among the other anchors plus synthad {best}:\n")
        print("| anchor | mean rank |")
        print("|---|---|")
        rows = []
        for a in anchor_methods:
            rs = []
            for s in scenarios:
                others = [v[0] for k, v in table[s].items() if k != a]
                if (s, best) in ours:
                    others.append(round(ours[(s, best)], 3))
                rs.append(rank_of(table[s][a][0], others))
            rows.append((sum(rs) / len(rs), a))
        for mean, a in sorted(rows):
            print(f"| {a} | {mean:.2f} |")


def auto_report(bench):
    runs = bench["runs"]
    by = lambda s, m: [r for r in runs if r["scenario"] == s and r["method"] == m]
    names = []
    for r in runs:
        for c in (r.get("leaderboard") or {}).get("candidates", []):
            if c["name"] not in names:
                names.append(c["name"])
    print("| scenario | " + " | ".join(names) + " | auto s / synthetic s (max over seeds) |")
    print("|---|" + "---|" * (len(names) + 1))
    ratios, unseen = [], []
    for s in bench["scenarios"]:
        auto, synthetic = by(s, "auto"), by(s, "synthetic")
        if not auto:
            continue
        weights = []
        for n in names:
            w = [next((c["weight"] for c in r["leaderboard"]["candidates"] if c["name"] == n), 0.0)
                 for r in auto]
            weights.append(sum(w) / len(w))
        seconds = {r["seed"]: r["seconds"] for r in synthetic}
        per_seed = [r["seconds"] / seconds[r["seed"]] for r in auto if r["seed"] in seconds]
        ratio = (f"{sum(per_seed) / len(per_seed):.1f}x ({max(per_seed):.1f}x)" if per_seed else "-")
        ratios.extend(per_seed)
        print(f"| {s} | " + " | ".join(f"{w:.2f}" if w else "-" for w in weights) + f" | {ratio} |")
        a = [r["report"]["unseen_aupr"] for r in auto if r["report"].get("unseen_aupr") is not None]
        b = [r["report"]["unseen_aupr"] for r in synthetic if r["report"].get("unseen_aupr") is not None]
        if a and b:
            unseen.append((s, sum(a) / len(a), sum(b) / len(b)))
    if ratios:
        print(f"\nauto's fitting time over synthetic's: mean {sum(ratios) / len(ratios):.1f}x, "
              f"largest {max(ratios):.1f}x (one scenario and seed).")
    if unseen:
        print("\n| scenario | unseen AUPR auto | unseen AUPR synthetic |")
        print("|---|---|---|")
        for s, a, b in unseen:
            print(f"| {s} | {a:.3f} | {b:.3f} |")
        mean = lambda i: sum(u[i] for u in unseen) / len(unseen)
        print(f"| mean | {mean(1):.3f} | {mean(2):.3f} |")


def main():
    bench = json.load(open(sys.argv[1], encoding="utf-8"))
    anchors = parse_anchors(sys.argv[2])
    if "--ranks" in sys.argv[3:]:
        return ranks(bench, anchors)
    if "--auto" in sys.argv[3:]:
        return auto_report(bench)
    ours = {(r["scenario"], r["method"]): r for r in bench["summary"]}
    methods = bench["methods"]
    for key, title in [("aupr", "AUPR, all test anomalies"),
                       ("seen_aupr", "AUPR on seen kinds (macro mean)"),
                       ("unseen_aupr", "AUPR on unseen kinds (macro mean)")]:
        anchor_table = next((t for name, t in anchors.items() if name.startswith(title)), {})
        anchor_methods = []
        for row in anchor_table.values():
            for m in row:
                if m not in anchor_methods:
                    anchor_methods.append(m)
        rows = []
        for s in bench["scenarios"]:
            cells = {}
            for m in methods:
                stat = ours.get((s, m), {}).get(key)
                if stat:
                    cells["synthad " + m] = (stat["mean"], stat["std"])
            for m in anchor_methods:
                if m in anchor_table.get(s, {}):
                    cells[m] = anchor_table[s][m]
            if any(k.startswith("synthad") for k in cells) and len(cells) > len(methods):
                rows.append((s, cells))
        if not rows:
            continue
        columns = ["synthad " + m for m in methods] + anchor_methods
        print(f"\n#### {title}: synthad beside the anchors\n")
        print("| scenario | " + " | ".join(columns) + " |")
        print("|" + "---|" * (len(columns) + 1))
        for s, cells in rows:
            best = max(v[0] for v in cells.values())
            out = []
            for c in columns:
                if c in cells:
                    text = f"{cells[c][0]:.3f} ± {cells[c][1]:.3f}"
                    out.append(f"**{text}**" if cells[c][0] == best else text)
                else:
                    out.append("-")
            print(f"| {s} | " + " | ".join(out) + " |")
        print(f"\n{title}, best of each side:\n")
        print("| scenario | best synthad (method) | best anchor (method) | synthad − anchor |")
        print("|---|---|---|---|")
        ahead = 0
        for s, cells in rows:
            def best(side):
                items = [(v[0], k) for k, v in cells.items() if k.startswith("synthad ") == side]
                top = max(v for v, _ in items)
                names = [k.removeprefix("synthad ") for v, k in items if v == top]
                return top, ", ".join(names)
            (a, am), (b, bm) = best(True), best(False)
            ahead += a > b
            print(f"| {s} | {a:.3f} ({am}) | {b:.3f} ({bm}) | {a - b:+.3f} |")
        print(f"\nsynthad ahead on {ahead} of {len(rows)} scenarios.")


if __name__ == "__main__":
    main()
