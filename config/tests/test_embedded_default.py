"""The newcomer's path: no DATABASE_URL, no REDIS_URL, nothing but Python."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.smoke
def test_a_fresh_sqlite_file_migrates_loads_seeds_and_serves_the_home_page(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        DEBUG="true",
        SQLITE_PATH=str(tmp_path / "portal.sqlite3"),
        DJANGO_SETTINGS_MODULE="config.settings",
    )

    def manage(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    manage("migrate", "--noinput")
    assert "237 created" in manage("load_divisions")
    assert "demo_tinh" in manage("seed_demo")
    page = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.test import Client; r = Client().get('/', HTTP_HOST='localhost'); "
        "print('STATUS', r.status_code); print(r.content.decode())",
    )
    status, html = page.split("STATUS ", 1)[1].split("\n", 1)
    assert status.strip() == "200"
    assert "Tỉnh Nam Định" in html
    assert "Huyện Hải Hậu" in html
    assert "demo-ribbon" in html
    assert (tmp_path / "portal.sqlite3").exists()
