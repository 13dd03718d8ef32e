"""Which database errors mean "the database is away", decided once for every service.

A consumer that meets one must wait and try again, not count it against the message: an
outage of a few seconds would otherwise send every event in flight to the dead-letter queue.
Anything else (a constraint, a value the column refuses) is about the data itself.
"""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

# asyncpg's connection errors arrive wrapped (DBAPIError.orig) or bare.
_CONNECTION_ERRORS = (
    "ConnectionDoesNotExistError",
    "ConnectionFailureError",
    "CannotConnectNowError",
    "TooManyConnectionsError",
    "InterfaceError",
    "AdminShutdownError",
    "CrashShutdownError",
)


def unavailable(exc: BaseException) -> bool:
    if isinstance(exc, OSError | TimeoutError | sa_exc.TimeoutError | sa_exc.DisconnectionError):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated or isinstance(exc, sa_exc.InterfaceError):
            return True
        return unavailable(exc.orig) if isinstance(exc.orig, BaseException) else False
    if type(exc).__name__ in _CONNECTION_ERRORS:
        return True
    # SQLite: another writer held the file past busy_timeout; the next try may go through.
    return isinstance(exc, sa_exc.OperationalError) and "database is locked" in str(exc)
