#!/usr/bin/env python3
"""One marker syntax for the generated sections of BENCHMARKS.md (and README.md):

    <!-- NAME: begin -->
    ... written by a script, do not edit by hand ...
    <!-- NAME: end -->

Every writer goes through replace_section(), from Python
(`sys.path.insert(0, ROOT/bench); from mdsection import ...`) or from a shell
script (`md_section FILE NAME [AFTER] < text`, scripts/lib.sh, which calls
`python3 bench/mdsection.py FILE NAME [--after AFTER]`).
"""
import re
import sys


def markers(name):
    """The (begin, end) marker lines of section NAME."""
    return f"<!-- {name}: begin -->", f"<!-- {name}: end -->"


# any section: group 1 is its name (used by bench/report.py to keep them)
SECTION = re.compile(r"<!-- ([^>]+?): begin -->.*?<!-- \1: end -->", re.S)


def wrap(name, section):
    """SECTION between NAME's markers (unchanged if it already has them)."""
    begin, end = markers(name)
    body = section.strip("\n")
    if body.startswith(begin) and body.endswith(end):
        return body
    return f"{begin}\n{body}\n{end}"


def replace_in(text, name, section, after=None):
    """TEXT with section NAME replaced by SECTION; if absent, inserted after
    section AFTER's end marker, or else appended at the end."""
    begin, end = markers(name)
    new = wrap(name, section)
    i = text.find(begin)
    k = text.find(end, i) if i >= 0 else -1
    if i >= 0 and k >= 0:
        return text[:i] + new + text[k + len(end):]
    if after:
        anchor = markers(after)[1]
        j = text.find(anchor)
        if j >= 0:
            j += len(anchor)
            return text[:j] + "\n\n" + new + text[j:]
    return (text.rstrip("\n") + "\n\n" if text.strip() else "") + new + "\n"


def replace_section(path, name, section, after=None):
    """Replace (or add) section NAME in the file at PATH."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        text = ""
    with open(path, "w", encoding="utf-8") as f:
        f.write(replace_in(text, name, section, after))


def main(argv):
    args, after = list(argv), None
    if "--after" in args:
        k = args.index("--after")
        after = args[k + 1]
        del args[k:k + 2]
    if len(args) != 2 or args[0] in ("-h", "--help"):
        sys.stderr.write("usage: bench/mdsection.py FILE NAME [--after NAME] < section\n")
        return 2
    replace_section(args[0], args[1], sys.stdin.read(), after)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
