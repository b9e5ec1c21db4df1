"""Faults of the broker, injected against a real portal: gunicorn with the production
settings, a Celery worker, Postgres, and a Redis of the test's own.

The Redis is private (its own process on a free port): stopping or pausing it never
touches the Redis everything else uses. What is promised: a visit is always saved and
the form answers within 5 seconds, whatever Redis does; the figures catch up once it is
back, with nothing lost and nothing counted twice; the work to redo lives in Postgres,
so a broker that loses its queue only delays the figures.
"""

import pytest

from bench.processes import Worker
from communes.models import PendingRollup
from outreach.models import Visit

from .faults import ANSWER_WITHIN, figures_caught_up, form_token, send_as_beat, submit


def _submissions_while(portal, fault, count: int = 4) -> list[tuple[int, float]]:
    cookie, token = form_token(portal)
    fault()
    return [submit(portal, cookie, token, n) for n in range(count)]


@pytest.mark.django_db(transaction=True)
def test_with_redis_refusing_connections_every_visit_is_saved_and_the_figures_catch_up(
    portal,
):
    answers = _submissions_while(portal, portal.redis.stop)

    assert [status for status, _ in answers] == [302] * 4
    assert max(seconds for _, seconds in answers) < ANSWER_WITHIN
    assert Visit.objects.filter(team_id=portal.world.team_id).count() == 4
    assert PendingRollup.objects.exists()  # the work to redo waits in Postgres

    portal.redis.start()
    with Worker(portal.ctx):
        send_as_beat(portal)
        assert figures_caught_up(portal)


@pytest.mark.django_db(transaction=True)
def test_with_redis_hung_the_form_still_answers_within_five_seconds(portal):
    answers = _submissions_while(portal, portal.redis.pause)
    portal.redis.resume()

    assert [status for status, _ in answers] == [302] * 4
    assert max(seconds for _, seconds in answers) < ANSWER_WITHIN
    assert Visit.objects.filter(team_id=portal.world.team_id).count() == 4
    with Worker(portal.ctx):
        send_as_beat(portal)
        assert figures_caught_up(portal)


@pytest.mark.django_db(transaction=True)
def test_a_broker_that_loses_its_queue_delays_the_figures_and_never_loses_them(portal):
    answers = _submissions_while(portal, lambda: None)
    assert [status for status, _ in answers] == [302] * 4
    # The roll-up the submissions asked for is lost with the broker's data...
    portal.redis.flush()
    assert PendingRollup.objects.exists()

    # ...and beat's next run finds the work in Postgres.
    with Worker(portal.ctx):
        send_as_beat(portal)
        assert figures_caught_up(portal)
