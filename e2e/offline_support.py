"""What the offline journeys need besides a browser: a server the test can really cut off,
and ways to look into the phone (its outbox in IndexedDB, its cached pages, the bytes on
the wire).

A browser's offline switch does not cut a service worker's own traffic, so "offline" in
these journeys is the server out of reach: the browser only ever talks to a
SwitchableProxy in front of the live server, which forwards (up), refuses every
connection (down), or forwards a post and loses its answer (drop_responses).
"""

import contextlib
import re
import selectors
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from playwright.sync_api import Page

# The first line of a request. Chromium writes a request's head in one piece and never
# pipelines, so a chunk from the browser that starts with one starts a new request.
REQUEST_LINE = re.compile(rb"^([A-Z]+) (\S+) HTTP/1\.[01]\r\n")


@dataclass
class Exchange:
    """One request through the proxy and its answer, in bytes on the wire (heads and
    bodies, as the phone's data plan counts them)."""

    method: str
    path: str
    sent: int = 0  # browser to server
    received: int = 0  # server to browser
    dropped: bool = False  # the server answered; the browser never heard it

    @property
    def total(self) -> int:
        return self.sent + self.received


@dataclass(eq=False)
class _Connection:
    client: socket.socket
    upstream: socket.socket
    exchange: Exchange | None = None


