"""The portal's one settings module: every value comes from the environment.

With no DATABASE_URL the portal runs on a SQLite file and with no REDIS_URL Celery
runs tasks eagerly and the cache is in local memory, so a newcomer needs nothing but
Python. `.env.example` documents every variable read here.
"""

import ipaddress
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A .env file is a convenience for local runs; real deployments set the environment.
env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment (DEBUG is off, so there is no "
            "development default)."
        )
    SECRET_KEY = "insecure-development-key-only-used-when-DEBUG-is-on"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # Django admin, which only administrators enter (config/admin_site.py).
    "config.apps.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "import_export",
    # django-axes (config/apps.py names it for the admin).
    "config.apps.LoginProtectionConfig",
    "django_prometheus",
    # The portal's apps, in the order they depend on each other.
    "core",
    "communes",
    "accounts",
    "outreach",
    "trainings",
    "dashboard",
]

MIDDLEWARE = [
    # Times each request whole, from first to last middleware (the figures at METRICS_PATH).
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages and JSON travel compressed (a repeat visit of the visit form on a weak signal
    # must cost a few KB). After WhiteNoise, which serves static files already compressed,
    # and before any middleware that reads or changes the body, as Django's docs ask.
    # Django pads the compressed body against BREACH.
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "config.middleware.TypedTextMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The cache entries a page will ask for (the figures' state, the permissions, the
    # demo flag) in one round trip to Redis, before any process_view asks them.
    "core.middleware.CacheReadAheadMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "accounts.middleware.IdleTimeoutMiddleware",
    # Counts responses by view and status; before axes, so that it sees the lockout page.
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.demo_data",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
# SQLITE_PATH only matters when DATABASE_URL is absent (the embedded default). A relative
# path is in the project folder, wherever a process was started from.
SQLITE_PATH = BASE_DIR / env.str("SQLITE_PATH", default="db.sqlite3")
# Empty (DATABASE_URL= in .env) counts as unset, as it does for REDIS_URL.
DATABASES = {
    "default": env.db_url_config(env.str("DATABASE_URL", default="") or f"sqlite:///{SQLITE_PATH}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A database that does not answer must fail a request, not hang it.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite lets one writer at a time. Django's default (deferred) transactions ask
    # for the write lock at their first write, and one that has read before cannot
    # wait for it there: SQLite answers "database is locked" at once, a 500 and a lost
    # visit when two phones post together. Immediate transactions take the lock at
    # BEGIN, where SQLite does wait, up to the timeout; in WAL mode readers never wait
    # for the writer. NORMAL is safe with WAL (a power cut can lose the last commits,
    # never corrupt the file).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        transaction_mode="IMMEDIATE",
        timeout=env.int("SQLITE_TIMEOUT", default=20),
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    )
    # SQLite has no NULLS NOT DISTINCT: the training summaries' unique keys (which may
    # be null) exist on PostgreSQL only; the roll-up replaces their rows by key anyway.
    SILENCED_SYSTEM_CHECKS = ["models.W047"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# django-axes first: a locked-out login is refused before its password is even tried.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend, with each user's permissions kept in the cache (accounts/backends.py).
    "accounts.backends.CachedPermissionBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Redis: broker and cache ------------------------------------------------------------
# Every Redis client gets short socket and connect timeouts: a Redis that hangs must
# slow a request by seconds, never stop it.
REDIS_URL = env.str("REDIS_URL", default="")
REDIS_TIMEOUT = env.float("REDIS_TIMEOUT", default=3.0)


def redis_next_database(url: str) -> str:
    """The same Redis server as url, on the next database number (0 becomes 1).

    The cache's own database: Django's cache.clear() empties a whole Redis database
    (FLUSHDB), and in the broker's it would take the queued tasks with it.
    """
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    if "db" in query or parts.scheme == "unix":
        # The number is in the query (a socket's path cannot carry it).
        query["db"] = str(int(query.get("db", 0)) + 1)
        return f"{url.split('?', 1)[0]}?{urlencode(query)}"
    return urlunsplit(parts._replace(path=f"/{int(parts.path.strip('/') or 0) + 1}"))


# After a Redis error or timeout each process stops asking the cache for this long and
# works without it (core/cache.py), then tries one call again.
CACHE_BREAKER_SECONDS = env.float("CACHE_BREAKER_SECONDS", default=30.0)

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.cache.TolerantRedisCache",
            # Unset (or empty, as .env.example leaves it), the cache follows REDIS_URL to
            # whatever server it names.
            "LOCATION": env.str("REDIS_CACHE_URL", default="") or redis_next_database(REDIS_URL),
            "KEY_PREFIX": "portal",
            "OPTIONS": {
                "socket_timeout": REDIS_TIMEOUT,
                "socket_connect_timeout": REDIS_TIMEOUT,
                "breaker_seconds": CACHE_BREAKER_SECONDS,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Sessions stay in the database so that a Redis outage logs nobody out.
SESSION_ENGINE = "accounts.sessions"

# --- Celery -----------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
# Without a broker the tasks run in the caller's process, so `make run` needs no worker.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "Asia/Ho_Chi_Minh"
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
# Work that must not be lost is acknowledged after it ran, one task at a time.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_TIMEOUT
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_timeout": REDIS_TIMEOUT,
    "socket_connect_timeout": REDIS_TIMEOUT,
    # A task taken by a worker that dies without a word (killed, its machine lost) goes
    # back to the queue once it has been out this long, found by a sweep of the
    # unacknowledged tasks every interval x throttle seconds (kombu: 10 x 10). A task
    # that outlives the timeout is handed out again while it runs: the roll-ups are
    # idempotent and serialised by a lock, so that costs work, never figures. For the
    # pending roll-up the next worker's watch (dashboard/worker.py) does not wait for it.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    "unacked_restore_interval": env.int("CELERY_RESTORE_INTERVAL", default=10),
    "unacked_restore_throttle": env.int("CELERY_RESTORE_THROTTLE", default=10),
}
# Publishing gives up at once: what a task would do is recorded in Postgres first (the
# pending roll-up buckets), and the worker's watch (or beat) picks it up if a request to
# the broker was lost. A form must never wait on retries against a broker that hangs.
CELERY_TASK_PUBLISH_RETRY = False
# A change asks for the pending roll-up at most once in this many seconds (0: at once);
# the dashboards' figures are then at most this much older than the change.
ROLLUP_DEBOUNCE_SECONDS = env.int("ROLLUP_DEBOUNCE_SECONDS", default=10)
# The worker's watch (dashboard/worker.py): at once when the worker starts or gets its
# broker back, then every this many seconds, it records its heartbeat and asks for the
# roll-up of changes whose own request was lost. 0 turns it off.
ROLLUP_WATCH_SECONDS = env.int("ROLLUP_WATCH_SECONDS", default=5)
# The watch runs in Celery's consumer, which also retries a lost broker every few
# seconds rather than kombu's up to 30 (dashboard/worker.py)...
CELERY_WORKER_CONSUMER = "dashboard.worker:Consumer"
# ...and forever: after the default 100 attempts the worker would exit, and with
# attempts 5 s apart that would be an outage of eight minutes.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# /healthz/figures answers 503, and the dashboards say their figures are late, once a
# change has waited this long for the roll-up; /healthz/figures also when no worker has
# been seen for WORKER_SEEN_WITHIN_SECONDS.
FIGURES_STALE_AFTER_SECONDS = env.int("FIGURES_STALE_AFTER_SECONDS", default=600)
WORKER_SEEN_WITHIN_SECONDS = env.int("WORKER_SEEN_WITHIN_SECONDS", default=120)

# --- Language, time and formats ---------------------------------------------------------
LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_TZ = True
# Django's own Vietnamese formats lack input formats and a short date; ours complete them.
FORMAT_MODULE_PATH = ["config.formats"]
# Grouping is applied where a figure is shown (intcomma), so codes and ids stay ungrouped.
USE_THOUSAND_SEPARATOR = False

# --- Static files -----------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / env.str("STATIC_ROOT", default="staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Security ---------------------------------------------------------------------------
# HTTPS-only flags default to on outside DEBUG; a benchmark on plain-HTTP loopback may
# relax them through the environment, and says so in its report.
SECURE_HTTPS = env.bool("SECURE_HTTPS", default=not DEBUG)
SECURE_SSL_REDIRECT = SECURE_HTTPS
SESSION_COOKIE_SECURE = SECURE_HTTPS
CSRF_COOKIE_SECURE = SECURE_HTTPS
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if SECURE_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HTTPS
SECURE_HSTS_PRELOAD = SECURE_HTTPS
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_HTTPS_PROXY", default=False) else None
)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^healthz/figures$"]
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
# A refused CSRF check answers JSON to the phone's outbox, which then fetches a fresh
# token and sends again; a page as before to everyone else.
CSRF_FAILURE_VIEW = "config.views.csrf_failure"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Content-Security-Policy (django-csp): scripts, styles and images from the portal only,
# nothing inline; the front-end libraries are served from static/ for this reason too.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Logins: django-axes locks a login name on one address after AXES_FAILURE_LIMIT wrong
# passwords in a row, for AXES_COOLOFF_MINUTES. Name and address together: thousands of
# volunteers reach the portal through a few carriers' shared addresses, so locking an
# address would lock them all out, and locking a name alone would let anyone lock out
# a commune official by typing their name.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_USERNAME_CALLABLE = "accounts.forms.login_name_of_attempt"
# Behind the HTTPS proxy the client's address is the last one the proxy added to
# X-Forwarded-For; REMOTE_ADDR is the proxy's, and would lock a name for everyone.
AXES_CLIENT_IP_CALLABLE = "accounts.addresses.client_address"

# Staff and admins are logged out after this long without a request; team leaders, on
# their own phones in the field, keep the usual two-week session.
STAFF_IDLE_TIMEOUT = timedelta(minutes=env.int("STAFF_IDLE_MINUTES", default=30))

ADMIN_URL = env.str("ADMIN_URL", default="admin/")

# --- Metrics for Prometheus (config/metrics.py) ------------------------------------------
# The figures answer only to these addresses or networks (the monitoring host); anyone
# else gets a 404, logged in or not. Behind the HTTPS proxy the caller's address is the
# last one the proxy added to X-Forwarded-For.
METRICS_PATH = env.str("METRICS_PATH", default="metrics")
METRICS_ALLOWED_IPS = [
    # Parsed here so that a mistyped address stops the start, not every scrape.
    ipaddress.ip_network(entry, strict=False)
    for entry in env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
]
BEHIND_HTTPS_PROXY = env.bool("BEHIND_HTTPS_PROXY", default=False)

# --- Personal data (Law 91/2025/QH15, Decree 356/2025) --------------------------------
# The version of the notice team leaders read out before recording a household.
CONSENT_NOTICE_VERSION = env.str("CONSENT_NOTICE_VERSION", default="2026-01")
# Households not visited for this many years lose their personal data (a nightly job).
HOUSEHOLD_RETENTION_YEARS = env.int("HOUSEHOLD_RETENTION_YEARS", default=5)

# --- Backups (manage.py backup_database / restore_database, `make backup`) -------------
# With a key the dump is encrypted as pg_dump writes it (age if both are set): an age
# public key or a file of them, or a key in the gpg keyring of whoever runs the backups.
# The restore decrypts with the age identity file, or with gpg's own keyring.
BACKUP_AGE_RECIPIENT = env.str("BACKUP_AGE_RECIPIENT", default="")
BACKUP_AGE_IDENTITY = env.str("BACKUP_AGE_IDENTITY", default="")
BACKUP_GPG_RECIPIENT = env.str("BACKUP_GPG_RECIPIENT", default="")

# seed_demo creates logins with known passwords: never on a production site by accident.
ALLOW_DEMO_DATA = env.bool("ALLOW_DEMO_DATA", default=DEBUG)

# --- Imports ----------------------------------------------------------------------------
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_SKIP_ADMIN_LOG = False
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
