#!/usr/bin/env python3
"""Print criterion medians from target/criterion as a table, each with its ratio to the
`floor` benchmark of the same group (the bare chain of n + 2 HMAC-SHA256s measured in that run).

Usage: scripts/bench_table.py [CRITERION_DIR]   (default target/criterion)
"""
import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
rows = {}
for est in sorted(root.glob("**/new/estimates.json")):
    bench = json.loads((est.parent / "benchmark.json").read_text())
    group, name = bench["group_id"], bench["function_id"] or ""
    if bench.get("value_str"):
        name = f"{name}/{bench['value_str']}"
    median_ns = json.loads(est.read_text())["median"]["point_estimate"]
    rows.setdefault(group, {})[name] = (median_ns, bench.get("throughput"))


def fmt(ns):
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"


print("| group | benchmark | median | ratio to floor |")
print("|---|---|---:|---:|")
for group in sorted(rows, key=lambda g: (g.split("/")[0], len(g), g)):
    benches = rows[group]
    floor = benches.get("floor", (None, None))[0]
    for name, (ns, throughput) in sorted(benches.items(), key=lambda kv: (kv[0] != "floor", kv[0])):
        ratio = f"{ns / floor:.2f}×" if floor else "—"
        extra = ""
        if throughput and "Elements" in throughput:
            extra = f" ({throughput['Elements'] / (ns / 1e9):,.0f} tokens/s)"
        print(f"| {group} | {name} | {fmt(ns)}{extra} | {ratio} |")

# The equal-work targets (issue 14): every row below derives the key and builds its verifier in
# the loop, as the floor does; `cached_*` rows are shown above for reference only.
TARGETS = [
    # (group, benchmark, reference, kind, bound)
    ("chain/n=0", "verify_token", "floor", "at most", 1.2),
    ("chain/n=3", "verify_token", "floor", "at most", 1.1),
    ("chain/n=10", "verify_token", "floor", "at most", 1.2),
    ("chain/n=3", "parse_then_verify", "floor", "at most", 1.3),
    ("chain/n=3", "mint_v1", "floor", "at most", 1.1),
    ("chain/n=3", "macaroon_crate_verify", "verify_token", "at least", 6.0),
    ("chain/n=3", "macaroon_crate_mint", "mint_v1", "at least", 6.0),
]
if any(group in rows for group, *_ in TARGETS):
    print()
    print("| equal-work target | ratio | bound | |")
    print("|---|---:|---:|---|")
    for group, name, reference, kind, bound in TARGETS:
        benches = rows.get(group, {})
        if name not in benches or reference not in benches:
            continue
        ratio = benches[name][0] / benches[reference][0]
        met = ratio <= bound if kind == "at most" else ratio >= bound
        label = f"{group} {name} / {reference}"
        print(f"| {label} | {ratio:.2f}× | {kind} {bound:.1f}× | {'met' if met else 'missed'} |")
