"""Where Merkwacht keeps what it read: SQLAlchemy models, Alembic migrations and the queries on them."""
