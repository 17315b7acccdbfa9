"""The installed version of ionto-cds (kept apart so that no layer imports the package root)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ionto-cds")
except PackageNotFoundError:  # running from a checkout that was not installed
    __version__ = "0.0.0+unknown"
