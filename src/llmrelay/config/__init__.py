"""llmrelay.yaml: its schema (model.py) and how it is found and loaded (load.py)."""
