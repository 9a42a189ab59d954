"""The original Kallisti 1.3.7, installed and served for side-by-side comparison.

Kallisti 1.3.7 is a Django app (`kallisticore`) that its wrapper project
(jpmorganchase/kallisti) runs as gunicorn for the API and one huey consumer
for the trials, both on one SQLite file. This module rebuilds that layout:

    python = install_reference_kallisti()          # cached venv, once
    site = write_reference_settings(directory, directory / "db.sqlite3")
    migrate_reference(python, site)
    with serve_reference(python, site) as url:      # gunicorn -w 2 + run_huey
        ...

The venv lives in `.bench/kallisti-1.3.7/` (gitignored) and is reused while
its marker says it was built from the same constraints. The constraints are
the exact dependency set pip resolved for kallisti-core 1.3.7; without them
pip backtracks through old chaostoolkit drivers for minutes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CONSTRAINTS",
    "REFERENCE_VERSION",
    "ReferenceSite",
    "ServedReference",
    "install_reference_kallisti",
    "migrate_reference",
    "reference_environment",
    "serve_reference",
    "write_reference_settings",
]

REFERENCE_VERSION = "1.3.7"
CONSTRAINTS = Path(__file__).with_name(f"kallisti-{REFERENCE_VERSION}-constraints.txt")
_DEFAULT_CACHE = Path(__file__).resolve().parent.parent / ".bench"
_SETTINGS_MODULE = "kallisti_reference_settings"
_URLS_MODULE = "kallisti_reference_urls"
_WSGI_MODULE = "kallisti_reference_wsgi"


def _constraints_digest() -> str:
    return hashlib.sha256(CONSTRAINTS.read_bytes()).hexdigest()[:16]


def install_reference_kallisti(cache_dir: Path | None = None) -> Path:
    """Install kallisti-core 1.3.7, gunicorn and psycopg into a cached venv; return
    its python.

    Parameters:
        cache_dir: folder holding the venv (default: `.bench/` at the repository
            root, which git ignores). The venv is rebuilt when the constraints
            file changed or a previous install did not finish.

    Returns:
        The path of the venv's `python`.

    Raises:
        subprocess.CalledProcessError: pip failed; its output is in
            `<venv>/install.log`.
    """
    venv = (cache_dir or _DEFAULT_CACHE) / f"kallisti-{REFERENCE_VERSION}"
    python = venv / "bin" / "python"
    marker = venv / "installed"
    digest = _constraints_digest()
    if marker.exists() and marker.read_text().strip() == digest and python.exists():
        return python
    if venv.exists():
        shutil.rmtree(venv)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    log = venv / "install.log"
    with log.open("w") as output:
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                f"kallisti-core=={REFERENCE_VERSION}",
                "gunicorn",
                # Django's PostgreSQL driver, for a Kallisti database on PostgreSQL.
                "psycopg[binary]",
                "-c",
                str(CONSTRAINTS),
            ],
            check=True,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    marker.write_text(digest + "\n")
    return python


@dataclass(frozen=True)
class ReferenceSite:
    """A folder holding the Django settings, URLs and WSGI modules of one instance.

    `directory` goes on PYTHONPATH; `database` is the SQLite file the API and
    the huey queue share, as in Kallisti's own settings.
    """

    directory: Path
    database: Path


_SETTINGS = '''\
"""Django settings for the reference Kallisti {version} (written by the bench)."""

from huey import SqliteHuey

SECRET_KEY = "bench-only-not-secret"
DEBUG = {debug}
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = [
    "rest_framework",
    "kallisticore.apps.KallistiCoreConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
    "huey.contrib.djhuey",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "{urls}"
TEMPLATES = [
    {{
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {{"context_processors": []}},
    }}
]
DATABASES = {{"default": {django_database!r}}}
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
HUEY = SqliteHuey("kallisti_queues", filename={database!r})

# As in Kallisti's own settings: its authentication and permission classes are
# imported here, which needs the apps loaded first.
import django  # noqa: E402

django.setup()

from kallisticore.authentication import DefaultAuthentication  # noqa: E402
from kallisticore.permissions import DefaultUserPermission  # noqa: E402

KALLISTI_API_AUTH_CLASS = DefaultAuthentication
KALLISTI_API_PERMISSION_CLASS = DefaultUserPermission
KALLISTI_MODULE_MAP = {{
    "cf": "kallisticore.modules.cloud_foundry",
    "cm": "kallisticore.modules.common",
    "k8s": "kallisticore.modules.kubernetes",
    "istio": "kallisticore.modules.kubernetes",
    "prom": "kallisticore.modules.prometheus",
    "aws": "kallisticore.modules.aws",
}}
KALLISTI_CREDENTIAL_CLASS_MAP = {{
    "ENV_VAR_USERNAME_PASSWORD": (
        "kallisticore.lib.credential.EnvironmentUserNamePasswordCredential"
    ),
    "TOKEN_FILE": "kallisticore.lib.credential.TokenFileCredential",
    "K8S_SVC_ACC_TOKEN_FILE": (
        "kallisticore.lib.credential.KubernetesServiceAccountTokenCredential"
    ),
}}
TRIAL_OBSERVERS = []
TRIAL_TASK_CREATION_HOOKS = []
KALLISTI_INFO_API_PLATFORM = {{}}
KALLISTI_REPORT_HEADER_TITLE = "Kallisti Report"
'''

_URLS = '''\
"""Kallisti's API under /api/v1/, as its wrapper project mounts it."""

