"""ipywidgets front ends: the clinician app and the dose calculator."""

from ionto_cds.widgets.clinician import ClinicianApp, clinician_app
from ionto_cds.widgets.dose_calculator import DoseCalculator, dose_calculator

__all__ = ["ClinicianApp", "DoseCalculator", "clinician_app", "dose_calculator"]
