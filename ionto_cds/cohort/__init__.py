"""Cohort screening: schema, validation with quarantine, batch assessment, Dask, plots."""
