"""Logs (and, later, metrics): what happened, never with a secret in it."""
