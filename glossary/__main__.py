"""``python -m glossary``: check the termbase or export it.

    python -m glossary check [--strict] [PATH ...]
    python -m glossary tbx OUT.tbx [PATH ...]
    python -m glossary csv OUT.csv [PATH ...]

The project's own CLI may wrap these; this entry point lets linguists check
their edits with nothing but the package installed.
"""

from __future__ import annotations

import argparse
import sys

from briefings.errors import GlossaryError
from glossary.termbase import check_glossary, export_csv, export_tbx, load_glossary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m glossary", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate the termbase, print every finding")
    check.add_argument("--strict", action="store_true", help="fail on warnings too")
    check.add_argument("paths", nargs="*", help="YAML files or folders (default: shipped data)")
    for name in ("tbx", "csv"):
        export = commands.add_parser(name, help=f"export the termbase as {name.upper()}")
        export.add_argument("out", help="the file to write")
        export.add_argument("paths", nargs="*", help="YAML files or folders")
    args = parser.parse_args(argv)
    paths = args.paths or None

    if args.command == "check":
        findings = check_glossary(paths)
        for finding in findings:
            print(finding)
        errors = sum(f.severity == "error" for f in findings)
        warnings = len(findings) - errors
        print(f"{errors} error(s), {warnings} warning(s)")
        return 1 if errors or (args.strict and warnings) else 0

    try:
        glossary = load_glossary(paths)
    except GlossaryError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    (export_tbx if args.command == "tbx" else export_csv)(glossary, args.out)
    print(f"Wrote {args.out} (glossary {glossary.version}, {len(glossary)} concepts)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
