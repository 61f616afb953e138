"""The stored formats (run.json and one file per case) as typed records: the only code that
writes or reads a stored result."""
