"""Settings, all from the environment (the README lists every variable)."""

import base64
import hashlib
import logging
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)

_DEV_SECRET_KEY = "dev-insecure-key-never-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = _DEV_SECRET_KEY
    logging.getLogger("connect").warning("SECRET_KEY is not set: using a development key.")

FACEBOOK_APP_SECRET = env.str("FACEBOOK_APP_SECRET", default="")
FACEBOOK_VERIFY_TOKEN = env.str("FACEBOOK_VERIFY_TOKEN", default="")
if not DEBUG:
    _missing = [
        name
        for name, value in (
            ("FACEBOOK_APP_SECRET", FACEBOOK_APP_SECRET),
            ("FACEBOOK_VERIFY_TOKEN", FACEBOOK_VERIFY_TOKEN),
        )
        if not value
    ]
    if _missing:
        raise ImproperlyConfigured(f"{', '.join(_missing)} must be set when DEBUG is off.")
# Fernet keys for the Page access tokens stored in the database (facebook.token_crypto):
# the first encrypts, all decrypt. Unset, one key is derived from SECRET_KEY, so
# a server needs no more settings than docs/contract.md lists; a key of its own
# lets SECRET_KEY change without making the stored tokens unreadable.
PAGE_TOKEN_KEYS = env.list("PAGE_TOKEN_KEYS", default=[])
if not PAGE_TOKEN_KEYS:
    _derived = hashlib.sha256(b"connect.page-token-key:" + SECRET_KEY.encode()).digest()
    PAGE_TOKEN_KEYS = [base64.urlsafe_b64encode(_derived).decode("ascii")]
    if not DEBUG:
        logging.getLogger("connect").warning(
            "PAGE_TOKEN_KEYS is not set: the Page tokens are encrypted with a key derived "
            "from SECRET_KEY; set a key of your own before SECRET_KEY ever changes."
        )
FACEBOOK_APP_ID = env.str("FACEBOOK_APP_ID", default="")
FACEBOOK_GRAPH_URL = env.str("FACEBOOK_GRAPH_URL", default="https://graph.facebook.com").rstrip("/")
FACEBOOK_GRAPH_VERSION = env.str("FACEBOOK_GRAPH_VERSION", default="v24.0")
FACEBOOK_SIMULATOR = env.bool("FACEBOOK_SIMULATOR", default=False)
# The simulator posts webhooks signed with the real app secret on behalf of
# anyone: a production server refuses to start with it unless told otherwise
# (the test suite and the browser tests' servers run with DEBUG off).
FACEBOOK_SIMULATOR_ALLOW_PRODUCTION = env.bool("FACEBOOK_SIMULATOR_ALLOW_PRODUCTION", default=False)
if FACEBOOK_SIMULATOR and not DEBUG and not FACEBOOK_SIMULATOR_ALLOW_PRODUCTION:
    raise ImproperlyConfigured(
        "FACEBOOK_SIMULATOR is on with DEBUG off: the simulator is never for production. "
        "Turn it off, or set FACEBOOK_SIMULATOR_ALLOW_PRODUCTION=1 for a test server."
    )
