#!/usr/bin/env python3
"""Checks the relative links of the documentation: README.md and docs/**/*.md.

Every relative link must name a file or folder that exists, and a `#anchor` must name a heading of
the target file (GitHub's slugs: lowercase; everything but letters, digits, spaces, `-` and `_`
removed; spaces become `-`; a repeated slug gets `-1`, `-2`, …) or an explicit `<a name=…>` /
`id=…` anchor. Links to http(s) and mailto are not followed; links inside code blocks and inline
code are not links.

Exit status 1 with one line per dead link (file:line: link: reason), 0 with a one-line summary.
Standard library only.
"""

import os
import re
import sys
import unicodedata
from urllib.parse import unquote

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# [text](target "title") and ![alt](target); the text may run over lines of one paragraph, and the
# target may be wrapped in <…>.
_TEXT = r"(?:[^\[\]\n]|\n(?![ \t]*\n)|\[[^\]\n]*\])*"
INLINE_LINK = re.compile(r"!?\[" + _TEXT + r"\]\(\s*(<[^>\n]*>|[^)\s]*)(?:\s+\"[^\"\n]*\")?\s*\)")
# [label]: target (reference definitions).
REFERENCE_DEF = re.compile(r"^[ ]{0,3}\[[^\]\n]+\]:[ \t]*(<[^>\n]*>|\S+)", re.M)
# <a href="…"> and <img src="…"> in inline HTML.
HTML_LINK = re.compile(r"<(?:a|img)\b[^>]*?\b(?:href|src)\s*=\s*[\"']([^\"']*)[\"']", re.I)
# Explicit anchors: <a name="x">, id="x".
HTML_ANCHOR = re.compile(r"<[a-z][^>]*?\b(?:name|id)\s*=\s*[\"']([^\"']+)[\"']", re.I)
ATX_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
SETEXT_UNDERLINE = re.compile(r"^\s{0,3}(=+|-+)\s*$")
FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
INLINE_CODE = re.compile(r"(`+)(?!`)((?:[^`]|(?!\1)`)+?)(?<!`)\1(?!`)", re.S)


def doc_files():
    """README.md and every Markdown file under docs/, as paths relative to the root."""
    files = ["README.md"]
    for folder, _, names in os.walk(os.path.join(ROOT, "docs")):
        for name in sorted(names):
            if name.endswith(".md"):
                files.append(os.path.relpath(os.path.join(folder, name), ROOT))
    return sorted(set(files))


def prose_lines(text):
    """(line number, line) of the lines outside fenced code blocks."""
    fence = None
    for number, line in enumerate(text.splitlines(), start=1):
        m = FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)[0] * len(m.group(1))
            continue
        if fence is not None:
            if line.strip().startswith(fence) and set(line.strip()) <= {fence[0]}:
                fence = None
            continue
        yield number, line


def slug(heading):
    """GitHub's anchor of a heading's text."""
    text = heading
    # Links and images keep their text; inline code keeps its content; emphasis marks go.
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = text.lower()
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in " -_" or cat[0] in ("L", "N") or cat == "Mn":
            out.append(ch)
    return "".join(out).replace(" ", "-")


_ANCHORS = {}


def anchors_of(path):
    """Every anchor a link may name in the file: heading slugs and explicit anchors."""
    if path in _ANCHORS:
        return _ANCHORS[path]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    anchors, seen = set(), {}
    previous = None
    for _, line in prose_lines(text):
        heading = None
        m = ATX_HEADING.match(line)
        if m:
            heading = m.group(2)
        elif previous is not None and previous.strip() and SETEXT_UNDERLINE.match(line) \
                and not ATX_HEADING.match(previous) and not previous.lstrip().startswith(("|", "-", "*")):
            heading = previous.strip()
        if heading is not None:
            base = slug(heading)
            n = seen.get(base, 0)
            anchors.add(base if n == 0 else f"{base}-{n}")
            seen[base] = n + 1
        for a in HTML_ANCHOR.findall(line):
            anchors.add(a)
        previous = line
    _ANCHORS[path] = anchors
    return anchors


def links_of(text):
    """(line number, target) of every link outside code blocks and code spans."""
    lines = text.splitlines()
    prose = dict(prose_lines(text))
    # Code blocks become empty lines, code spans spaces (a span may run over lines): line
    # numbers stay those of the file.
    masked = "\n".join(prose.get(n, "") for n in range(1, len(lines) + 1))
    masked = INLINE_CODE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), masked)
    found = []
    for pattern in (INLINE_LINK, REFERENCE_DEF, HTML_LINK):
        for m in pattern.finditer(masked):
            target = m.group(1).strip()
            if target.startswith("<") and target.endswith(">"):
                target = target[1:-1]
            found.append((masked.count("\n", 0, m.start(1)) + 1, target))
    return sorted(found)


def check(doc):
    """The dead links of one file, as messages."""
    path = os.path.join(ROOT, doc)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    dead, count = [], 0
    for number, target in links_of(text):
        if not target or re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
            continue  # http:, https:, mailto: and other schemes are not followed
        count += 1
        file_part, _, anchor = target.partition("#")
        file_part = file_part.split("?", 1)[0]
        if file_part.startswith("/"):
            resolved = os.path.join(ROOT, file_part.lstrip("/"))
        elif file_part:
            resolved = os.path.normpath(os.path.join(os.path.dirname(path), file_part))
        else:
            resolved = path
        resolved = unquote(resolved)
        where = f"{doc}:{number}: {target}"
        if os.path.relpath(resolved, ROOT).split(os.sep)[0] == "..":
            dead.append(f"{where}: points outside the repository")
            continue
        if not os.path.exists(resolved):
            dead.append(f"{where}: no such file {os.path.relpath(resolved, ROOT)}")
            continue
        if anchor:
            if not resolved.endswith(".md") or os.path.isdir(resolved):
                dead.append(f"{where}: an anchor into a file that is not Markdown")
            elif unquote(anchor) not in anchors_of(resolved):
                dead.append(f"{where}: no heading or anchor #{anchor} in "
                            f"{os.path.relpath(resolved, ROOT)}")
    return count, dead


def main():
    total, dead = 0, []
    docs = doc_files()
    for doc in docs:
        count, bad = check(doc)
        total += count
        dead += bad
    if dead:
        for line in dead:
            print(line)
        print(f"links: {len(dead)} dead of {total} relative links in {len(docs)} files")
        return 1
    print(f"links: {total} relative links in {len(docs)} files, all resolve")
    return 0


if __name__ == "__main__":
    sys.exit(main())
