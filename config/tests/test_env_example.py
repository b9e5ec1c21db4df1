""".env.example works as copied: every variable it names counts, from .env and from the
process environment alike, in the settings, in gunicorn and in the tests' settings.

Each test copies config/ into a folder of its own with .env.example beside it as .env,
and reads the settings in a subprocess whose environment holds nothing of this one's
(the browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in the process they share with these).
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / ".env.example").read_text()
# Each variable .env.example names, with its value: set, or commented out with an example.
NAMED = dict(re.findall(r"^(?:# )?([A-Z][A-Z0-9_]*)=(.*)$", EXAMPLE, re.M))
SECRET_KEY = "k" * 50


def _dotenv(changes: dict[str, str | None]) -> str:
    """.env.example as an administrator edits it: SECRET_KEY filled, the changes made
    (None comments a variable out)."""
    text = EXAMPLE
    for name, value in {"SECRET_KEY": SECRET_KEY, **changes}.items():
        line = f"# {name}=" if value is None else f"{name}={value}"
        text, found = re.subn(rf"^(?:# )?{name}=.*$", line, text, flags=re.M)
        assert found == 1, name
    return text


def _project(tmp_path: Path, **changes: str | None) -> Path:
    project = tmp_path / "portal"
    shutil.copytree(
        ROOT / "config", project / "config", ignore=shutil.ignore_patterns("tests", "__pycache__")
    )
    (project / ".env").write_text(_dotenv(changes))
    return project


def _run(project: Path, argv: list[str], *, cwd: Path | None = None) -> str:
    # The copy first, so that `config` is the copy reading the copied .env; the apps
    # from the tree, for the steps that load Django whole.
    environment = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": os.pathsep.join([str(project), str(ROOT)]),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    result = subprocess.run(
        [sys.executable, *argv],
        cwd=cwd or project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _settings(project: Path, expression: str, *, cwd: Path | None = None):
    code = (
        "import json; from django.conf import settings as s; from config import celery_app; "
        f"print(json.dumps({expression}, default=str))"
    )
    return json.loads(_run(project, ["-c", code], cwd=cwd))


def test_env_example_as_copied_puts_the_cache_and_the_broker_on_the_redis_it_names(tmp_path):
    project = _project(tmp_path, REDIS_URL="redis://redis.portal.internal:6379/0")

    cache, broker, worker_broker = map(
        urlsplit,
        _settings(
            project,
            "[s.CACHES['default']['LOCATION'], s.CELERY_BROKER_URL, celery_app.conf.broker_url]",
        ),
    )

    assert cache.netloc == broker.netloc == worker_broker.netloc == "redis.portal.internal:6379"
    # A database of its own on that server: clearing the cache never empties the queues.
    assert (broker.path, cache.path) == ("/0", "/1")


def test_gunicorn_listens_and_forks_as_env_says(tmp_path):
    project = _project(tmp_path, GUNICORN_BIND="0.0.0.0:8123", GUNICORN_WORKERS="5")

    printed = _run(
        project, ["-m", "gunicorn", "--print-config", "-c", "config/gunicorn.py", "config.wsgi"]
    )

    config = dict(re.findall(r"^(\w+)\s+= (.*)$", printed, re.M))
    assert (config["bind"], config["workers"]) == ("['0.0.0.0:8123']", "5")


def test_relative_paths_in_env_are_in_the_project_folder_wherever_a_process_starts(tmp_path):
    # DATABASE_URL left empty means the SQLite file, as it does when unset.
    project = _project(tmp_path, DATABASE_URL="")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    sqlite, static_root = _settings(
        project, "[s.DATABASES['default']['NAME'], s.STATIC_ROOT]", cwd=elsewhere
    )

    assert (sqlite, static_root) == (
        str(project / "db.sqlite3"),
        str(project / "staticfiles"),
    )


# Runs in one subprocess: reads the settings, the tests' settings and gunicorn's config
# afresh for each .env and environment it is given, and says which variables made no
# difference to any of them.
HONOURED = r"""
import importlib, json, os, runpy, sys
from pathlib import Path

from django.utils.functional import Promise

project, cases = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())
clean = dict(os.environ)


