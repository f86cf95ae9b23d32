#!/usr/bin/env python3
"""Keeps the figures on the story pages equal to what the scenarios print.

A story page marks each generated block with an opening and a closing comment:

    <!-- figures: scenarios/spanner-leader-hard-kill.json -->
    (generated: every variant's expectations with the bound and the measured value)
    <!-- end figures -->

The opening comment may add `seed=N` (default: the scenario's own seed) and `variants=a,b`
(default: all). This script runs each named scenario with the faultline CLI, renders the
block, and either rewrites the page (the default) or, with --check, exits 1 and prints a diff
for every page whose block differs from a fresh run. Prose outside the blocks is never touched,
so a page should quote figures from its block rather than type them again.

A sensitivity block shows how an assumed parameter moves a story's figures: one run per
value, the chosen expectations' measured values in the columns (issue #14: a page states what
its headline figure depends on):

    <!-- sensitivity: scenarios/NAME.json set=model.params.X values=4,8,12 variant=base expect=1,3 -->
    <!-- end sensitivity -->

`expect` lists expectations by their 1-based position among the variant's (as `faultline run`
prints them); `seed=N` as above.

With --spread SCENARIO --seeds A..B it instead sweeps the seeds and prints, for every variant
and expectation, the bound and the minimum, median and maximum measured over the seeds and the
seeds that failed: the table to set a bound from (issue #14: never from one seed).

Usage:
  tools/story_figures.py [--cli build/src/cli/faultline] [--check] [PAGE.md ...]
  tools/story_figures.py --spread scenarios/NAME.json --seeds 1..100 [-j 2]
"""
from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OPEN = re.compile(r"^<!-- (?P<kind>figures|sensitivity): (?P<args>[^>]*?) -->$")
CLOSE = {"figures": "<!-- end figures -->", "sensitivity": "<!-- end sensitivity -->"}


class PageError(Exception):
    pass


def parse_args(text: str, where: str, kind: str = "figures") -> dict:
    words = text.split()
    if not words:
        raise PageError(f"{where}: the {kind} comment names no scenario "
                        f"(write <!-- {kind}: scenarios/NAME.json -->)")
    spec = {"scenario": words[0], "seed": None, "variants": None, "set": None,
            "values": None, "expect": None}
    options = "seed=N or variants=a,b"
    if kind == "sensitivity":
        options = "seed=N, set=PATH, values=a,b,c, variant=V and expect=1,2"
    for w in words[1:]:
        key, _, value = w.partition("=")
        if key == "seed" and value.isdigit():
            spec["seed"] = int(value)
        elif key == "variants" and value and kind == "figures":
            spec["variants"] = value.split(",")
        elif key == "variant" and value and kind == "sensitivity":
            spec["variants"] = [value]
        elif key == "set" and value and kind == "sensitivity":
            spec["set"] = value
        elif key == "values" and value and kind == "sensitivity":
            spec["values"] = value.split(",")
        elif (key == "expect" and kind == "sensitivity" and value
              and all(x.isdigit() and int(x) > 0 for x in value.split(","))):
            spec["expect"] = [int(x) for x in value.split(",")]
        else:
            raise PageError(f"{where}: unknown {kind} option '{w}' (use {options})")
    if kind == "sensitivity":
        missing = [k for k in ("set", "values", "expect", "variants") if not spec[k]]
        if missing:
            raise PageError(f"{where}: the sensitivity comment lacks "
                            f"{', '.join('variant' if m == 'variants' else m for m in missing)} "
                            f"(give {options})")
    return spec


