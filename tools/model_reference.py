#!/usr/bin/env python3
"""Keeps the model params reference equal to what the bindings read.

Every key a binding reads carries its one-line doc in the binding itself (the last argument of
its ObjectReader get/object/array call, src/scenario/bindings/*.cpp). `faultline describe
--schema` and `faultline describe --reference` print, from those records, the JSON Schema of
every model's params and the Markdown of docs/models.md. This script writes both into docs/:

  - in docs/scenario.schema.json, each `$defs` entry "<model>_params" is replaced by the
    generated one (one line per model, so merges of different models do not meet); a model
    without an entry gets one, and an `allOf` branch that applies it to `model.params`. The
    rest of the file (hand-written) is left exactly as it is;
  - docs/models.md is rewritten.

With --check it writes nothing and exits 1, naming the files, when either differs from what
the bindings say (the `docs.model_reference` test). After adding or changing a param, or
merging a branch that does, run:

  cmake --build build --target faultline && tools/model_reference.py

Usage:
  tools/model_reference.py [--cli build/src/cli/faultline] [--check]
                           [--schema docs/scenario.schema.json] [--reference docs/models.md]
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STALE = "differs from what the bindings read"


def run(cli: str, *args: str) -> str:
    done = subprocess.run([cli, "describe", *args], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"model_reference: `{cli} describe {' '.join(args)}` failed "
                 f"(exit {done.returncode}): {done.stderr.strip()}")
    return done.stdout


def one_line(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def allof_branch(name: str) -> str:
    model = name[: -len("_params")]
    return ('    {"if": {"properties": {"model": {"properties": {"name": {"const": "%s"}}}}}, '
            '"then": {"properties": {"model": {"properties": {"params": '
            '{"$ref": "#/$defs/%s"}}}}}},' % (model, name))


def splice(text: str, defs: dict) -> str:
    """The schema text with each generated def in place, the rest untouched."""
    decoder = json.JSONDecoder()
    for name, value in sorted(defs.items()):
        entry = re.search(r'^    "%s": ' % re.escape(name), text, re.M)
        if entry:
            _, end = decoder.raw_decode(text, entry.end())
            text = text[: entry.end()] + one_line(value) + text[end:]
        else:
            opening = re.search(r'^  "\$defs": \{\n', text, re.M)
            if not opening:
                sys.exit("model_reference: no \"$defs\" object in the schema")
            text = (text[: opening.end()] + '    "%s": %s,\n' % (name, one_line(value)) +
                    text[opening.end():])
        if '"#/$defs/%s"' % name not in text.replace(" ", ""):
            opening = re.search(r'^  "allOf": \[\n', text, re.M)
            if not opening:
                sys.exit("model_reference: no \"allOf\" array in the schema")
            text = text[: opening.end()] + allof_branch(name) + "\n" + text[opening.end():]
    json.loads(text)  # still one JSON document
    return text


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cli", default=str(ROOT / "build/src/cli/faultline"))
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--schema", default=str(ROOT / "docs/scenario.schema.json"))
    ap.add_argument("--reference", default=str(ROOT / "docs/models.md"))
    a = ap.parse_args()

    defs = json.loads(run(a.cli, "--schema"))
    reference = run(a.cli, "--reference")
    schema_path, reference_path = Path(a.schema), Path(a.reference)
    schema_text = schema_path.read_text()
    wanted = {schema_path: splice(schema_text, defs), reference_path: reference}
    stale = [p for p, t in wanted.items() if not p.exists() or p.read_text() != t]
    if a.check:
        for p in stale:
            print(f"{p}: {STALE}; run tools/model_reference.py", file=sys.stderr)
        return 1 if stale else 0
    for p in stale:
        p.write_text(wanted[p])
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
