"""One contract suite for the SQL store over real SQLite and the real local PostgreSQL."""
