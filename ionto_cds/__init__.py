"""ionto-cds: clinical decision support for iontophoresis, with rules as YAML data."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ionto-cds")
except PackageNotFoundError:  # running from a checkout that was not installed
    __version__ = "0.0.0+unknown"

from ionto_cds.engine import Assessment, Decision, Finding, RuleSet, assess, load_ruleset

__all__ = ["Assessment", "Decision", "Finding", "RuleSet", "__version__", "assess", "load_ruleset"]
