"""Create the Postgres databases named by the given URLs if they do not exist yet."""

from __future__ import annotations

import asyncio
import sys

import asyncpg
from sqlalchemy.engine import make_url


async def ensure(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    admin = parsed.set(drivername="postgresql", database="postgres")
    conn = await asyncpg.connect(admin.render_as_string(hide_password=False))
    try:
        exists = await conn.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", parsed.database
        )
        if not exists:
            await conn.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await conn.close()


async def main(urls: list[str]) -> None:
    for url in urls:
        await ensure(url)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
