#!/usr/bin/env python3
"""Checks that the code in the docs is the code the test suite compiles.

A fenced block right after a marker line

    <!-- snippet: examples/testing/test_counter.c -->

must appear verbatim (ignoring trailing spaces) in that file, so a guide can
never drift from the examples that `./dev test` builds and runs.
Usage: docs_check.py ROOT DOC.md [DOC.md...]
"""
import re
import sys

MARKER = re.compile(r"<!--\s*snippet:\s*(\S+)\s*-->")


def normalize(text):
    return "\n".join(line.rstrip() for line in text.splitlines())


def check(root, doc):
    lines = open(f"{root}/{doc}", encoding="utf-8").read().splitlines()
    problems, count = [], 0
    i = 0
    while i < len(lines):
        m = MARKER.search(lines[i])
        if not m:
            i += 1
            continue
        path = m.group(1)
        j = i + 1
        if j >= len(lines) or not lines[j].startswith("```"):
            problems.append(f"{doc}:{i + 1}: snippet marker not followed by a code block")
            i += 1
            continue
        k = j + 1
        while k < len(lines) and not lines[k].startswith("```"):
            k += 1
        block = normalize("\n".join(lines[j + 1:k]))
        try:
            source = normalize(open(f"{root}/{path}", encoding="utf-8").read())
        except OSError as e:
            problems.append(f"{doc}:{i + 1}: {path}: {e.strerror}")
        else:
            if block not in source:
                problems.append(f"{doc}:{i + 1}: the block differs from {path}")
        count += 1
        i = k + 1
    return problems, count


def main():
    root, docs = sys.argv[1], sys.argv[2:]
    total, problems = 0, []
    for doc in docs:
        p, n = check(root, doc)
        problems += p
        total += n
    for p in problems:
        print(p, file=sys.stderr)
    if total == 0:
        print("docs: no snippets found", file=sys.stderr)
        return 1
    print(f"docs: {total} snippets checked, {len(problems)} differ from their source files")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
