#!/usr/bin/env python3
"""Checks that every relative link of every Markdown file in the repository resolves inside it.

A link points at a file or directory of the repository (never outside it, e.g. ../shared), and
an anchor (`#section`) names a heading of the target Markdown file, slugged as GitHub does.
Absolute URLs (http:, https:, mailto:) are not fetched. Exit status 1 lists every broken link.
"""

import os
import re
import subprocess
import sys

ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), ".."))
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.MULTILINE)
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE = re.compile(r"`[^`\n]*`")


def markdown_files():
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()
    return [path for path in listed if os.path.exists(os.path.join(ROOT, path))]


def without_code(text):
    return CODE.sub("", FENCE.sub("", text))


def slug(heading):
    """GitHub's anchor of a heading: lowercase, punctuation dropped, spaces to hyphens."""
    heading = re.sub(r"`([^`]*)`", r"\1", heading)
    heading = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    heading = heading.strip().lower()
    heading = re.sub(r"[^\w\- ]", "", heading)
    return heading.replace(" ", "-")


def anchors(path, cache={}):
    if path not in cache:
        with open(path, encoding="utf-8") as f:
            text = FENCE.sub("", f.read())
        seen = {}
        found = set()
        for _, title in HEADING.findall(text):
            base = slug(title)
            n = seen.get(base, 0)
            found.add(base if n == 0 else f"{base}-{n}")
            seen[base] = n + 1
        cache[path] = found
    return cache[path]


def check(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        text = without_code(f.read())
    broken = []
    for target in LINK.findall(text) + REFERENCE.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
            continue
        file_part, _, anchor = target.partition("#")
        source_dir = os.path.dirname(os.path.join(ROOT, path))
        resolved = os.path.realpath(os.path.join(source_dir, file_part)) if file_part else os.path.join(ROOT, path)
        if not (resolved == ROOT or resolved.startswith(ROOT + os.sep)):
            broken.append(f"{path}: {target} points outside the repository")
            continue
        if not os.path.exists(resolved):
            broken.append(f"{path}: {target} does not exist")
            continue
        if anchor and resolved.endswith(".md") and anchor not in anchors(resolved):
            broken.append(f"{path}: {target}: no heading with anchor #{anchor}")
    return broken


def main():
    files = markdown_files()
    broken = [problem for path in files for problem in check(path)]
    for problem in broken:
        print(f"broken link: {problem}")
    print(f"{len(files)} Markdown files checked, {len(broken)} broken links")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
