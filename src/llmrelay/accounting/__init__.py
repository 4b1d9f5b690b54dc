"""Token counts, prices and context windows for usage and cost accounting: pure, offline library code."""
