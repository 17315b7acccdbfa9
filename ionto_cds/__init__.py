"""ionto-cds: clinical decision support for iontophoresis, with rules as YAML data."""

from ionto_cds._version import __version__
from ionto_cds.engine.assess import assess, evaluate_frame
from ionto_cds.engine.assessment import Assessment, Finding
from ionto_cds.engine.ruleset import RuleSet, load_ruleset
from ionto_cds.evaluation.outcomes import Decision

__all__ = ["Assessment", "Decision", "Finding", "RuleSet", "__version__", "assess",
           "evaluate_frame", "load_ruleset"]
