"""vision model families."""
