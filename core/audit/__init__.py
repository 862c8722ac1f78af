"""Audit trail: every change to an alert, roster, response or channel (nothing is deleted)."""
