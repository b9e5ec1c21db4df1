"""gunicorn's settings for the portal (`gunicorn -c config/gunicorn.py config.wsgi`).

The access log names the path without its query string: a search for a household or a
member carries what was typed (a name, a phone number) in the query string, and the
access log is kept longer and read more widely than the database.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
timeout = 30
accesslog = "-"
# gunicorn's default format with %(U)s (the path) where it has %(r)s (the request line).
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s" %(L)ss'
