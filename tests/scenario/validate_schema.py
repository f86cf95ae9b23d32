#!/usr/bin/env python3
"""Validates scenario files against docs/scenario.schema.json.

usage: validate_schema.py SCHEMA FILE...   (exit 0 when every file validates, 1 otherwise)
Variants are validated too: each merge-patch is applied to the base and the result checked,
so a variant cannot smuggle in a key the schema does not know.
"""
import json
import sys

import jsonschema


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return patch
    if not isinstance(target, dict):
        target = {}
    out = dict(target)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def main():
    schema_path, files = sys.argv[1], sys.argv[2:]
    with open(schema_path) as f:
        schema = json.load(f)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    failed = False
    for path in files:
        with open(path) as f:
            doc = json.load(f)
        documents = [("base", doc)]
        for variant in doc.get("variants", []) if isinstance(doc, dict) else []:
            if isinstance(variant, dict) and isinstance(variant.get("patch"), dict):
                documents.append((variant.get("name", "?"), merge_patch(doc, variant["patch"])))
        for name, document in documents:
            errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
            for e in errors:
                pointer = "/" + "/".join(str(p) for p in e.path)
                print(f"{path}: {pointer}: {e.message} (variant {name})")
                failed = True
        if not failed:
            print(f"ok: {path}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
