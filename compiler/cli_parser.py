"""The `dqm` command's arguments: every subcommand, its options and their help."""

from __future__ import annotations

import argparse

DEFAULT_EXPORTS = "exports"
CONFORMANCE_EXPORTS = (DEFAULT_EXPORTS, "conformance/exports")  # the bundled rulesets, and a demo


def _public_key(s: argparse.ArgumentParser) -> None:
    s.add_argument(
        "--public-key",
        metavar="KEY",
        help="read only versions signed by the owner of this Ed25519 public key (a .pub.pem "
        "from dqm keygen); an unsigned or wrongly signed version is refused",
    )


def _exports(s: argparse.ArgumentParser, reads: str) -> None:
    s.add_argument(
        "--exports",
        default=DEFAULT_EXPORTS,
        metavar="DIR",
        help=f"the exports folder {reads} (default: {DEFAULT_EXPORTS})",
    )


def _reading(s: argparse.ArgumentParser) -> None:
    s.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="THEIRS=OURS",
        help="read the file's column THEIRS as the contract's column OURS (such as "
        "fill_date=date_of_service); may be given more than once",
    )
    s.add_argument(
        "--encoding",
        metavar="NAME",
        help="the encoding a CSV file was saved in, such as cp1252 or latin-1 (default: UTF-8)",
    )
    s.add_argument(
        "--history",
        metavar="FILE",
        help="the members' earlier paid fills (CSV or Parquet, read as claims are: member_id, "
        "product_id / ndc / rxcui, date_of_service, quantity, optional status paid or "
        "reversed), counted toward Per Days limits",
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dqm",
        description="Drug Quantity Management rules: workbook → versioned JSON → decisions.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("validate", help="print every finding that compile would")
    s.add_argument("workbook")
    _exports(s, "whose published versions the History and a new ruleset are checked against")
    s.add_argument("--json", action="store_true", help='print {"errors": [...], "warnings": [...]}')
    s.add_argument(
        "--annotate",
        metavar="OUT.xlsx",
        help="also write a copy with each bad cell marked and a Findings sheet",
    )

    s = sub.add_parser(
        "template", help="write a blank workbook with every sheet, header, help and dropdown"
    )
    s.add_argument("out", metavar="OUT.xlsx")

    s = sub.add_parser("compile", help="validate, run Tests, publish a new version")
    s.add_argument("workbook")
    s.add_argument(
        "--exports",
        metavar="DIR",
        help=f"the exports folder to publish into, created if missing (default: {DEFAULT_EXPORTS}, "
        "which must exist)",
    )
    s.add_argument(
        "--sign",
        metavar="KEY",
        help="sign the new version (and any earlier one still unsigned) with this Ed25519 "
        "private key, kept outside the repository (dqm keygen makes one)",
    )

    s = sub.add_parser(
        "decide", help="decide every claim of a CSV or Parquet file against a published ruleset"
    )
    s.add_argument(
        "claims",
        metavar="CLAIMS",
        help="a CSV or Parquet file, a folder of Parquet files, or - for CSV on standard input",
    )
    s.add_argument(
        "--ruleset",
        required=True,
        help="ruleset id (each claim by the version in effect on its date_of_service; the "
        "latest for a claim without one) or a version file's path (that version decides all)",
    )
    which = s.add_mutually_exclusive_group()
    which.add_argument("--version", help="decide every claim by this version of the ruleset id")
    which.add_argument(
        "--as-of",
        metavar="DATE",
        help="decide every claim by the version in effect on DATE (YYYY-MM-DD or YYYYMMDD)",
    )
    _exports(s, "to read the ruleset from")
    _public_key(s)
    s.add_argument(
        "--format",
        choices=["csv", "json", "jsonl", "parquet"],
        help="csv (default), json (one list), jsonl (one object per line) or parquet; by "
        "default the one --output's suffix names",
    )
    s.add_argument(
        "--output",
        metavar="PATH",
        help="write the decisions into PATH (complete, or not at all) instead of standard output; "
        "with --spark, a new folder of Parquet files",
    )
    s.add_argument(
        "--spark",
        metavar="MASTER",
        help="decide on Apache Spark: local[N] or a cluster's URL (needs the spark extra)",
    )
    _reading(s)

    s = sub.add_parser(
        "impact",
        help="the same claims decided by versions A and B: decision transitions, approved totals "
        "and the changed claims",
    )
    s.add_argument("ruleset", help="ruleset id")
    s.add_argument("a", metavar="A", help="version before: N, vN or latest")
    s.add_argument(
        "b", metavar="B", help="version after: N, vN, latest or a draft workbook (.xlsx)"
    )
    s.add_argument("claims", metavar="CLAIMS", help="as for dqm decide")
    _exports(s, "to read the ruleset from")
    _public_key(s)
    s.add_argument(
        "--output",
        metavar="PATH",
        help="write the changed claims into PATH (csv, json, jsonl or parquet by its suffix); "
        "with --spark, a new folder of Parquet files",
    )
    s.add_argument("--format", choices=["csv", "json", "jsonl", "parquet"], help=argparse.SUPPRESS)
    s.add_argument("--spark", metavar="MASTER", help="compare on Apache Spark (as dqm decide)")
    _reading(s)

    s = sub.add_parser(
        "keygen", help="make an Ed25519 key pair to sign versions with (compile --sign)"
    )
    s.add_argument("out", metavar="OUT.pem", help="the private key's file (its public key beside)")

    s = sub.add_parser("test", help="decide a workbook's Tests rows and print a pass/fail table")
    s.add_argument("workbook")

    s = sub.add_parser("versions", help="the published versions with their history entries")
    s.add_argument("ruleset", nargs="?")
    _exports(s, "to read")
    _public_key(s)

    s = sub.add_parser("diff", help="what changed between versions A and B")
    s.add_argument("ruleset", help="ruleset id")
    s.add_argument("a", metavar="A", help="version before: N, vN or latest")
    s.add_argument(
        "b", metavar="B", help="version after: N, vN, latest or a draft workbook (.xlsx)"
    )
    _exports(s, "to read")
    _public_key(s)

    s = sub.add_parser(
        "conformance",
        help="write the conformance vectors (inputs and dqm's exact outputs) for consumers",
    )
    s.add_argument(
        "--exports",
        action="append",
        metavar="DIR",
        help="an exports folder whose every published version gets vectors; may be given more "
        f"than once (default: {' and '.join(CONFORMANCE_EXPORTS)})",
    )
    s.add_argument(
        "--out",
        default="conformance",
        metavar="DIR",
        help="the vectors' folder (default: conformance)",
    )
    s.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 naming the first difference when the vectors in DIR are stale",
    )
    return p
