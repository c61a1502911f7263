"""FacePortal settings: everything comes from the environment, with defaults that work on
a fresh machine. Every variable is documented in the README's configuration table."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = env_str(name)
    return default if not raw else raw.lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("FACEPORTAL_DEBUG", False)
# A development key only; production must set FACEPORTAL_SECRET_KEY.
SECRET_KEY = env_str("FACEPORTAL_SECRET_KEY") or "dev-only-insecure-key-set-FACEPORTAL_SECRET_KEY"
ALLOWED_HOSTS = env_list("FACEPORTAL_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")

DATA_DIR = Path(env_str("FACEPORTAL_DATA_DIR") or BASE_DIR / "data")
# The face engine reads FACEPORTAL_MODELS_DIR itself (it does not need Django); this
# mirrors it so that templates and checks can show where the models are.
MODELS_DIR = Path(env_str("FACEPORTAL_MODELS_DIR") or DATA_DIR / "models")

INSTALLED_APPS = [
    "portal.apps.PortalAdminConfig",  # django.contrib.admin, its sign-in throttled
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular_sidecar",
    "accounts",
    "resources",
    "facesets",
    "identity",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files from the app servers themselves (collected by scripts/start).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # First after security: request ids, body caps and call history for the API paths.
    "identity.api.middleware.ApiMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "faceportal.urls"
WSGI_APPLICATION = "faceportal.wsgi.application"

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
            ]
        },
    }
]

# PostgreSQL (or any database dj-database-url knows) when DATABASE_URL is set.
if env_str("DATABASE_URL"):
    import dj_database_url

    # Kept connections are checked before each request reuses them: after a database restart
    # the first call would otherwise fail on a dead connection. A database that does not
    # answer fails the call within FACEPORTAL_DB_CONNECT_TIMEOUT instead of hanging it.
    DATABASES = {
        "default": dj_database_url.parse(env_str("DATABASE_URL"), conn_max_age=60, conn_health_checks=True)
    }
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = int(
            env_str("FACEPORTAL_DB_CONNECT_TIMEOUT", "5")
        )
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)  # SQLite creates the file, not its folder
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "faceportal.sqlite3"),
            # Concurrent API calls write quota and history: wait for the lock, don't fail.
            # Write-ahead logging lets readers run beside the one writer, and with
            # synchronous=NORMAL a commit no longer waits for the disk (a power cut can lose
            # the last commits, never corrupt the file): every call commits twice.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # A worker keeps its connection: opening and closing one per request (each close of
            # a WAL database checkpoints it) cost about a millisecond and a half per call.
            "CONN_MAX_AGE": 600,
        }
    }

# Rate and concurrency counters must be shared by every worker: Redis when REDIS_URL is
# set. The default local-memory cache is per process, right only for a single worker.
if env_str("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env_str("REDIS_URL"),
            # A Redis that does not answer fails the call in seconds rather than hanging it.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Stored images: local files by default, any S3-compatible store when a bucket is named.
MEDIA_ROOT = Path(env_str("FACEPORTAL_MEDIA_ROOT") or DATA_DIR / "media")
MEDIA_URL = "media/"
if env_str("FACEPORTAL_S3_BUCKET"):
    from botocore.config import Config as _S3Config

    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("FACEPORTAL_S3_BUCKET"),
            "endpoint_url": env_str("FACEPORTAL_S3_ENDPOINT_URL") or None,
            "region_name": env_str("FACEPORTAL_S3_REGION") or None,
            "access_key": env_str("FACEPORTAL_S3_ACCESS_KEY") or None,
            "secret_key": env_str("FACEPORTAL_S3_SECRET_KEY") or None,
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
            # boto3's defaults (60 s to connect, 60 s per read, retried) would hang a call on
            # a store that stopped answering past any client's patience and the worker timeout,
            # and let it commit (charging the quota) after its client had given up.
            "client_config": _S3Config(
                connect_timeout=float(env_str("FACEPORTAL_S3_CONNECT_TIMEOUT", "2")),
                read_timeout=float(env_str("FACEPORTAL_S3_READ_TIMEOUT", "10")),
                retries={"total_max_attempts": 2, "mode": "standard"},
            ),
        },
    }
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("FACEPORTAL_TIME_ZONE", "UTC")
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True  # serve from the apps too when collectstatic has not run

REST_FRAMEWORK = {
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}

# -- API limits (see ../shared/API.md) -----------------------------------------------
FACEID_MAX_BODY = 2 * 1024 * 1024  # over this FaceID answers 413, as the vendor does
LINKFACE_MAX_BODY = 11 * 1024 * 1024  # two 5 MB images and the form around them
# Uploads above this go to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024
# The API middleware refuses a body over its family's cap by its Content-Length, or reads a
# chunked one up to the cap and no further: no request can stream an unbounded upload to disk.
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 100
DATA_UPLOAD_MAX_NUMBER_FILES = 10
FACEPORTAL_URL_TIMEOUT = float(env_str("FACEPORTAL_URL_TIMEOUT", "5"))
# Hosts (names, addresses or networks) that image URLs may point to even though they are
# private, e.g. an internal image server. Everything non-public is refused otherwise.
FACEPORTAL_URL_ALLOWED_HOSTS = env_list("FACEPORTAL_URL_ALLOWED_HOSTS")
FACEPORTAL_IMAGE_RETENTION_DAYS = int(env_str("FACEPORTAL_IMAGE_RETENTION_DAYS", "30"))
# The images of a call that the API does not store (detect's and mask's inputs, the uploads of
# a failed call, mask's answer) are kept as long, for the owner's call history only; false keeps
# none of them (the history then shows their ids and sizes alone).
FACEPORTAL_KEEP_CALL_IMAGES = env_bool("FACEPORTAL_KEEP_CALL_IMAGES", True)

# -- Face sets (API.md, "Face sets and 1:N search"; docs/facesets.md) ----------------------
# Sets per account, and faces per set (the vendor caps a set at 100,000; measured at 1M).
FACEPORTAL_FACESET_MAX_SETS = int(env_str("FACEPORTAL_FACESET_MAX_SETS", "1000"))
FACEPORTAL_FACESET_MAX_FACES = int(env_str("FACEPORTAL_FACESET_MAX_FACES", "1000000"))
# Faces one worker keeps in memory for exact search (about 540 bytes each): sets searched
# least recently are dropped beyond it and read again when next searched.
FACEPORTAL_FACESET_CACHE_FACES = int(env_str("FACEPORTAL_FACESET_CACHE_FACES", "2000000"))
# On PostgreSQL with pgvector (facesets/pgvector.py, docs/facesets-scale.md), with PGVECTOR on:
# sets of at least HNSW_MIN_FACES faces are searched by the HNSW index with this
# hnsw.ef_search (at most 1000), smaller ones exactly. Off by default: up to the 1M-face cap
# the exact path was faster here and finds every face, where the index missed some (measured).
FACEPORTAL_FACESET_PGVECTOR = env_bool("FACEPORTAL_FACESET_PGVECTOR", False)
FACEPORTAL_FACESET_HNSW_MIN_FACES = int(env_str("FACEPORTAL_FACESET_HNSW_MIN_FACES", "100000"))
FACEPORTAL_FACESET_HNSW_EF_SEARCH = int(env_str("FACEPORTAL_FACESET_HNSW_EF_SEARCH", "400"))

# -- Portal ------------------------------------------------------------------------
# Portal passwords (sign-up, password change; not the operator's createsuperuser, which asks
# itself): Django's four checks, at least 10 characters.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:dashboard"
LOGOUT_REDIRECT_URL = "portal:login"
# Whether anyone may create a portal user from the sign-in page (off: the operator creates
# users in the admin).
FACEPORTAL_SIGNUP = env_bool("FACEPORTAL_SIGNUP", False)
# What a key made in the portal gets: the operator raises limits in the admin.
FACEPORTAL_PORTAL_KEY_QUOTA = int(env_str("FACEPORTAL_PORTAL_KEY_QUOTA", "1000"))
FACEPORTAL_PORTAL_MAX_KEYS = int(env_str("FACEPORTAL_PORTAL_MAX_KEYS", "5"))

# Sign-in throttling (portal/signin.py): failed sign-ins (or old passwords) allowed per account
# and per client address within the lockout time; one more locks that account or address out for
# that long, and a refused attempt costs no password hash. Shared through the cache (Redis when
# REDIS_URL is set, so every worker and server counts together).
FACEPORTAL_SIGNIN_FAILURES_PER_USER = int(env_str("FACEPORTAL_SIGNIN_FAILURES_PER_USER", "5"))
FACEPORTAL_SIGNIN_FAILURES_PER_ADDRESS = int(env_str("FACEPORTAL_SIGNIN_FAILURES_PER_ADDRESS", "20"))
FACEPORTAL_SIGNIN_LOCKOUT_MINUTES = int(env_str("FACEPORTAL_SIGNIN_LOCKOUT_MINUTES", "15"))
# Proxies (addresses or networks) whose X-Forwarded-For is believed (faceportal/clientip.py):
# loopback by default, where the documented nginx runs; anyone else could write the header.
FACEPORTAL_TRUSTED_PROXIES = env_list("FACEPORTAL_TRUSTED_PROXIES", "127.0.0.1,::1")

# Secrets are shown once through messages: keep them server-side, not in a cookie, and sealed
# (encrypted, for ten minutes: portal/sealed.py), not in clear in the session table.
MESSAGE_STORAGE = "portal.sealed.SealedSessionStorage"

# FACEPORTAL_LOG_FORMAT=json: one JSON object per line, each API call with its request id.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "faceportal.logs.JsonFormatter"},
    },
    # Secret-looking values (api_secret=..., password=...) are masked in every line written.
    "filters": {"redact": {"()": "faceportal.redact.RedactFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env_str("FACEPORTAL_LOG_FORMAT", "plain"),
            "filters": ["redact"],
        }
    },
    "loggers": {"faceportal": {"handlers": ["console"], "level": env_str("FACEPORTAL_LOG_LEVEL", "INFO")}},
}

# -- Liveness ----------------------------------------------------------------------
# Master key from which every challenge's sealing key is derived; by default derived from
# FACEPORTAL_SECRET_KEY (changing either invalidates open challenges and stored packages).
FACEPORTAL_LIVENESS_KEY = env_str("FACEPORTAL_LIVENESS_KEY")
FACEPORTAL_LIVENESS_CHALLENGE_SECONDS = int(env_str("FACEPORTAL_LIVENESS_CHALLENGE_SECONDS", "300"))
# How far a capture device's clock may be off the server's (resources/livenesschecks.py).
FACEPORTAL_LIVENESS_CLOCK_SKEW_SECONDS = int(env_str("FACEPORTAL_LIVENESS_CLOCK_SKEW_SECONDS", "30"))

# -- Production (FACEPORTAL_PRODUCTION=true behind HTTPS) ------------------------------
if env_bool("FACEPORTAL_PRODUCTION"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("FACEPORTAL_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(env_str("FACEPORTAL_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = env_list("FACEPORTAL_CSRF_TRUSTED_ORIGINS")
