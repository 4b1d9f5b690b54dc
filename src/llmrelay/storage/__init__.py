"""Gateway state in a real database (SQLite by default, PostgreSQL by URL) and shared counters (Redis)."""
