import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

# What a web process has loaded by now (Django, the apps, every view through the URLs)
# lives as long as the process. Python's collector would walk it again at each full
# collection, which a page that builds many objects (a dashboard computed for a new
# period) sets off: pauses of up to 136 ms in the middle of a request, 8 ms a page on
# average, measured at M. Frozen, the collector leaves it out (gc.freeze: the pattern
# Instagram described for its Django servers).
get_resolver().url_patterns  # noqa: B018 (imports every view now)
gc.freeze()
