"""One full-text search for every service: Russian and English word forms, the same rows on
SQLite (FTS5) and PostgreSQL (tsvector + GIN), kept in step with the writes that change them."""
