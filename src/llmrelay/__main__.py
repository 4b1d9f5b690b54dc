"""python -m llmrelay → the CLI."""

from llmrelay.cli import main

main()
