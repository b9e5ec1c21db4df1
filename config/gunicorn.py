"""gunicorn's settings for the portal (`gunicorn -c config/gunicorn.py config.wsgi`).

The access log names the path without its query string: a search for a household or a
member carries what was typed (a name, a phone number) in the query string, and the
access log is kept longer and read more widely than the database.
"""

from pathlib import Path

import environ

# The same .env the settings read, the same way (the environment wins): gunicorn reads
# this file in its master process, before any worker has loaded Django's settings.
env = environ.Env()
env.read_env(Path(__file__).resolve().parent.parent / ".env", overwrite=False)

bind = env.str("GUNICORN_BIND", default="127.0.0.1:8000")
workers = env.int("GUNICORN_WORKERS", default=3)
timeout = 30
accesslog = "-"
# gunicorn's default format with %(U)s (the path) where it has %(r)s (the request line).
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s" %(L)ss'


def child_exit(server, worker):
    """With PROMETHEUS_MULTIPROC_DIR set (the web unit sets it), each worker keeps its
    figures in files there (config/metrics.py); a dead worker's gauges must go with it."""
    if env.str("PROMETHEUS_MULTIPROC_DIR", default=""):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
