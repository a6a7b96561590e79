"""``python -m gokpl.testing``: the fake endpoint's command (see gokpl.testing._serve)."""

from ._serve import main

raise SystemExit(main())
