"""nlp model families."""
