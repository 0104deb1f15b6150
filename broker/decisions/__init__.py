"""Consent decisions asked for ahead of time, for information governance."""
