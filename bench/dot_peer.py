"""django-oauth-toolkit as the peer: its own virtualenv, a minimal generated Django project, seeded
tokens, served by gunicorn with one sync worker (its best deployment for this load).

The virtualenv is built from PyPI packages the first time and kept under the bench's work
directory (``<workdir>/dot-venv``), so later runs start at once.  The project is written afresh
for every run: a public client, a view protected by DOT answering the same DeviceInfo body, and
DOT's token endpoint.  On SQLite it uses a SQLite file of its own with posfleet's pragmas (WAL,
synchronous=NORMAL); on PostgreSQL a database of the bench's throwaway server.  Connections are
persistent (``CONN_MAX_AGE = None``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ("django", "django-oauth-toolkit", "gunicorn", "psycopg[binary]")

SETTINGS = """\
import json
from pathlib import Path

SECRET_KEY = "bench-only-" + "x" * 40
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "oauth2_provider"]
MIDDLEWARE = []
ROOT_URLCONF = "dotpeer.urls"
WSGI_APPLICATION = "dotpeer.wsgi.application"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATABASES = {"default": json.loads(Path(__file__).with_name("database.json").read_text())}
OAUTH2_PROVIDER = {"ACCESS_TOKEN_EXPIRE_SECONDS": 3600, "SCOPES": {"read": "Read"}}
BODY_FILE = %(body)r
"""

URLS = """\
import json
from pathlib import Path

from django.conf import settings
from django.http import HttpResponse
from django.urls import path
from oauth2_provider.views import TokenView
from oauth2_provider.views.generic import ProtectedResourceView

BODY = json.loads(Path(settings.BODY_FILE).read_bytes())


class DeviceView(ProtectedResourceView):
    def get(self, request, *args, **kwargs):
        return HttpResponse(json.dumps(BODY), content_type="application/json")


urlpatterns = [
    path("v2/device", DeviceView.as_view()),
    path("o/token/", TokenView.as_view()),
]
"""

WSGI = """\
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dotpeer.settings")
application = get_wsgi_application()
"""

SQLITE_PRAGMAS = """\
from django.db.backends.signals import connection_created


def _pragmas(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")


connection_created.connect(_pragmas)
"""

# Runs in the DOT virtualenv: a user, a public client, one access token for the protected GET
# and ``count`` refresh tokens (each with its access token), printed as JSON.
SEED = """\
import datetime
import json
import os
import secrets
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dotpeer.settings")
django.setup()

from django.contrib.auth.models import User
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, RefreshToken

count, out = int(sys.argv[1]), sys.argv[2]
user = User.objects.create_user("bench")
app = Application.objects.create(
    name="bench",
    user=user,
    client_type=Application.CLIENT_PUBLIC,
    authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
    redirect_uris="http://127.0.0.1/callback",
)
later = timezone.now() + datetime.timedelta(days=1)
get_token = secrets.token_urlsafe(30)
AccessToken.objects.create(user=user, application=app, token=get_token, expires=later, scope="read")
with open(out, "w") as f:
    made = 0
    while made < count:
        n = min(2000, count - made)
        access = AccessToken.objects.bulk_create(
            AccessToken(
                user=user,
                application=app,
                token=secrets.token_urlsafe(30),
                expires=later,
                scope="read",
            )
            for _ in range(n)
        )
        refresh = [
            RefreshToken(
                user=user, application=app, token=secrets.token_urlsafe(30), access_token=a
            )
            for a in access
        ]
        RefreshToken.objects.bulk_create(refresh)
        f.write("".join(r.token + "\\n" for r in refresh))
        made += n
print(json.dumps({"client_id": app.client_id, "access_token": get_token}))
"""


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_venv(workdir: Path) -> Path:
    """The DOT virtualenv, built from PyPI the first time (needs network), reused afterwards."""
    venv = workdir / "dot-venv"
    marker = venv / "bench-packages.txt"
    if marker.exists() and marker.read_text().strip() == " ".join(PACKAGES):
        return venv
    print(f"building the django-oauth-toolkit virtualenv in {venv} (once) …", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run(
        [
            str(_python(venv)),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            *PACKAGES,
        ],
        check=True,
    )
    marker.write_text(" ".join(PACKAGES))
    return venv


def versions(venv: Path) -> str:
    out = subprocess.run(
        [
            str(_python(venv)),
            "-c",
            "import importlib.metadata as m; print(', '.join(f'{p} {m.version(p)}' for p in "
            "('django', 'django-oauth-toolkit', 'gunicorn', 'psycopg')))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


@dataclass
class DotPeer:
    venv: Path
    project: Path
    client_id: str
    access_token: str
    refresh_tokens: Path  # one per line, each to be sent once

    def command(self, port: int) -> list[str]:
        return [
            str(self.venv / "bin" / "gunicorn"),
            "--workers",
            "1",
            "--worker-class",
            "sync",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--chdir",
            str(self.project),
            "dotpeer.wsgi:application",
        ]


def prepare(
    workdir: Path,
    rundir: Path,
    body_file: Path,
    refresh_tokens: int,
    *,
    sqlite_file: Path | None = None,
    postgres: dict[str, object] | None = None,
) -> DotPeer:
    """Write the project, migrate its database and seed it; SQLite file or PostgreSQL database."""
    venv = ensure_venv(workdir)
    project = rundir / "dot-project"
    package = project / "dotpeer"
    package.mkdir(parents=True, exist_ok=True)
    if sqlite_file is not None:
        database: dict[str, object] = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(sqlite_file),
        }
        (package / "__init__.py").write_text(SQLITE_PRAGMAS)
    else:
        assert postgres is not None
        database = {"ENGINE": "django.db.backends.postgresql", **postgres}
        (package / "__init__.py").write_text("")
    database["CONN_MAX_AGE"] = None  # persistent connections: the best deployment
    (package / "database.json").write_text(json.dumps(database))
    (package / "settings.py").write_text(SETTINGS % {"body": str(body_file)})
    (package / "urls.py").write_text(URLS)
    (package / "wsgi.py").write_text(WSGI)
    (project / "seed.py").write_text(SEED)
    env = {"DJANGO_SETTINGS_MODULE": "dotpeer.settings", "PATH": "/usr/bin:/bin"}
    python = str(_python(venv))
    subprocess.run([python, "-m", "django", "migrate", "-v", "0"], cwd=project, env=env, check=True)
    tokens = rundir / "dot-refresh-tokens.txt"
    seeded = subprocess.run(
        [python, "seed.py", str(refresh_tokens), str(tokens)],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    info = json.loads(seeded.stdout.strip().splitlines()[-1])
    return DotPeer(venv, project, info["client_id"], info["access_token"], tokens)