# Where the simulator posts its webhooks; unset: this server's own listening
# address, never one taken from the request's Host header.
FACEBOOK_SIMULATOR_WEBHOOK_URL = env.str("FACEBOOK_SIMULATOR_WEBHOOK_URL", default="")
FACEBOOK_SEND_TIMEOUT = env.float("FACEBOOK_SEND_TIMEOUT", default=10.0)
# The business's privacy policy: Messenger's feedback survey template must link to it.
FACEBOOK_PRIVACY_URL = env.str("FACEBOOK_PRIVACY_URL", default="")
# The health guard checks each Page's subscription this often (seconds; 0: never).
FACEBOOK_HEALTH_CHECK_SECONDS = env.int("FACEBOOK_HEALTH_CHECK_SECONDS", default=300)
# A reply Meta's rate limit refused is sent again after this, doubling up to 16 times.
FACEBOOK_RATE_LIMIT_BACKOFF = env.float("FACEBOOK_RATE_LIMIT_BACKOFF", default=5.0)
# When Meta retires FACEBOOK_GRAPH_VERSION (ISO date), if facebook.versions does not know it.
FACEBOOK_GRAPH_VERSION_RETIRES = env.str("FACEBOOK_GRAPH_VERSION_RETIRES", default="")
# A file an agent sends is uploaded to Meta first: this long for the upload, on top.
FACEBOOK_UPLOAD_TIMEOUT = env.float("FACEBOOK_UPLOAD_TIMEOUT", default=60.0)
# This server's public address (https://connect.example.com), for the few URLs
# that others fetch on their own: Meta downloads a Messenger persona's picture
# from here. Unset, no persona is created and replies go out under the Page.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="").rstrip("/")
# Attachment copies are fetched over https from public addresses only (every
# redirect hop checked); hosts named here ("host" or "host:port") may also be
# http or private: the fake Graph API's CDN of the demo and the tests. None by default.
FACEBOOK_ATTACHMENT_ALLOWED_HOSTS = [
    host.lower() for host in env.list("FACEBOOK_ATTACHMENT_ALLOWED_HOSTS", default=[])
]
# Meta batches up to 1000 events a POST; a body over this is refused with 413.
FACEBOOK_WEBHOOK_MAX_BYTES = env.int("FACEBOOK_WEBHOOK_MAX_BYTES", default=1024 * 1024)
# Webhook bodies already routed, and the copies kept of customers' attachments,
# are deleted this many days after they arrived (facebook.retention); 0 keeps them.
RETENTION_DAYS = env.int("RETENTION_DAYS", default=90)
# Stored webhook bodies are routed by a thread of each server process
# ("background"), or by the request that stored them ("inline": the test
# client, where no server runs).
FACEBOOK_WEBHOOK_ROUTING = env.str("FACEBOOK_WEBHOOK_ROUTING", default="background")
if FACEBOOK_WEBHOOK_ROUTING not in ("background", "inline"):
    raise ImproperlyConfigured("FACEBOOK_WEBHOOK_ROUTING is background or inline")
# Live updates are rendered by a thread of each server process ("background"),
# or by the thread that committed the change ("inline": the test suite).
LIVE_UPDATES = env.str("LIVE_UPDATES", default="background")
if LIVE_UPDATES not in ("background", "inline"):
    raise ImproperlyConfigured("LIVE_UPDATES is background or inline")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "axes",
    "csp",
    "django_htmx",
    "template_partials",
    "routing",
    "facebook",
    "connect",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # A database that does not answer in time: 503 with words, not a 500.
    "connect.unavailable.DatabaseUnavailableMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "connect.urls"
ASGI_APPLICATION = "connect.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database_from_env() -> dict:
    database = env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
    if database["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets readers run beside the one writer; IMMEDIATE takes the write
        # lock at BEGIN, so a transaction never fails upgrading to a write, and
        # the busy timeout makes writers queue instead of failing.
        database.setdefault("OPTIONS", {}).update(
            {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            }
        )
        if database["NAME"] not in ("", ":memory:"):
            database["TEST"] = {"NAME": str(Path(database["NAME"]).with_suffix(".test.sqlite3"))}
    if database["ENGINE"] == "django.db.backends.postgresql":
        # A pool of open connections per process. Under ASGI each request runs in a
        # thread of its own, and so does much of the work off the request (profile
        # fetches, sends): each opened a new connection, and closed it (measured:
        # 37 new PostgreSQL backends a second at 20 new customers a second, and the
        # alerting row twice as late as with the pool). Closing a connection now
        # gives it back (connect.db_connections, every database_sync_to_async call).
        # The pool keeps no connection across calls, so CONN_MAX_AGE is 0.
        database["CONN_MAX_AGE"] = 0
        database.setdefault("OPTIONS", {}).setdefault("pool", DATABASE_POOL)
    else:
        # Kept open for the one long-lived thread that runs the websocket consumers'
        # and the timers' database work (channels checks it around every call);
        # each request gives its connection back as it ends (connect.db_connections).
        database.setdefault("CONN_MAX_AGE", 60)
    database.setdefault("CONN_HEALTH_CHECKS", True)
    return database


# psycopg_pool's ConnectionPool, per server process: a few connections kept,
# more opened under load and closed after a minute idle. A thread that waits
# `timeout` seconds for one gets an error (the page says the database is busy).
# Two server processes stay well under PostgreSQL's default 100 clients.
DATABASE_POOL = {"min_size": 2, "max_size": 40, "max_idle": 60, "timeout": 1}


DATABASES = {"default": _database_from_env()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # channels_redis's, taking a process's messages in batches (connect.channel_layer).
            "BACKEND": "connect.channel_layer.BatchedRedisChannelLayer",
            "CONFIG": {
                # redis-py's default pool of 100 drops bursts of websocket
                # connects with MaxConnectionsError, and so did 1,000 under a
                # burst of 1,000 connects (each group_add holds one at once);
                # connections are opened only when needed. Its default read timeout
                # (5 s since redis-py 8) cuts the layer's blocking 5 s BZPOPMIN,
                # closing every idle desktop socket with 1011 (channels_redis#422).
                "hosts": [{"address": REDIS_URL, "max_connections": 4000, "socket_timeout": None}],
                # Per server process, not per socket: channels_redis keeps one
                # inbox for all of a process's sockets, and drops what comes over
                # capacity. A workgroup's queue frame is one message per member.
                "capacity": 20000,
                "expiry": 30,
            },
        }
    }
