"""The admin API (/admin/*): the master key or a key with 'admin' permission only."""
