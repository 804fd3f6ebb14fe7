"""speech model families."""
