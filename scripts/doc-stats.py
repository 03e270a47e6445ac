#!/usr/bin/env python3
"""Sizes of the documentation, to keep it quick to read: for README.md and for docs/*.md (each file and in all),
the line count, the words outside fenced code blocks (tables, HTML and indented text included) and the mean
sentence length in words outside code blocks, tables and headings.

Usage: scripts/doc-stats.py [ROOT]     (ROOT: a checkout, default this one)"""
import re
import sys
from pathlib import Path

WORD = re.compile(r"\S*[A-Za-z0-9]\S*")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[^a-z])")


def outside_code(text):
    """The lines of text that are not inside a ``` fence (the fences themselves dropped)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def prose_units(lines):
    """Paragraphs and list items (a table, a heading or an image is none), each as one string."""
    units, current = [], []
    for line in lines:
        stripped = line.strip()
        starts_item = re.match(r"([-*+]|\d+[.)])\s", stripped)
        if not stripped or stripped.startswith(("|", "#", "![", "<")) or starts_item:
            if current:
                units.append(" ".join(current))
            current = []
            if starts_item:
                current = [stripped[starts_item.end():]]
            continue
        current.append(stripped)
    if current:
        units.append(" ".join(current))
    return units


def stats(paths):
    lines = words = sentence_words = sentences = 0
    for path in paths:
        text = path.read_text()
        lines += len(text.splitlines())
        outside = outside_code(text)
        words += sum(len(WORD.findall(line)) for line in outside)
        for unit in prose_units(outside):
            for sentence in SENTENCE_END.split(unit):
                n = len(WORD.findall(sentence))
                if n:
                    sentence_words += n
                    sentences += 1
    return lines, words, sentence_words / sentences if sentences else 0.0


def main():
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
    docs = sorted((root / "docs").glob("*.md"))
    print(f"{'file':<32} {'lines':>6} {'words':>7} {'words/sentence':>15}")
    for name, paths in [("README.md", [root / "README.md"]), *[(f"docs/{p.name}", [p]) for p in docs],
                        ("docs/ (all)", docs)]:
        lines, words, mean = stats(paths)
        print(f"{name:<32} {lines:>6} {words:>7} {mean:>15.1f}")


if __name__ == "__main__":
    main()
