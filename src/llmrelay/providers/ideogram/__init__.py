"""Ideogram: image generation through Ideogram 3.0's multipart API (reference §9.2)."""

from llmrelay.providers.ideogram.images import IdeogramImages

__all__ = ["IdeogramImages"]
