"""Parse every .tf and .tfvars file under a directory with python-hcl2; print them as JSON.

Runs in the tools venv (.tools/venv/bin/python):
    .tools/venv/bin/python infra/validation/hcl2json.py terraform
prints {"modules/dns/main.tf": {...}, ...}; a file that does not parse is {"__error__": "..."}.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import hcl2

# Plain values ("gpu", not '"gpu"'), blocks as lists of dicts, no comment or marker keys.
OPTIONS = hcl2.SerializationOptions(
    with_comments=False, explicit_blocks=False, strip_string_quotes=True
)


def main() -> None:
    root = Path(sys.argv[1])
    parsed: dict[str, object] = {}
    for path in sorted([*root.rglob("*.tf"), *root.rglob("*.tfvars")]):
        if ".terraform" in path.parts:
            continue
        try:
            with path.open() as handle:
                parsed[str(path.relative_to(root))] = hcl2.load(
                    handle, serialization_options=OPTIONS
                )
        except Exception as exc:
            parsed[str(path.relative_to(root))] = {"__error__": f"{type(exc).__name__}: {exc}"}
    json.dump(parsed, sys.stdout, default=str)


if __name__ == "__main__":
    main()
