"""``python -m tcdyn.cli``: the ``tcdyn`` command."""

from tcdyn.cli import main

raise SystemExit(main())