else:
    # channels' in-memory layer, cheaper per message (connect.channel_layer).
    CHANNEL_LAYERS = {"default": {"BACKEND": "connect.channel_layer.LocalChannelLayer"}}

# Validators run where a password is chosen (admin, password change); the demo's
# `seed_demo` sets its passwords directly.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Login throttling (django-axes): after AXES_FAILURE_LIMIT failed logins for one
# username, or from one address, that username or address is locked out for
# AXES_COOLOFF_MINUTES; a supervisor can unlock it sooner (README).
# The standalone backend only refuses locked-out logins; ModelBackend logs in.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_MINUTES = env.int("AXES_COOLOFF_MINUTES", default=15)
AXES_COOLOFF_TIME = timedelta(minutes=AXES_COOLOFF_MINUTES)
# Each item is a parameter set counted on its own; "ip_address+username" would
# count the combination. Behind one office address, "username" alone keeps one
# agent's typos from locking out the whole floor.
AXES_LOCKOUT_PARAMETERS = [
    item.split("+") if "+" in item else item
    for item in env.list("AXES_LOCKOUT_PARAMETERS", default=["username", "ip_address"])
]
# The lockout page (registration/locked_out.html) says how long to wait, in minutes.
AXES_LOCKOUT_CALLABLE = "connect.lockout.locked_out"

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise warns when STATIC_ROOT is missing, even though it serves from the
# finders (collectstatic is optional).
STATIC_ROOT.mkdir(exist_ok=True)
# Served by WhiteNoise straight from the finders, so DEBUG=0 needs no collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
MEDIA_URL = "/media/"

# --- HTTPS, cookies, sessions ---------------------------------------------------
# With DEBUG off every one of these is on; each can be turned off from the
# environment (a test server on plain HTTP sets the three *_SECURE/REDIRECT to 0).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# A load balancer's health check may speak plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 60 * 60)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
# Behind a proxy that ends TLS: the header it sets and the value meaning HTTPS,
# e.g. SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https (or run daphne
# with --proxy-headers).
_proxy_ssl_header = env.list("SECURE_PROXY_SSL_HEADER", default=[])
if _proxy_ssl_header:
    if len(_proxy_ssl_header) != 2:
        raise ImproperlyConfigured(
            "SECURE_PROXY_SSL_HEADER is HEADER,value, e.g. HTTP_X_FORWARDED_PROTO,https"
        )
    SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header)
# A shift, not two weeks.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 60 * 60)
SESSION_COOKIE_HTTPONLY = True
# Scripts never read the cookie: htmx and messenger.js take the token from
# the <body hx-headers> attribute the page renders.
CSRF_COOKIE_HTTPONLY = True

# --- Content-Security-Policy (django-csp) ------------------------------------------
# No inline script, handler or eval anywhere (htmx runs with allowEval off);
# images and media may come from Meta's CDN (https), the websocket is same-origin.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:", "https:"],
        "media-src": [SELF, "https:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # httpx logs every request URL at INFO, and a Graph URL carries the
        # Page token in its query string.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        # axes says its version on every start; its lockout lines (axes.handlers) stay.
        "axes.apps": {"level": "WARNING"},
    },
}
