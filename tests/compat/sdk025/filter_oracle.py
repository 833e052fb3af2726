"""Evaluate filters with the official SDK's evaluator (run with ``.venv-sdk025``'s python).

stdin: ``{"cases": [{"filter": ..., "docs": [...]}, ...]}``; stdout: one JSON list with, per
case, ``null`` when the SDK refuses the filter, else the list of match results per document.
"""

from __future__ import annotations

import json
import sys

from iii.filter import FilterError, compile_filter


def main() -> None:
    corpus = json.load(sys.stdin)
    out = []
    for case in corpus["cases"]:
        try:
            compiled = compile_filter(case["filter"])
        except FilterError:
            out.append(None)
            continue
        out.append([bool(compiled.matches(doc)) for doc in case["docs"]])
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
