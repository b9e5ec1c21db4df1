"""The scan of the suite's logs (conftest.py) finds what it looks for."""

import logging
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

from config.log_scan import Recorder, personal_data_in


def test_the_scan_finds_phone_numbers_in_every_shape_and_the_names_of_people_stored():
    lines = [
        "outreach: visit saved for 0912345678",
        "accounts: login failed for +84 912 345 678",
        "trainings: attendee Nguyễn Thị Ánh added",
        "celery: task took 0.912345678 s",  # a duration, not a phone
        "celery: Task dashboard.rollup_pending[5f0c-0538350576d9] succeeded",  # a task id
        "dashboard: rolled up 1,234,567 rows",
        "axes: login failed for ********************",
        # A name the fuzz tests drew, inside a duration: not that person.
        "celery: Task dashboard.rollup_pending[5f0c] succeeded in 0.7391809000000649s",
        "outreach: member 00000064 left",  # that name, whole
    ]
    found = personal_data_in(lines, {"Nguyễn Thị Ánh", "Lan", "00000064"})
    assert found == [*lines[:3], lines[-1]]


def test_the_recorder_keeps_records_of_every_level_with_their_exception():
    recorder = Recorder()
    logger = logging.getLogger("log-scan-self-test")
    logger.addHandler(recorder)
    logger.propagate = False  # planted on purpose: kept out of the suite's own scan
    try:
        logger.debug("debug %s", "Trần Văn Bình")
        try:
            raise ValueError("0987654321")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(recorder)
        logger.propagate = True
    assert recorder.lines[0] == "log-scan-self-test: debug Trần Văn Bình"
    assert "0987654321" in recorder.lines[1]


def test_the_test_tools_own_loggers_are_not_scanned():
    recorder = Recorder()
    logger = logging.getLogger("factory.generate")
    logger.addHandler(recorder)
    logger.propagate = False
    try:
        logger.warning("built Trần Văn Bình")
    finally:
        logger.removeHandler(recorder)
        logger.propagate = True
    assert recorder.lines == []


def test_the_access_log_names_paths_without_their_query_strings_or_referers():
    from gunicorn.config import Config
    from gunicorn.glogging import Logger

    config_file = Path(__file__).parents[1] / "gunicorn.py"
    settings: dict = {"__file__": str(config_file)}  # as gunicorn runs it
    exec(config_file.read_text(), settings)  # noqa: S102
    config = Config()
    config.set("access_log_format", settings["access_log_format"])
    searched = "/households/?q=0912345678"
    environ = {
        "REMOTE_ADDR": "127.0.0.1",
        "REQUEST_METHOD": "GET",
        "RAW_URI": searched,
        "PATH_INFO": "/households/",
        "QUERY_STRING": "q=0912345678",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": f"https://congdanso.namdinh.gov.vn{searched}",
    }
    response = SimpleNamespace(status="200 OK", sent=10, headers=[])
    atoms = Logger(config).atoms(response, [], environ, timedelta(milliseconds=5))

    line = config.access_log_format % atoms
    assert '"GET /households/ HTTP/1.1" 200' in line
    assert "0912345678" not in line
