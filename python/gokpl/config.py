"""aiokpl's module path for the options: ``from gokpl.config import Config``.

The same classes as ``gokpl.Config`` and its errors, for code written
against ``aiokpl.config``. gokpl's ``metrics_level`` is a string
(``"none"``, ``"summary"``, ``"detailed"``), so there is no MetricsLevel.
"""

from ._config import Config
from ._errors import ConfigError, UnknownOptionError

__all__ = ["Config", "ConfigError", "UnknownOptionError"]