def plain(value):
    if isinstance(value, Promise):
        return "lazy"
    if isinstance(value, dict):
        return {repr(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(v) for v in value]
    return repr(value)


def environment(variables):
    os.environ.clear()
    os.environ.update({**clean, **variables})


def load(module):
    for name in [name for name in sys.modules if name.startswith("config.settings")]:
        del sys.modules[name]
    values = vars(importlib.import_module(module))
    return {k: plain(v) for k, v in values.items() if k.isupper()}


def load_gunicorn():
    values = runpy.run_path(str(project / "config" / "gunicorn.py"))
    return {k: plain(v) for k, v in values.items() if isinstance(v, str | int)}


def snapshot(dotenv, variables):
    (project / ".env").write_text(dotenv)
    seen = {}
    for name, read in (
        ("settings", lambda: load("config.settings")),
        ("settings_test", lambda: load("config.settings_test")),
        ("gunicorn", load_gunicorn),
    ):
        environment(variables)
        try:
            seen[name] = read()
        except Exception as error:  # a value refused is a value read
            seen[name] = repr(error)
    return seen


ignored = {"dotenv": [], "environment": []}
for name, sentinel, baseline_dotenv, changed_dotenv in cases:
    baseline = snapshot(baseline_dotenv, {})
    if snapshot(changed_dotenv, {}) == baseline:
        ignored["dotenv"].append(name)
    if snapshot(baseline_dotenv, {name: sentinel}) == baseline:
        ignored["environment"].append(name)
print(json.dumps(ignored))
"""

# What a variable needs around it to matter (.env.example says so beside it).
CONDITIONS: dict[str, dict[str, str | None]] = {"SQLITE_TIMEOUT": {"DATABASE_URL": None}}


def _sentinel(value: str) -> str:
    """A value of the same kind as the example's that differs from it and the default."""
    if value in ("true", "false"):
        return "false" if value == "true" else "true"
    if value.isdigit():
        return str(int(value) + 7)
    if "127.0.0.1" in value:
        return value.replace("127.0.0.1", "sentinel.invalid")
    return f"sentinel-{value}"


def test_every_variable_env_example_names_is_honoured_from_env_and_from_the_environment(
    tmp_path,
):
    project = _project(tmp_path)
    cases = []
    for name, value in NAMED.items():
        condition = CONDITIONS.get(name, {})
        sentinel = _sentinel(SECRET_KEY if name == "SECRET_KEY" else value)
        cases.append([name, sentinel, _dotenv(condition), _dotenv({**condition, name: sentinel})])

    (tmp_path / "cases.json").write_text(json.dumps(cases))

    argv = [str(project), str(tmp_path / "cases.json")]
    ignored = json.loads(_run(project, ["-c", HONOURED, *argv]))

    assert ignored == {"dotenv": [], "environment": []}
    assert {"REDIS_CACHE_URL", "GUNICORN_BIND", "BACKUP_AGE_RECIPIENT"} <= NAMED.keys()


# Never from .env, and .env.example says why: DJANGO_SETTINGS_MODULE names the settings
# that read it; PROMETHEUS_MULTIPROC_DIR is for gunicorn's processes alone. PYTHONPATH is
# what the bench gives the programs it starts.
PROCESS_ONLY = {"DJANGO_SETTINGS_MODULE", "PROMETHEUS_MULTIPROC_DIR", "PYTHONPATH"}
READ = re.compile(
    r"(?:\benv\.\w+\(\s*|os\.environ(?:\.get|\.setdefault|\.pop)?\(\s*|os\.environ\[\s*"
    r"|os\.getenv\(\s*)\"([A-Z][A-Z0-9_]*)\""
)


def test_every_variable_the_code_reads_is_named_in_env_example():
    read = set()
    for path in ROOT.rglob("*.py"):
        parts = set(path.relative_to(ROOT).parts)
        # Tests set variables for the programs they start; e2e's is Django's own switch.
        if parts & {".venv", "tests", "e2e"} or path.name == "conftest.py":
            continue
        read |= set(READ.findall(path.read_text()))

    assert read - PROCESS_ONLY - NAMED.keys() == set()
    assert [name for name in PROCESS_ONLY - {"PYTHONPATH"} if name not in EXAMPLE] == []
    assert {"GUNICORN_BIND", "TEST_REDIS_URL", "BACKUP_GPG_RECIPIENT"} <= read
