"""Sessions in the database, as Django keeps them, read with one prepared statement.

Every page reads its session first. Django's store builds the query through the ORM on
each request (~0.4 ms of Python, about as long as PostgreSQL takes to answer it); the
statement never changes, so it is built once. Everything else is Django's
(django.contrib.sessions.backends.db): the table, the writes, the expiry.
"""

import functools

from django.contrib.sessions.backends import db
from django.db import connections, router
from django.utils import timezone


@functools.cache
def _select(alias: str) -> str:
    model = db.SessionStore.get_model_class()
    quote = connections[alias].ops.quote_name
    field = model._meta.get_field
    columns = ", ".join(
        quote(field(name).column) for name in ("session_key", "session_data", "expire_date")
    )
    return (
        f"SELECT {columns} FROM {quote(model._meta.db_table)}"
        f" WHERE {quote(field('session_key').column)} = %s"
        f" AND {quote(field('expire_date').column)} > %s"
    )


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        # A key that is not one (a forged cookie) finds nothing here, as it does in
        # Django's store: the session is then a new, empty one.
        alias = router.db_for_read(self.model)
        found = next(
            iter(
                self.model.objects.using(alias).raw(
                    _select(alias), [self.session_key, timezone.now()]
                )
            ),
            None,
        )
        if found is None:
            self._session_key = None
        return found
