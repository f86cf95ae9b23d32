#!/usr/bin/env python3
"""Every ```cpp block of the given Markdown files is a verbatim part of a file in the given
example directory (whose files are compiled and run as tests), so documentation examples
cannot drift from code that builds. Usage: doc_blocks.py EXAMPLES_DIR DOC.md..."""
import pathlib
import re
import sys

examples_dir = pathlib.Path(sys.argv[1])
sources = {p.name: p.read_text() for p in sorted(examples_dir.glob("*.cpp"))}
failed = 0
for doc in sys.argv[2:]:
    text = pathlib.Path(doc).read_text()
    for m in re.finditer(r"```(?:cpp|c\+\+)\n(.*?)```", text, re.S):
        block = m.group(1)
        line = text[: m.start()].count("\n") + 1
        if not any(block in src for src in sources.values()):
            print(f"{doc}:{line}: this C++ block is in no file of {examples_dir}; "
                  "put it verbatim in a compiled example test")
            failed += 1
print(f"{failed} block(s) not compiled" if failed else "every C++ block is compiled")
sys.exit(1 if failed else 0)
