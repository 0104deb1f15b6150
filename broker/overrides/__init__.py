"""Overrides of a person's refusal, and their review by information governance leads."""