def _close(sock: socket.socket, *, reset: bool) -> None:
    if reset:
        # A reset, not a polite close: the browser's request fails at once, as when the
        # signal goes.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class SwitchableProxy:
    """A TCP proxy on 127.0.0.1, in one thread, switched by setting `mode`:

    - "up": every byte is forwarded both ways;
    - "down": every open connection is reset and every new one is reset as soon as it is
      accepted: the server is out of reach, for pages and service worker alike;
    - "drop_responses": requests are forwarded, but the answer to a POST is never
      passed on: the connection is reset as it arrives, so the server has acted on the
      post while the phone heard nothing (pages and other GETs still answer).

    Every request forwarded is logged as an Exchange (`mark()` and `since(mark)` read the
    log); `refused` counts the connections turned away while down.
    """

    UP, DOWN, DROP_RESPONSES = "up", "down", "drop_responses"
    MODES = (UP, DOWN, DROP_RESPONSES)

    def __init__(self, target_url: str):
        parts = urlsplit(target_url)
        self._target = (parts.hostname, parts.port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self.port = self._listener.getsockname()[1]
        # Named as the live server is (localhost): the host its ALLOWED_HOSTS accepts.
        self.url = f"http://{parts.hostname}:{self.port}"
        self._wake_in, self._wake_out = socket.socketpair()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._selector.register(self._wake_in, selectors.EVENT_READ)
        self._connections: dict[socket.socket, _Connection] = {}  # both ends of each
        self._log: list[Exchange] = []
        self._log_lock = threading.Lock()
        self._mode = self.UP
        self._switched = threading.Event()
        self._stopping = False
        self.refused = 0
        self._thread = threading.Thread(target=self._run, name="offline-proxy", daemon=True)
        self._thread.start()

    # --- The test's side ----------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, mode: str) -> None:
        """Switch; when this returns, a switch to down has reset every open connection."""
        if mode not in self.MODES:
            raise ValueError(f"no such mode: {mode}")
        self._switched.clear()
        self._mode = mode
        self._wake_out.send(b"m")
        if not self._switched.wait(5):
            raise RuntimeError("the proxy's thread did not answer the switch")

    def mark(self) -> int:
        """A place in the log, for since()."""
        with self._log_lock:
            return len(self._log)

    def since(self, mark: int = 0) -> list[Exchange]:
        with self._log_lock:
            return list(self._log[mark:])

    def close(self) -> None:
        self._stopping = True
        with contextlib.suppress(OSError):
            self._wake_out.send(b"x")
        self._thread.join(5)
        self._selector.close()
        for sock in (self._listener, self._wake_in, self._wake_out):
            _close(sock, reset=False)

    def __enter__(self) -> "SwitchableProxy":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- The proxy's thread -------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping:
            for key, _events in self._selector.select(timeout=1.0):
                sock = key.fileobj
                if sock is self._wake_in:
                    self._wake_in.recv(64)
                    if self._stopping:
                        break
                    if self._mode == self.DOWN:
                        self._drop_all()
                    self._switched.set()
                elif sock is self._listener:
                    self._accept()
                elif sock in self._connections:  # not closed earlier in this round
                    self._relay(self._connections[sock], sock)
        self._drop_all()

    def _accept(self) -> None:
        try:
            client, _address = self._listener.accept()
        except (BlockingIOError, OSError):
            return
        client.setblocking(True)
        if self._mode == self.DOWN:
            self.refused += 1
            _close(client, reset=True)
            return
        try:
            upstream = socket.create_connection(self._target, timeout=5)
        except OSError:
            _close(client, reset=True)
            return
        # Sends may block a moment (recv only runs on a readable socket), never for ever.
        for sock in (client, upstream):
            sock.settimeout(10)
        connection = _Connection(client, upstream)
        for sock in (client, upstream):
            self._connections[sock] = connection
            self._selector.register(sock, selectors.EVENT_READ)

    def _relay(self, connection: _Connection, sock: socket.socket) -> None:
        try:
            data = sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._drop(connection, reset=False)
            return
        if sock is connection.client:
            started = REQUEST_LINE.match(data)
            if started:
                connection.exchange = Exchange(
                    method=started[1].decode("ascii"),
                    path=started[2].decode("latin-1"),
                )
                with self._log_lock:
                    self._log.append(connection.exchange)
            if connection.exchange is not None:
                connection.exchange.sent += len(data)
            target = connection.upstream
        else:
            exchange = connection.exchange
            if (
                self._mode == self.DROP_RESPONSES
                and exchange is not None
                and exchange.method == "POST"
            ):
                exchange.dropped = True
                self._drop(connection, reset=True)
                return
            if exchange is not None:
                exchange.received += len(data)
            target = connection.client
        try:
            target.sendall(data)
        except OSError:
            self._drop(connection, reset=True)

    def _drop(self, connection: _Connection, *, reset: bool) -> None:
        """Close both ends; `reset`: the browser's end with a reset (the server's end is
        always closed politely, so that it reads the end of a connection, not an error)."""
        for sock in (connection.client, connection.upstream):
            if self._connections.pop(sock, None) is not None:
                self._selector.unregister(sock)
            _close(sock, reset=reset and sock is connection.client)

    def _drop_all(self) -> None:
        for connection in {id(c): c for c in self._connections.values()}.values():
            self._drop(connection, reset=True)


# --- Looking into the phone --------------------------------------------------------------

# The outbox as IndexedDB holds it (never creating the database: the portal's script
# must be the one that opens it first, at its version).
OUTBOX_ENTRIES = """async () => {
  const known = await indexedDB.databases();
  if (!known.some(database => database.name === "portal-offline")) return [];
  const db = await new Promise((resolve, reject) => {
    const opening = indexedDB.open("portal-offline");
    opening.onsuccess = () => resolve(opening.result);
    opening.onerror = () => reject(opening.error);
  });
  try {
    if (!db.objectStoreNames.contains("outbox")) return [];
    return await new Promise((resolve, reject) => {
      const reading = db.transaction("outbox").objectStore("outbox").getAll();
      reading.onsuccess = () => resolve(reading.result.map(entry => ({
        submission_id: String(entry.submission_id),
        user_id: String(entry.user_id),
        state: entry.state,
        reason: entry.reason,
        errors: entry.errors,
        address_label: entry.summary ? entry.summary.address_label : null,
      })));
      reading.onerror = () => reject(reading.error);
    });
  } finally {
    db.close();
  }
}"""

# The paths the service worker's `pages` cache holds a copy of.
CACHED_PAGES = """async () => {
  if (!(await caches.has("pages"))) return [];
  const pages = await caches.open("pages");
  return (await pages.keys()).map(request => new URL(request.url).pathname);
}"""

SW_CONTROLS = "() => !!(navigator.serviceWorker && navigator.serviceWorker.controller)"
OFFLINE_READY = "() => document.documentElement.dataset.offline === 'ready'"


def outbox_entries(page: Page) -> list[dict]:
    """The phone's outbox entries (every login's), oldest first as stored."""
    return page.evaluate(OUTBOX_ENTRIES)


def cached_pages(page: Page) -> list[str]:
    return page.evaluate(CACHED_PAGES)


def wait_until(check: Callable[[], object], what: str, *, seconds: float = 10) -> object:
    """Wait for something the page does in its own time (an asynchronous write to
    IndexedDB or a cache); fail, saying what, when it never comes."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"Still waiting after {seconds} s for {what} (last: {value!r})")
        time.sleep(0.1)


def wait_offline_ready(page: Page) -> None:
    """The page's offline script has set up (service worker asked for, badge counted)."""
    page.wait_for_function(OFFLINE_READY)


# --- Network conditions and byte counts through Chromium's DevTools protocol -----------

# The phone: 1.6 Mbit/s down, 750 kbit/s up, 150 ms (bytes a second for CDP).
SLOW_PHONE = {
    "offline": False,
    "latency": 150,
    "downloadThroughput": 1_600_000 / 8,
    "uploadThroughput": 750_000 / 8,
}


class NetworkLog:
    """The page's requests as Chromium's DevTools protocol reports them, with each one's
    encoded bytes received (head and body)."""

    def __init__(self, cdp):
        self.requests: dict[str, dict] = {}
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.loadingFinished", self._finished)

    def _sent(self, event: dict) -> None:
        self.requests.setdefault(event["requestId"], {})["url"] = event["request"]["url"]

    def _finished(self, event: dict) -> None:
        self.requests.setdefault(event["requestId"], {})["bytes"] = int(event["encodedDataLength"])

    def finished(self) -> list[dict]:
        return [r for r in self.requests.values() if "bytes" in r and "url" in r]

    def bytes(self) -> int:
        return sum(r["bytes"] for r in self.finished())


NAVIGATION_TIMES = """() => {
  const entry = performance.getEntriesByType("navigation")[0];
  return {
    dom_interactive: entry.domInteractive / 1000,
    load: entry.loadEventEnd / 1000,
    offline_ready: window.__offlineReadyAt === undefined ? null : window.__offlineReadyAt / 1000,
  };
}"""

# Installed before the page's own scripts (an init script, which the CSP does not
# govern): the moment, from the start of the navigation, the offline script says ready.
# The <html> element is not parsed yet when it runs: the whole document is watched.
READY_CLOCK = """(() => {
  const seen = () => {
    const root = document.documentElement;
    if (root && root.dataset.offline === "ready" && window.__offlineReadyAt === undefined) {
      window.__offlineReadyAt = performance.now();
    }
  };
  new MutationObserver(seen).observe(document, {
    subtree: true, attributes: true, attributeFilter: ["data-offline"],
  });
})();"""
