"""Storage adapters: SQLAlchemy Core tables, alembic migrations, units of work and the ledger's hot SQL."""
