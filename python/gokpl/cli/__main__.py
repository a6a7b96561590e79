"""``python -m gokpl.cli``: the gokpl command."""

from . import main

raise SystemExit(main())
