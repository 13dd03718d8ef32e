"""The database port: SQLAlchemy async on Postgres (asyncpg) or SQLite (aiosqlite)."""

from aistrale_common.db.database import Database, is_sqlite
from aistrale_common.db.migrate import upgrade_to_head

__all__ = ["Database", "is_sqlite", "upgrade_to_head"]