from django.http import JsonResponse
from django.urls import include, path, re_path
from kallisticore.urls import urlpatterns as kallisti_urls


def health(request):
    return JsonResponse({"status": "UP"})


urlpatterns = [
    path(
        "api/v1/",
        include([re_path(r"^", include(kallisti_urls)), re_path(r"^health", health)]),
    )
]
'''

_WSGI = """\
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{settings}")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
"""


def write_reference_settings(
    directory: Path,
    database: Path,
    *,
    debug: bool = False,
    django_database: Mapping[str, str] | None = None,
) -> ReferenceSite:
    """Write the settings, URL and WSGI modules of a reference instance.

    Parameters:
        directory: an existing folder; the three modules are written into it.
        database: the SQLite file for Django's models and the huey queue.
        debug: Django's DEBUG (Kallisti's wrapper defaults it to on; the bench
            runs it off, which only makes the reference faster).
        django_database: Django's `DATABASES["default"]` for the models when
            they live elsewhere (PostgreSQL, MySQL); the huey queue stays in
            `database`.

    Returns:
        The site, to pass to `reference_environment`, `migrate_reference` and
        `serve_reference`.
    """
    directory = directory.resolve()
    database = database.resolve()
    models = dict(django_database or {})
    models = models or {"ENGINE": "django.db.backends.sqlite3", "NAME": str(database)}
    (directory / f"{_SETTINGS_MODULE}.py").write_text(
        _SETTINGS.format(
            version=REFERENCE_VERSION,
            debug=debug,
            urls=_URLS_MODULE,
            database=str(database),
            django_database=models,
        )
    )
    (directory / f"{_URLS_MODULE}.py").write_text(_URLS)
    (directory / f"{_WSGI_MODULE}.py").write_text(
        _WSGI.format(settings=_SETTINGS_MODULE)
    )
    return ReferenceSite(directory=directory, database=database)


def reference_environment(site: ReferenceSite) -> dict[str, str]:
    """The environment under which the reference venv's python sees the site."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("KALLISTI_", "PYTHON", "VIRTUAL_ENV"))
    }
    environment["PYTHONPATH"] = str(site.directory)
    environment["DJANGO_SETTINGS_MODULE"] = _SETTINGS_MODULE
    return environment


def migrate_reference(python: Path, site: ReferenceSite) -> None:
    """Create the reference schema in the site's SQLite file (Django `migrate`).

    Raises:
        subprocess.CalledProcessError: the migration failed (output captured).
    """
    subprocess.run(
        [str(python), "-m", "django", "migrate", "--no-input", "-v", "0"],
        env=reference_environment(site),
        cwd=site.directory,
        check=True,
        capture_output=True,
    )


@dataclass(frozen=True)
class ServedReference:
    """A running reference instance: base URL and the PIDs of its processes."""

    url: str
    pids: tuple[int, ...]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(url: str, processes: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/v1/health", timeout=1):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if any(p.poll() is not None for p in processes):
                raise RuntimeError("reference Kallisti exited at start") from None
            if time.monotonic() > deadline:
                raise RuntimeError("reference Kallisti did not start") from None
            time.sleep(0.1)


@contextmanager
def serve_reference(
    python: Path,
    site: ReferenceSite,
    *,
    web_processes: int = 2,
    port: int | None = None,
    log_dir: Path | None = None,
) -> Iterator[ServedReference]:
    """Serve the reference as its wrapper project does: gunicorn + one huey consumer.

    The schema must exist (`migrate_reference`). Both processes stop (SIGTERM,
    then SIGKILL after 30 s) when the context exits.

    Parameters:
        python: the venv's python from `install_reference_kallisti`.
        site: from `write_reference_settings`.
        web_processes: gunicorn workers (sync), 2 for the bench.
        port: TCP port on 127.0.0.1 (default: a free one).
        log_dir: where the processes' output goes (default: the site folder).

    Returns:
        The base URL (`http://127.0.0.1:PORT`) and the PIDs.
    """
    port = port or _free_port()
    logs = log_dir or site.directory
    environment = reference_environment(site)
    bin_dir = python.parent
    commands = {
        "gunicorn": [
            str(bin_dir / "gunicorn"),
            f"{_WSGI_MODULE}:application",
            "-w",
            str(web_processes),
            "-b",
            f"127.0.0.1:{port}",
        ],
        "huey": [str(python), "-m", "django", "run_huey"],
    }
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for name, command in commands.items():
            with (logs / f"{name}.log").open("wb") as output:
                processes.append(
                    subprocess.Popen(
                        command,
                        env=environment,
                        cwd=site.directory,
                        stdout=output,
                        stderr=subprocess.STDOUT,
                    )
                )
        url = f"http://127.0.0.1:{port}"
        _wait_until_up(url, processes)
        yield ServedReference(url=url, pids=tuple(p.pid for p in processes))
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def main() -> None:
    """Install the reference and serve it until interrupted (for manual use)."""
    import tempfile

    python = install_reference_kallisti()
    with tempfile.TemporaryDirectory(prefix="kallisti-reference-") as folder:
        site = write_reference_settings(Path(folder), Path(folder) / "db.sqlite3")
        migrate_reference(python, site)
        with serve_reference(python, site) as served:
            print(f"Kallisti {REFERENCE_VERSION} at {served.url}", flush=True)  # noqa: T201
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass


if __name__ == "__main__":
    main()
