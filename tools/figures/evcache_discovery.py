#!/usr/bin/env python3
"""The figures docs/stories/netflix.md quotes for scenarios/evcache-zone-outage-discovery.json,
over seeds 1..N: when Eureka evicts the lost zone's first server and when the clients' ring of
the zone goes empty (from each base run's trace), and zone a's median and p99 read over the
outage with and without discovery (measured by expectations added to a copy of the scenario,
with bounds that cannot fail: they only measure).

Usage: tools/figures/evcache_discovery.py [--cli build/src/cli/faultline] [--seeds 100]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCENARIO = os.path.join(ROOT, "scenarios", "evcache-zone-outage-discovery.json")
MEASURED = [  # (label, expectation) over the outage once the zone is unlisted in every seed
    ("zone a p50, 6-11 min", {"metric": "latency_p50", "of": "zone-a", "window": ["6m", "11m"]}),
    ("zone a p99, 6-11 min", {"metric": "latency_p99", "of": "zone-a", "window": ["6m", "11m"]}),
    ("hit rate, 62 s-11 min", {"metric": "availability", "of": "cache", "window": ["62s", "11m"]}),
    ("store reads/s, 62 s-11 min", {"metric": "throughput", "of": "store", "window": ["62s", "11m"]}),
]


def outage_start(doc):
    """The loss's time in seconds (every fault of the scenario starts together)."""
    starts = {f["at"] for f in doc["faults"]}
    if len(starts) != 1 or not next(iter(starts)).endswith("s"):
        sys.exit(f"{SCENARIO}: expected every fault at one time in seconds, found {starts}")
    return float(next(iter(starts))[:-1])


def run(cli, path, variant, seed, trace=None):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run.json")
        cmd = [cli, "run", path, "--variant", variant, "--seed", str(seed), "--quiet", "--json", out]
        if trace:
            cmd += ["--trace", trace]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}")
        with open(out) as f:
            return json.load(f)["runs"][0]


def spread(values, unit=""):
    return (f"{min(values):.4g}{unit} - {max(values):.4g}{unit} "
            f"(median {statistics.median(values):.4g}{unit})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cli", default=os.path.join(ROOT, "build", "src", "cli", "faultline"))
    ap.add_argument("--seeds", type=int, default=100)
    a = ap.parse_args()
    with open(SCENARIO) as f:
        doc = json.load(f)
    loss = outage_start(doc)
    probe = json.loads(json.dumps(doc))
    probe["expectations"] = [
        dict(e, name=label, min="0s" if e["metric"].startswith("latency") else 0)
        for label, e in MEASURED]
    evicted, emptied = [], []
    measured = {v: {label: [] for label, _ in MEASURED} for v in ("base", "no-discovery")}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, os.path.basename(SCENARIO))
        with open(path, "w") as f:
            json.dump(probe, f)
        for seed in range(1, a.seeds + 1):
            trace = os.path.join(tmp, "trace.jsonl")
            for variant in ("base", "no-discovery"):
                r = run(a.cli, path, variant, seed, trace if variant == "base" else None)
                for e in r["expectations"]:
                    measured[variant][e["name"]].append(e["value"])
            first_evicted = first_empty = None
            with open(trace) as f:
                for line in f:
                    if '"eureka-evicted"' not in line and '"ring-fetched"' not in line:
                        continue
                    rec = json.loads(line)
                    t = rec["t_ns"] / 1e9 - loss
                    if rec["kind"] == "eureka-evicted" and first_evicted is None:
                        first_evicted = t
                    if (rec["kind"] == "ring-fetched" and rec["f"]["zone"] == "a"
                            and rec["f"]["servers"] == 0 and first_empty is None):
                        first_empty = t
            if first_evicted is None or first_empty is None:
                sys.exit(f"seed {seed}: the base run's trace has no eviction or no empty ring")
            evicted.append(first_evicted)
            emptied.append(first_empty)
    print(f"{SCENARIO}, seeds 1..{a.seeds}; times after the loss at {loss:g} s")
    print(f"first server evicted:      {spread(evicted, ' s')}")
    print(f"zone a's ring empty:       {spread(emptied, ' s')}")
    for variant, rows in measured.items():
        for label, values in rows.items():
            print(f"{variant:13s} {label + ':':27s} {spread(values)}")


if __name__ == "__main__":
    main()
