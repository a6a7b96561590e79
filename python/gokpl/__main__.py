"""``python -m gokpl``: the gokpl command (see gokpl.cli)."""

from .cli import main

raise SystemExit(main())
