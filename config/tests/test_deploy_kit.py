"""The deployment kit in deploy/: the systemd units, the nginx site and the compose file.

Each is checked by the tool that will read it on a server: systemd-analyze verify, nginx
(which also serves requests through the site here, to a stand-in for gunicorn) and
docker-compose config; the web unit's command is run as the unit runs it. A missing
tool fails the test with how to install it, as .ci/run does:
`apt-get install systemd nginx docker-compose openssl`.
"""

import http.client
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.management import get_commands

from core.models import FileImport

from .faults import shared_database_url, wait_until

pytestmark = pytest.mark.deploy

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
# Where the units and the site expect the project (deploy/README.md).
PROJECT = "/srv/namdinh-portal"
ACCOUNT = "namdinh"
HOST = "portal.example.vn"
MONITORING_HOST = "192.0.2.10"

SERVICES = {
    "namdinh-portal-web.service": "gunicorn",
    "namdinh-portal-worker.service": "celery",
    "namdinh-portal-beat.service": "celery",
    "namdinh-portal-backup.service": "python",
}
LONG_RUNNING = [name for name in SERVICES if "backup" not in name]


def _tool(name: str, package: str) -> str:
    """The tool's path; without it the test fails, saying how to install it."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if not found:
        pytest.fail(f"{name} is not installed: apt-get install {package}", pytrace=False)
    return found


# --- systemd --------------------------------------------------------------------------------


def _unit(name: str) -> dict[str, dict[str, list[str]]]:
    """A unit file's sections, each key with all its values in order (ExecStart repeats)."""
    sections: dict[str, dict[str, list[str]]] = {}
    section = None
    for line in (DEPLOY / "systemd" / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        section.setdefault(key.strip(), []).append(value.strip())
    return sections


def _in_repository(path: str) -> Path:
    assert path.startswith(f"{PROJECT}/"), path
    return ROOT / path.removeprefix(f"{PROJECT}/")


@pytest.mark.parametrize("name", SERVICES)
def test_each_unit_runs_a_program_of_the_venv_as_the_portals_unprivileged_account(name):
    service = _unit(name)["Service"]

    assert service["User"] == [ACCOUNT] and service["Group"] == [ACCOUNT]
    assert service["WorkingDirectory"] == [PROJECT]
    assert service["EnvironmentFile"] == [f"{PROJECT}/.env"]
    assert service["StandardOutput"] == service["StandardError"] == ["journal"]
    assert service["NoNewPrivileges"] == service["PrivateTmp"] == ["true"]
    assert service["ProtectSystem"] == ["strict"]
    for command in service["ExecStart"]:
        program, *args = shlex.split(command)
        local = _in_repository(program)
        assert local.parent == ROOT / ".venv" / "bin", program
        assert local.is_file() and os.access(local, os.X_OK), f"{program}: not in the venv"
        assert local.name == SERVICES[name]
        if local.name == "gunicorn":
            assert args == ["-c", "config/gunicorn.py", "config.wsgi"]
            assert (ROOT / "config" / "gunicorn.py").is_file()
        elif local.name == "celery":
            assert args[:2] == ["-A", "config"]
        else:
            assert args[0] == "manage.py" and args[1] in get_commands(), args


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_the_web_worker_and_beat_restart_when_they_fail(name):
    service = _unit(name)["Service"]

    assert service["Restart"] == ["on-failure"]
    assert int(service["RestartSec"][0]) > 0
    assert _unit(name)["Install"]["WantedBy"] == ["multi-user.target"]


def test_beat_keeps_its_schedule_in_a_state_directory_of_its_own():
    service = _unit("namdinh-portal-beat.service")["Service"]
    (state,) = service["StateDirectory"]
    (command,) = service["ExecStart"]

    # The project folder is read-only to the units (ProtectSystem=strict).
    assert f"--schedule=/var/lib/{state}/celerybeat-schedule" in shlex.split(command)


def test_the_timer_backs_up_nightly_and_old_dumps_are_pruned_only_after_a_good_dump():
    timer = _unit("namdinh-portal-backup.timer")
    service = _unit("namdinh-portal-backup.service")["Service"]
    calendar = subprocess.run(
        [_tool("systemd-analyze", "systemd"), "calendar", *timer["Timer"]["OnCalendar"]],
        capture_output=True,
        text=True,
    )

    assert calendar.returncode == 0, calendar.stderr
    assert "Normalized form: *-*-* 01:30:00" in calendar.stdout
    assert timer["Timer"]["Persistent"] == ["true"]
    assert timer["Install"]["WantedBy"] == ["timers.target"]
    # A oneshot runs its commands in order and stops at the first that fails.
    assert service["Type"] == ["oneshot"]
    commands = [shlex.split(command)[1:] for command in service["ExecStart"]]
    assert commands == [
        ["manage.py", "backup_database"],
        ["manage.py", "backups_prune", "--daily", "14", "--weekly", "8"],
    ]
    # Where backup_database writes by default: the one path the unit may write to.
    assert service["ReadWritePaths"] == [f"{PROJECT}/backups"]
    assert service["UMask"] == ["0077"]


def test_systemd_finds_nothing_wrong_in_the_units(tmp_path):
    # Pointed at this checkout, so that systemd finds the programs it would run.
    for unit in (DEPLOY / "systemd").iterdir():
        (tmp_path / unit.name).write_text(unit.read_text().replace(PROJECT, str(ROOT)))
    result = subprocess.run(
        [_tool("systemd-analyze", "systemd"), "verify", "--man=no", *sorted(tmp_path.iterdir())],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )

    # Unknown keys are only warned about: any word from it is a mistake in a unit.
    assert result.returncode == 0 and result.stderr == "", result.stderr


GETS_COUNTED = 'django_http_requests_total_by_method_total{method="GET"}'


def _gets_counted(body: str) -> float:
    return float(re.search(rf"^{re.escape(GETS_COUNTED)} (\S+)$", body, re.M).group(1))


def _get(port: int, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": "127.0.0.1"})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


@pytest.mark.django_db
def test_the_web_units_gunicorn_sums_its_workers_request_counts_across_a_worker_killed(tmp_path):
    """Prometheus reads a counter that only grows. Without the unit's shared folder each
    scrape would read the one worker that answered it, and a restarted worker from 0."""
    service = _unit("namdinh-portal-web.service")["Service"]
    (command,) = service["ExecStart"]
    program, *args = shlex.split(command)
    assert service["Environment"] == [
        f"PROMETHEUS_MULTIPROC_DIR=/run/{service['RuntimeDirectory'][0]}"
    ]
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PROMETHEUS"))},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "SECRET_KEY": "deploy-kit-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "SECURE_HTTPS": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": shared_database_url(),
        "REDIS_URL": "",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "3",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
    }
    gunicorn = subprocess.Popen(
        [str(_in_repository(program)), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert wait_until(lambda: _reachable(port), within=30), "gunicorn did not start"
        for _ in range(30):
            assert _get(port, "/healthz")[0] == 200
        counts = []
        for _ in range(6):
            status, body = _get(port, "/metrics")
            assert status == 200
            counts.append(_gets_counted(body))
        worker = next(p for p in tmp_path.glob("counter_*.db")).stem.removeprefix("counter_")
        os.kill(int(worker), signal.SIGKILL)
        assert wait_until(lambda: len(list(tmp_path.glob("counter_*.db"))) == 4, within=30)
        after = [_gets_counted(_get(port, "/metrics")[1]) for _ in range(3)]
    finally:
        os.killpg(gunicorn.pid, signal.SIGTERM)
        gunicorn.wait(timeout=30)

    # Each scrape is one more GET, whichever of the three workers answers it.
    assert counts == [float(n) for n in range(31, 37)]
    # The killed worker's requests still count; its replacement adds to them.
    assert after == [37.0, 38.0, 39.0]


def _reachable(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        return False
    return True


# --- nginx ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Gunicorn(BaseHTTPRequestHandler):
    """Stands in for gunicorn: records what nginx passed on and answers 200."""

    def _answer(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append({"path": self.path, "headers": self.headers, "size": len(body)})
        answer = b"from the portal"
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


def _rewritten(text: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        assert old in text, f"the site no longer has {old!r}: say here what it has instead"
        text = text.replace(old, new)
    return text


class Site:
    """The site, under a private nginx on free ports with a self-signed certificate."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.http, self.https = _free_port(), _free_port()
        self.cert, self.key = tmp / "cert.pem", tmp / "key.pem"
        self.static = tmp / "staticfiles"
        self.logs = tmp / "logs"
        self.upstream = ThreadingHTTPServer(("127.0.0.1", 0), _Gunicorn)
        self.upstream.seen = []
        site = _rewritten(
            (DEPLOY / "nginx" / "namdinh-portal.conf").read_text(),
            {
                "listen 80;": f"listen 127.0.0.1:{self.http};",
                "listen [::]:80;": "",
                "listen 443 ssl http2;": f"listen 127.0.0.1:{self.https} ssl http2;",
                "listen [::]:443 ssl http2;": "",
                "server 127.0.0.1:8000;": f"server 127.0.0.1:{self.upstream.server_port};",
                f"/etc/letsencrypt/live/{HOST}/fullchain.pem": str(self.cert),
                f"/etc/letsencrypt/live/{HOST}/privkey.pem": str(self.key),
                "/var/log/nginx/": f"{self.logs}/",
                f"{PROJECT}/staticfiles/": f"{self.static}/",
                "/var/www/letsencrypt": str(tmp / "acme"),
                # 127.0.0.2 is this machine too: a client can send from it.
                f"allow {MONITORING_HOST};": "allow 127.0.0.2;",
            },
        )
        (tmp / "site.conf").write_text(site)
        user = "user root;" if os.geteuid() == 0 else ""
        kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        temp = " ".join(f"{kind}_temp_path {tmp}/{kind};" for kind in kinds)
        (tmp / "nginx.conf").write_text(
            f"{user}\nworker_processes 1;\npid {tmp}/nginx.pid;\nerror_log {self.logs}/error.log;\n"
            f"events {{ worker_connections 64; }}\n"
            f"http {{ include /etc/nginx/mime.types; {temp} include {tmp}/site.conf; }}\n"
        )
        self.logs.mkdir()
        (self.static / "css").mkdir(parents=True)
        subprocess.run(
            [
                _tool("openssl", "openssl"),
                *("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
                *("-keyout", str(self.key), "-out", str(self.cert), "-subj", f"/CN={HOST}"),
            ],
            check=True,
            capture_output=True,
        )
        self.nginx = _tool("nginx", "nginx")

    def access_log(self) -> str:
        """The access log, once nginx has written the last request's line."""
        path = self.logs / "namdinh-portal.access.log"
        for _ in range(50):
            if path.exists() and path.read_text().endswith("\n"):
                break
            time.sleep(0.02)
        return path.read_text()

    def command(self, *args: str) -> list[str]:
        return [self.nginx, "-p", str(self.tmp), "-c", str(self.tmp / "nginx.conf"), *args]

    def request(self, method: str, path: str, *, tls=True, source="127.0.0.1", body=None, **hd):
        if tls:
            context = ssl.create_default_context(cafile=self.cert)
            context.check_hostname = False  # connected by address; the chain is still checked
            connection = http.client.HTTPSConnection(
                "127.0.0.1", self.https, context=context, source_address=(source, 0), timeout=10
            )
        else:
            connection = http.client.HTTPConnection(
                "127.0.0.1", self.http, source_address=(source, 0), timeout=10
            )
        headers = {"Host": HOST, **{k.replace("_", "-"): v for k, v in hd.items()}}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.text = response.read().decode(errors="replace")
        connection.close()
        return response


@pytest.fixture
def site(tmp_path):
    site = Site(tmp_path)
    threading.Thread(target=site.upstream.serve_forever, daemon=True).start()
    process = subprocess.Popen(
        site.command("-g", "daemon off;"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", site.https), timeout=0.1).close()
                break
            except OSError:
                if process.poll() is not None:
                    pytest.fail(f"nginx did not start: {process.stdout.read().decode()}")
                time.sleep(0.05)
        yield site
    finally:
        process.send_signal(signal.SIGQUIT)
        process.wait(timeout=10)
        site.upstream.shutdown()


def test_the_site_passes_nginx_t(tmp_path):
    site = Site(tmp_path)

    result = subprocess.run(site.command("-t"), capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
    assert "[warn]" not in result.stderr, result.stderr


def test_plain_http_is_sent_to_https_at_the_same_address(site):
    response = site.request("GET", "/dashboard/?district=1", tls=False)

    assert response.status == 301
    assert response.getheader("Location") == f"https://{HOST}/dashboard/?district=1"
    assert site.upstream.seen == []


def test_pages_reach_gunicorn_with_the_scheme_and_the_callers_address_set_by_nginx(site):
    # A caller that claims to be on plain HTTP and to come from elsewhere.
    response = site.request(
        "GET",
        "/outreach/households/?q=Nguy%E1%BB%85n+V%C4%83n+A",
        X_Forwarded_Proto="http",
        X_Forwarded_For="203.0.113.7",
    )

    assert response.status == 200 and response.text == "from the portal"
    (seen,) = site.upstream.seen
    assert seen["headers"]["Host"] == HOST
    # SECURE_PROXY_SSL_HEADER reads this one: nginx's, not the caller's.
    assert seen["headers"]["X-Forwarded-Proto"] == "https"
    # The settings read the last entry, the one nginx added: the real caller's address.
    assert seen["headers"]["X-Forwarded-For"] == "203.0.113.7, 127.0.0.1"
    # The access log has the path but not the search, which can name a person.
    log = site.access_log()
    assert '"GET /outreach/households/ HTTP/1.1" 200' in log
    assert "Nguy" not in log and "q=" not in log


def test_static_files_are_served_by_nginx_hashed_names_cached_for_good(site):
    (site.static / "css" / "app.css").write_text("body {}")
    (site.static / "css" / "app.3f2a9c1b7e4d.css").write_text("body {}")

    hashed = site.request("GET", "/static/css/app.3f2a9c1b7e4d.css")
    plain = site.request("GET", "/static/css/app.css")

    assert hashed.status == plain.status == 200
    assert hashed.getheader("Content-Type") == "text/css"
    # nginx's "max": ten years.
    assert hashed.getheader("Cache-Control") == "max-age=315360000"
    assert plain.getheader("Cache-Control") == "max-age=3600"
    assert plain.getheader("X-Content-Type-Options") == "nosniff"
    assert site.upstream.seen == []


def test_an_import_file_at_the_portals_limit_gets_through_and_a_far_larger_one_does_not(site):
    # A full-size file with its form around it reaches the portal, which answers it.
    at_limit = b"x" * (FileImport.MAX_FILE_SIZE + 64 * 1024)
    # Past twice the limit nginx refuses it before it ties up a gunicorn worker.
    far_larger = b"x" * (2 * FileImport.MAX_FILE_SIZE + 1024)

    accepted = site.request("POST", "/outreach/imports/new/", body=at_limit)
    refused = site.request("POST", "/outreach/imports/new/", body=far_larger)

    assert accepted.status == 200
    assert refused.status == 413
    assert [seen["size"] for seen in site.upstream.seen] == [len(at_limit)]


def test_the_metrics_reach_the_portal_only_from_the_monitoring_host(site):
    elsewhere = site.request("GET", "/metrics")
    monitoring = site.request("GET", "/metrics", source="127.0.0.2")

    assert elsewhere.status == 403
    assert monitoring.status == 200
    (seen,) = site.upstream.seen
    assert seen["path"] == "/metrics"
    assert seen["headers"]["X-Forwarded-For"] == "127.0.0.2"


# --- docker-compose -------------------------------------------------------------------------


def _services(config: str) -> dict[str, str]:
    """The resolved file's services, each as its block of text."""
    services = f"\n{config}".split("\nservices:\n", 1)[1]
    services = re.split(r"\n(?=\S)", services, maxsplit=1)[0]
    return dict(re.findall(r"^  (\w+):\n((?:    .*\n?|\s*\n)*)", services, re.M))


def test_compose_config_resolves_postgres_redis_the_portal_worker_and_beat(tmp_path):
    # The kit's layout, with a .env made from .env.example as the README says.
    (tmp_path / "deploy").mkdir()
    for name in ("compose.yaml", "Dockerfile"):
        shutil.copy(DEPLOY / name, tmp_path / "deploy" / name)
    env = (ROOT / ".env.example").read_text() + "\nPOSTGRES_PASSWORD=trial-password\n"
    (tmp_path / ".env").write_text(env)
    compose = [_tool("docker-compose", "docker-compose"), "--env-file", ".env"]
    compose += ["-f", "deploy/compose.yaml"]

    result = subprocess.run([*compose, "config"], capture_output=True, text=True, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    services = _services(result.stdout)
    assert set(services) == {"postgres", "redis", "web", "worker", "beat"}
    assert all("healthcheck:" in block for block in services.values())
    for name in ("web", "worker", "beat"):
        block = services[name]
        # The containers' addresses, whatever the .env says for a host install.
        assert (
            "DATABASE_URL: postgres://portal:trial-password@postgres:5432/namdinh_portal" in block
        )
        assert "REDIS_URL: redis://redis:6379/0" in block
        assert "SECRET_KEY:" in block, "the .env is not passed on"
    assert "gunicorn -c config/gunicorn.py config.wsgi" in services["web"]
    assert "GUNICORN_BIND: 0.0.0.0:8000" in services["web"]
    assert "127.0.0.1:8000:8000" in services["web"]
    assert "--schedule=/var/lib/portal-beat/celerybeat-schedule" in services["beat"]
    assert "beat-state:/var/lib/portal-beat" in services["beat"]


def test_compose_without_the_database_password_says_what_to_set(tmp_path):
    (tmp_path / "deploy").mkdir()
    shutil.copy(DEPLOY / "compose.yaml", tmp_path / "deploy" / "compose.yaml")
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text())

    result = subprocess.run(
        [_tool("docker-compose", "docker-compose"), "--env-file", ".env"]
        + ["-f", "deploy/compose.yaml", "config"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "POSTGRES_PASSWORD"},
    )

    assert result.returncode != 0
    assert "set POSTGRES_PASSWORD in .env" in result.stderr