def run_scenario(cli: str, spec: dict, cache: dict, sets: tuple = ()) -> dict:
    key = (spec["scenario"], spec["seed"], tuple(spec["variants"] or ()), sets)
    if key in cache:
        return cache[key]
    scenario = ROOT / spec["scenario"]
    if not scenario.is_file():
        raise PageError(f"no scenario file {spec['scenario']} (paths are relative to the "
                        "repository root)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results.json"
        cmd = [cli, "run", spec["scenario"], "--quiet", "--json", str(out)]
        if spec["seed"] is not None:
            cmd += ["--seed", str(spec["seed"])]
        for assignment in sets:
            cmd += ["--set", assignment]
        if spec["variants"]:
            for v in spec["variants"]:
                cmd += ["--variant", v]
        else:
            cmd.append("--all-variants")
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        # Exit 1 (an expectation failed) still yields figures, and the table shows the ✗.
        if proc.returncode not in (0, 1) or not out.is_file():
            raise PageError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr.strip()}")
        results = json.loads(out.read_text())
    cache[key] = results
    return results


def cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render(spec: dict, results: dict) -> list[str]:
    runs = results.get("runs", [])
    seeds = sorted({r.get("seed") for r in runs})
    seed_text = ", ".join(str(s) for s in seeds)
    lines = [
        f"Generated by `tools/story_figures.py` from `faultline run {spec['scenario']}"
        + (f" --seed {spec['seed']}" if spec["seed"] is not None else "")
        + f"` (seed {seed_text}); do not edit by hand.",
        "",
        "| variant | expectation | bound | measured | |",
        "|---|---|---|---|---|",
    ]
    for run in runs:
        variant = run.get("variant") or "base"
        for e in run.get("expectations", []):
            name = e.get("name")
            what = e.get("description", "")
            if name:
                what = f"{name}: {what}"
            lines.append(f"| {cell(variant)} | {cell(what)} | {cell(e.get('bound', ''))} | "
                         f"{cell(e.get('measured', ''))} | {'✓' if e.get('ok') else '✗'} |")
    return lines


def render_sensitivity(spec: dict, cli: str, cache: dict) -> list[str]:
    variant = spec["variants"][0]
    columns: list[str] = []
    rows = []
    for value in spec["values"]:
        results = run_scenario(cli, spec, cache, (f"{spec['set']}={value}",))
        runs = [r for r in results.get("runs", []) if (r.get("variant") or "base") == variant]
        if not runs:
            raise PageError(f"{spec['scenario']} has no variant '{variant}'")
        exps = runs[0].get("expectations", [])
        cells = []
        for n in spec["expect"]:
            if n > len(exps):
                raise PageError(f"{spec['scenario']} variant {variant} has {len(exps)} "
                                f"expectations; expect={n} names none")
            e = exps[n - 1]
            if len(columns) < len(spec["expect"]):
                columns.append(f"{e.get('description', '')} ({e.get('bound', '')})")
            cells.append(f"{e.get('measured', '')} {'✓' if e.get('ok') else '✗'}")
        rows.append((value, cells))
    lines = [
        f"Generated by `tools/story_figures.py`: `faultline run {spec['scenario']} --variant "
        f"{variant} --set {spec['set']}=VALUE`"
        + (f" `--seed {spec['seed']}`" if spec["seed"] is not None else "")
        + "; do not edit by hand.",
        "",
        f"| `{spec['set'].split('.')[-1]}` | " + " | ".join(cell(c) for c in columns) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]
    for value, cells in rows:
        lines.append(f"| {cell(value)} | " + " | ".join(cell(c) for c in cells) + " |")
    return lines


def process_page(path: Path, cli: str, cache: dict) -> tuple[str, str]:
    old = path.read_text()
    lines = old.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        m = OPEN.match(line.strip())
        if not m:
            out.append(line)
            i += 1
            continue
        where = f"{path.relative_to(ROOT)}:{i + 1}"
        kind = m.group("kind")
        close = CLOSE[kind]
        spec = parse_args(m.group("args"), where, kind)
        j = i + 1
        while j < len(lines) and lines[j].strip() != close:
            if OPEN.match(lines[j].strip()):
                raise PageError(f"{where}: {kind} block is not closed before the next one "
                                f"(add '{close}')")
            j += 1
        if j == len(lines):
            raise PageError(f"{where}: {kind} block is never closed (add '{close}')")
        try:
            if kind == "sensitivity":
                block = render_sensitivity(spec, cli, cache)
            else:
                block = render(spec, run_scenario(cli, spec, cache))
        except PageError as e:
            raise PageError(f"{where}: {e}") from None
        out.append(line)
        out.extend(block)
        out.append(lines[j])
        i = j + 1
    return old, "\n".join(out)


