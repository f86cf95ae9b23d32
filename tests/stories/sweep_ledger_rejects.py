#!/usr/bin/env python3
"""The sweep ledger's check can fail: broken copies of a real ledger must each be rejected
with their own reason, and the intact copy must pass.

Usage: sweep_ledger_rejects.py FAULTLINE_CLI SCENARIO.json
(the scenario should be a cheap one: its seed-1 runs are repeated once per case).
"""
import copy
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "sweep_ledger.py"


def check(cli: str, scenario: Path, ledgers: Path) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, str(TOOL), "check", "--cli", cli, "--ledgers",
                           str(ledgers), str(scenario)], capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


def main() -> int:
    cli, scenario = sys.argv[1], (ROOT / sys.argv[2]).resolve()
    real = json.loads((ROOT / "tests" / "stories" / "sweeps" /
                       (scenario.stem + ".json")).read_text())
    first = sorted(real["variants"])[0]

    def stale_trace(d):
        d["variants"][first]["seed1_trace"] = "0000000000000000"

    def edited_scenario(d):
        d["sha256"] = "0" * 64

    def failed_seed(d):
        d["variants"][first]["failed"].append({"seed": 42, "reproduce": "faultline run ..."})

    def other_seed_than_acknowledged(d):
        failed_seed(d)
        d["acknowledged"] = {"why": "a known failure", "failed": {first: [41]}}

    def few_seeds(d):
        for v in d["variants"].values():
            v["runs"] = v["passed"] = 3
        d["seeds"] = "1..3"

    def lost_variant(d):
        del d["variants"][first]

    cases = [("intact", None, 0, "seed 1 traces the same today"),
             ("stale trace", stale_trace, 1, "the code changed since"),
             ("edited scenario", edited_scenario, 1, "changed since its sweep"),
             ("failed seed", failed_seed, 1, "seed 42 failed in the recorded sweep"),
             ("a failure other than the acknowledged one", other_seed_than_acknowledged, 1,
              "seed 42 failed in the recorded sweep"),
             ("too few seeds", few_seeds, 1, "fewer than 100"),
             ("variant never swept", lost_variant, 1, "a variant the sweep never ran"),
             ("no ledger", "delete", 77, "not swept yet")]
    bad = 0
    for name, mutate, want_rc, want_text in cases:
        with tempfile.TemporaryDirectory() as tmp:
            d = copy.deepcopy(real)
            if callable(mutate):
                mutate(d)
            if mutate != "delete":
                (Path(tmp) / (scenario.stem + ".json")).write_text(json.dumps(d))
            rc, out = check(cli, scenario, Path(tmp))
            ok = rc == want_rc and want_text in out
            print(f"{'ok ' if ok else 'BAD'} {name}: exit {rc}"
                  + ("" if ok else f", wanted exit {want_rc} and '{want_text}' in:\n{out}"))
            bad += 0 if ok else 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
