"""Django's PostgreSQL backend with a health check that costs no round trip.

With CONN_HEALTH_CHECKS, Django checks a persistent connection before the
first query of each request; its PostgreSQL backend does so with `SELECT 1`,
one round trip per request. An idle connection, though, receives nothing
unasked unless the server ends it: a restart, a failover or
`pg_terminate_backend` sends a FATAL error and closes the socket. So the
check here asks the kernel whether the socket has anything to read, without
waiting: something there means the connection is gone (or the server said
something unexpected, which costs one reconnect). A connection the network
dropped silently still looks open; the request that finds it fails, and
Django closes it at the end of that request.
"""

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        """Return whether the connection is open and the server has sent nothing since the last reply."""
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        try:
            readable, _, _ = select.select([connection.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable
