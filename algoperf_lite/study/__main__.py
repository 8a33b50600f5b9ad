"""``python -m algoperf_lite.study [overrides] [--dry-run] ...``: the same command as
``algoperf-lite study`` (:mod:`algoperf_lite.commands.study`), through the same parser."""

import sys

from algoperf_lite.cli import main

if __name__ == "__main__":
    sys.exit(main(["study", *sys.argv[1:]]))
