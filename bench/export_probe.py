"""The streamed visit export read to the end by the bench's provincial reader, in a process
of its own so that its memory is the export's: prints the status, lines, bytes, seconds
and memory in MB (before the request, peak, and the highest and lowest of the samples
taken every 50,000 lines). Run by bench/data.py's export section, in the bench's
environment."""

import os
import resource
import time

import django

SAMPLE_EVERY = 50_000


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    django.setup()
    from django.test import Client

    from accounts.models import User

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(username="bench-reader"))
    baseline = _rss_mb()
    started = time.perf_counter()
    response = client.get("/visits/export.csv", HTTP_ACCEPT_LANGUAGE="vi")
    lines = size = 0
    samples = []
    for chunk in response.streaming_content:
        lines += chunk.count(b"\n")
        size += len(chunk)
        if lines % SAMPLE_EVERY == 0:
            samples.append(_rss_mb())
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    samples = samples or [_rss_mb()]
    print(response.status_code, lines, size, seconds, baseline, peak, max(samples), min(samples))


if __name__ == "__main__":
    main()
