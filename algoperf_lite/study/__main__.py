"""python -m algoperf_lite.study [--dry-run] [--debug] [key=value ...]: the study command
(also ``algoperf-lite study``), with the CLI's handling of bad input (one line, exit 2)."""

from __future__ import annotations

import argparse
import sys

from algoperf_lite.errors import UserError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m algoperf_lite.study", description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*", help="config overrides key=value (configs/study.yaml)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and exit")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    args = parser.parse_intermixed_args(argv)  # flags may come between overrides
    from algoperf_lite.study.command import study_command

    try:
        return study_command(args.overrides, dry_run=args.dry_run)
    except UserError as e:
        if args.debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
