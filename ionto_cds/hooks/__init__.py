"""The CDS Hooks 2.0 service: discovery, patient-view and order-select cards, feedback."""
