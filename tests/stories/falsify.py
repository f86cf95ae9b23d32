#!/usr/bin/env python3
"""Removes each story's mechanism and checks that the story then fails (issue #14).

Reads tests/stories/mechanisms.json: for every case it runs
`faultline run SCENARIO --variant V --set ...` and requires exit 1 with the named expectation
failing. A story whose expectations still hold without its mechanism is not evidence of it.

Usage: falsify.py FAULTLINE [MECHANISMS.json]
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cli = sys.argv[1]
    table = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).with_name("mechanisms.json")
    cases = json.loads(table.read_text())["cases"]
    bad = 0
    for c in cases:
        where = f"{c['scenario']} ({c['variant']}) without {c['removes']}"
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "r.json"
            cmd = [cli, "run", c["scenario"], "--variant", c["variant"], "--quiet",
                   "--json", str(out)]
            for s in c["set"]:
                cmd += ["--set", s]
            proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
            if proc.returncode == 0:
                print(f"FAIL {where}: every expectation still holds, '{c['fails']}' too: "
                      "the mechanism is not what it rests on")
                bad += 1
                continue
            if proc.returncode != 1 or not out.is_file():
                print(f"FAIL {where}: exit {proc.returncode}, expected 1 (an expectation "
                      f"fails)\n  {' '.join(cmd)}\n  {proc.stderr.strip()[:400]}")
                bad += 1
                continue
            exps = [e for r in json.loads(out.read_text())["runs"] for e in r["expectations"]]
        named = [e for e in exps if e.get("description", "").startswith(c["fails"])]
        if not named:
            print(f"FAIL {where}: no expectation '{c['fails']}' in the run (have: "
                  f"{'; '.join(e.get('description', '') for e in exps)})")
            bad += 1
        elif all(e.get("ok") for e in named):
            print(f"FAIL {where}: '{c['fails']}' still holds "
                  f"(measured {named[0].get('measured')}): the mechanism is not what it rests on")
            bad += 1
        else:
            print(f"ok   {where}: '{c['fails']}' fails (measured {named[0].get('measured')})")
    print(f"{len(cases) - bad} of {len(cases)} mechanisms shown necessary")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
