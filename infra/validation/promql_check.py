"""Parse PromQL expressions with promql-parser; report errors and the metric names each selects.

Runs in the tools venv (.tools/venv/bin/python), not the workspace venv:
    echo '[{"id": "a", "expr": "up"}]' | .tools/venv/bin/python infra/validation/promql_check.py
prints [{"id": "a", "error": null, "metrics": ["up"]}].
"""

from __future__ import annotations

import json
import sys

import promql_parser


def check(expr: str) -> tuple[str | None, list[str]]:
    try:
        ast = promql_parser.parse(expr)
    except ValueError as exc:
        return str(exc), []
    names: set[str] = set()

    def visit(node: object) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
            for matcher in node.matchers.matchers:
                if matcher.name == "__name__":
                    names.add(matcher.value)

    promql_parser.walk(ast, visit)
    return None, sorted(names)


def main() -> None:
    queries = json.load(sys.stdin)
    results = []
    for query in queries:
        error, metrics = check(query["expr"])
        results.append({"id": query["id"], "error": error, "metrics": metrics})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
