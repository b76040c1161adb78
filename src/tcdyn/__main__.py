"""``python -m tcdyn``: the ``tcdyn`` command."""

from tcdyn.cli import main

raise SystemExit(main())
