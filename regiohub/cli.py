"""The ``regiohub`` console command.

Verbs people remember, each a management command of the core app:

    regiohub demo      migrate, then load the demo region (idempotent)
    regiohub serve     the production web server (gunicorn + whitenoise)
    regiohub worker    run background tasks
    regiohub check     configuration, database and task queue; non-zero exit on a problem

Anything else is handed to Django's ``manage.py`` (``regiohub migrate``, ``regiohub shell``).
"""

from __future__ import annotations

import os
import sys

VERBS = {"check": "regiohub_check"}


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "regiohub.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else argv)
    args[0] = "regiohub"
    if len(args) > 1:
        args[1] = VERBS.get(args[1], args[1])
    execute_from_command_line(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
