"""The argument values the fakes put in the tool calls they invent, by JSON Schema type.

    sample_of("integer")   # 1
    sample_of(None)        # "Oslo": the string sample, also for a type the table lacks

Which properties get a value (the required ones or all, enums first, nested objects) stays each wire
module's own rule: the rules differ between the fakes, and their tests expect them as they are.
"""

from __future__ import annotations

from collections.abc import Mapping

_SAMPLES: Mapping[str, object] = {
    "string": "Oslo",
    "integer": 1,
    "number": 1.5,
    "boolean": True,
    "array": [],
    "object": {},
}


def sample_of(kind: object) -> object:
    """The sample value for a JSON Schema ``type``."""
    return _SAMPLES.get(str(kind), "Oslo")
