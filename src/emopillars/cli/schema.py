"""``emopillars schema``: print or write the JSON schema of the synthetic record."""

from __future__ import annotations

import json

from emopillars.data.records import SyntheticRecord, write_schema

ORDER = 90


def register(subparsers) -> None:
    parser = subparsers.add_parser("schema", help="print the JSON schema of the synthetic dataset record")
    parser.add_argument("--out", help="write the schema to this file instead of printing it")
    parser.set_defaults(func=run)


def run(args) -> int:
    if args.out:
        print(write_schema(args.out))
    else:
        print(json.dumps(SyntheticRecord.json_schema(), indent=2))
    return 0
