"""django-oauth-toolkit on loopback for tokenprobe's interop run.

A minimal Django project: the toolkit's token endpoint under /o/, OpenID
Connect on (discovery and a JWKS), SQLite in the run's work directory.
DOT_DB and DOT_RSA_KEY come from scripts/interop.sh.
"""
import os

SECRET_KEY = "tokenprobe-interop-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "interop_urls"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "oauth2_provider",
]
MIDDLEWARE = []
DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["DOT_DB"]}
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
OAUTH2_PROVIDER = {
    "SCOPES": {"api:read": "read the API", "openid": "OpenID Connect"},
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": open(os.environ["DOT_RSA_KEY"]).read(),
    "ACCESS_TOKEN_EXPIRE_SECONDS": 600,
}
