"""Reads about users and the demo data that comes with them."""

import logging

from django.core.cache import cache

from communes.models import Commune, Hamlet

from .models import User

DEMO_PRESENT_CACHE_KEY = "demo-data-present"
logger = logging.getLogger(__name__)


def demo_data_present() -> bool:
    """Whether any demo data is stored; every page shows a ribbon while it is.

    Cached briefly because every page asks; seed_demo clears the cached answer.
    """
    try:
        present = cache.get(DEMO_PRESENT_CACHE_KEY)
    except Exception:  # a cache that is down must not take every page with it
        logger.warning("cache unavailable; asking the database for demo data", exc_info=True)
        present = None
    if present is None:
        present = (
            User.objects.filter(is_demo=True).exists()
            or Commune.objects.filter(figures_are_demo=True).exists()
            or Hamlet.objects.filter(is_demo=True).exists()
        )
        try:
            cache.set(DEMO_PRESENT_CACHE_KEY, present, timeout=60)
        except Exception:
            logger.warning("cache unavailable; demo flag not cached", exc_info=True)
    return present


def demo_data_changed() -> None:
    try:
        cache.delete(DEMO_PRESENT_CACHE_KEY)
    except Exception:
        logger.warning("cache unavailable; demo flag expires on its own", exc_info=True)
