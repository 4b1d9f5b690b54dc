"""The HTTP edge: parse, call the pipeline, render. No provider names here."""
