"""The package version, written here only: pyproject.toml reads it, and the build gives it to the shared
library, which must report the same one."""

__version__ = "0.3.0"
