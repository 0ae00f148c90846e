"""Run a command with the dbt connection variables set: `python -m seamline.with_db dbt build ...`.

Analysts use it to run dbt (or sqlfluff's dbt templater) by hand against the same database
Seamline uses: DATABASE_URL, or the embedded server, started if needed.
"""

from __future__ import annotations

import os
import sys

from seamline.database import get_database
from seamline.errors import SeamlineError
from seamline.runtime import configure


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m seamline.with_db COMMAND [ARGS...]", file=sys.stderr)
        return 2
    configure()
    try:
        os.environ.update(get_database().dbt_env())
    except SeamlineError as exc:
        print(f"seamline: {exc}", file=sys.stderr)
        return 1
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