def spread(cli: str, scenario: str, seeds: str, jobs: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "sweep.json"
        cmd = [cli, "sweep", scenario, "--seeds", seeds, "-j", str(jobs), "--quiet",
               "--json", str(out)]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        if proc.returncode not in (0, 1) or not out.is_file():
            print(f"story_figures: {' '.join(cmd)} exited {proc.returncode}:\n"
                  f"{proc.stderr.strip()}", file=sys.stderr)
            return 2
        runs = json.loads(out.read_text()).get("runs", [])
    rows: dict = {}
    for run in runs:
        variant = run.get("variant") or "base"
        for k, e in enumerate(run.get("expectations", [])):
            row = rows.setdefault((variant, k), {"what": e.get("description", ""),
                                                 "bound": e.get("bound", ""),
                                                 "values": [], "failed": []})
            if isinstance(e.get("value"), (int, float)):
                row["values"].append(e["value"])
            if not e.get("ok"):
                row["failed"].append(run.get("seed"))
    print(f"Spread of `faultline sweep {scenario} --seeds {seeds}` ({len(runs)} runs)\n")
    print("| variant | expectation | bound | min | median | max | failing seeds |")
    print("|---|---|---|---|---|---|---|")
    for (variant, _), row in sorted(rows.items(), key=lambda kv: kv[0]):
        vals = sorted(row["values"])
        stats = ["—"] * 3
        if vals:
            stats = [f"{vals[0]:.6g}", f"{vals[len(vals) // 2]:.6g}", f"{vals[-1]:.6g}"]
        failed = ", ".join(str(s) for s in sorted(row["failed"])) or "none"
        print(f"| {cell(variant)} | {cell(row['what'])} | {cell(row['bound'])} | "
              f"{' | '.join(stats)} | {failed} |")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cli", default=str(ROOT / "build/src/cli/faultline"),
                    help="the faultline executable (default: build/src/cli/faultline)")
    ap.add_argument("--check", action="store_true",
                    help="change nothing; exit 1 when a page's figures differ from a fresh run")
    ap.add_argument("--spread", metavar="SCENARIO",
                    help="print the spread of every expectation over --seeds instead")
    ap.add_argument("--seeds", default="1..100", help="with --spread: the seed range A..B")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="with --spread: worker threads")
    ap.add_argument("pages", nargs="*", help="story pages (default: docs/stories/*.md)")
    args = ap.parse_args()
    if not os.access(args.cli, os.X_OK):
        print(f"story_figures: no faultline executable at {args.cli} (build first, or pass "
              "--cli PATH)", file=sys.stderr)
        return 2
    if args.spread:
        return spread(args.cli, args.spread, args.seeds, args.jobs)
    pages = [Path(p).resolve() for p in args.pages] or sorted((ROOT / "docs/stories").glob("*.md"))
    cache: dict = {}
    stale = []
    blocks = 0
    for page in pages:
        try:
            old, new = process_page(page, args.cli, cache)
        except (PageError, OSError) as e:
            print(f"story_figures: {e}", file=sys.stderr)
            return 2
        blocks += old.count("<!-- figures:") + old.count("<!-- sensitivity:")
        if old == new:
            continue
        rel = page.relative_to(ROOT)
        if args.check:
            stale.append(str(rel))
            sys.stdout.writelines(difflib.unified_diff(
                old.splitlines(True), new.splitlines(True), f"{rel} (page)", f"{rel} (run)"))
        else:
            page.write_text(new)
            print(f"story_figures: rewrote {rel}")
    if args.check:
        if stale:
            print(f"story_figures: {len(stale)} page(s) quote figures that a fresh run does not "
                  f"print: {', '.join(stale)}; run tools/story_figures.py to regenerate",
                  file=sys.stderr)
            return 1
        print(f"story_figures: {blocks} generated block(s) in {len(pages)} page(s) match a fresh run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
