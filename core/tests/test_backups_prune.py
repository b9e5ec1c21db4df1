"""`manage.py backups_prune`, which the nightly backup timer runs after the dump."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command


def _day(text: str) -> dt.date:
    return dt.datetime.strptime(text, "%Y%m%d").date()  # noqa: DTZ007 - a bare date


def _days(first: str, last: str) -> list[dt.date]:
    start, end = _day(first), _day(last)
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def _dump(folder, day: dt.date, time: str = "013000", suffix: str = ".dump") -> str:
    name = f"portal-{day:%Y%m%d}-{time}{suffix}"
    (folder / name).write_bytes(b"PGDMP")
    return name


def _prune(folder, *args: str) -> str:
    out = io.StringIO()
    call_command("backups_prune", "--folder", str(folder), *args, stdout=out)
    return out.getvalue()


def test_a_nightly_prune_keeps_the_last_14_days_and_the_last_8_weeks(tmp_path):
    # Nightly dumps for two months, encrypted with age from February on, one with gpg,
    # and a dump by hand on the afternoon of Sunday 1 March, the last day.
    for day in _days("20260101", "20260301"):
        suffix = ".dump.age" if day.month > 1 else ".dump"
        _dump(tmp_path, day, suffix=".dump.gpg" if day == _day("20260125") else suffix)
    by_hand = _dump(tmp_path, _day("20260301"), time="150000", suffix=".dump.age")
    left_alone = ["notes.txt", "portal-before-upgrade.dump", ".portal-20260101.dump.x.partial"]
    for name in left_alone:
        (tmp_path / name).write_text("not a nightly dump")

    output = _prune(tmp_path)

    # The 14 latest days (the last one's newest dump), then the Sundays of the six weeks
    # before them: eight weeks in all.
    daily = [f"portal-{day:%Y%m%d}-013000.dump.age" for day in _days("20260216", "20260228")]
    weekly = [
        "portal-20260111-013000.dump",
        "portal-20260118-013000.dump",
        "portal-20260125-013000.dump.gpg",
        "portal-20260201-013000.dump.age",
        "portal-20260208-013000.dump.age",
        "portal-20260215-013000.dump.age",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [*daily, by_hand, *weekly, *left_alone]
    )
    assert "Deleted portal-20260301-013000.dump.age" in output
    assert "Kept 20 dump(s)" in output and "deleted 41." in output


def test_after_backups_stopped_for_weeks_the_last_dumps_are_still_kept(tmp_path):
    for day in _days("20260101", "20260120"):
        _dump(tmp_path, day)

    _prune(tmp_path)

    kept = sorted(p.name for p in tmp_path.iterdir())
    # 7..20 January are the 14 latest days; 4 January is the newest of its week, the
    # week before the three the daily dumps already cover.
    assert kept == ["portal-20260104-013000.dump"] + [
        f"portal-{day:%Y%m%d}-013000.dump" for day in _days("20260107", "20260120")
    ]


def test_a_dry_run_names_what_would_go_and_deletes_nothing(tmp_path):
    names = [_dump(tmp_path, day) for day in _days("20260101", "20260301")]

    output = _prune(tmp_path, "--dry-run", "--daily", "1", "--weekly", "0")

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
    assert "Would delete portal-20260228-013000.dump" in output
    assert "would delete 59." in output


def test_a_prune_that_would_keep_nothing_is_refused(tmp_path):
    name = _dump(tmp_path, _day("20260301"))

    with pytest.raises(CommandError, match="--daily must be at least 1"):
        _prune(tmp_path, "--daily", "0")

    assert [p.name for p in tmp_path.iterdir()] == [name]
