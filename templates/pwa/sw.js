{% autoescape off %}// The portal's service worker, rendered by config/service_worker.py at /sw.js (a fixed
// name at the root, so that its scope is the whole site). Generated: do not cache it;
// the browser compares it byte for byte to find a new version, and the precache list's
// revisions change it whenever a precached file changes.
//
// It does three things, and nothing else:
// - keeps the static files that the visit form, the outbox page and the team's page
//   need (precache), so that they open with no signal;
// - serves the pages network-first, keeping the last copy of the three a leader needs
//   without a signal (the team's page, the visit form, the outbox, which is also
//   fetched ahead); any other page falls back to the outbox when the portal cannot be
//   reached;
// - sends the outbox (static/js/offline/outbox.js) on Background Sync.
// Visits are never replayed from stored requests: the outbox in IndexedDB is the queue,
// and POSTs and JSON answers are never cached.
"use strict";

importScripts(...{{ scripts }});

var config = {{ config }};
self.PortalOffline.urls = config.urls;

var PAGES_CACHE = "pages";
var KEPT_PAGES = new Set(config.pages);

self.skipWaiting();
workbox.core.clientsClaim();
workbox.precaching.cleanupOutdatedCaches();
workbox.precaching.precacheAndRoute(config.precache);

// A page is kept under its path alone: /visits/new/?outbox=… opens the kept form.
function pageKey(url) {
  var parsed = new URL(url, self.location.href);
  return parsed.origin + parsed.pathname;
}

var keptPages = {
  cacheKeyWillBeUsed: async function (details) {
    return pageKey(details.request.url);
  },
  // Kept only when rendered for the phone's leader: never an anonymous page, a redirect,
  // or another login's. The copy is marked, so that the form knows it is a kept one
  // (static/js/visit-form.js: today's date, newer stored choices).
  cacheWillUpdate: async function (details) {
    var response = details.response;
    if (!response || response.status !== 200 || response.type !== "basic") { return null; }
    var text = await response.clone().text();
    var found = /<body[^>]*\sdata-offline-user="(\d+)"/.exec(text);
    if (!found) { return null; }
    // No owner yet: a navigation's page is the one that sets it, still loading; a page
    // fetched ahead (keepOutbox) is kept only for the owner.
    var owner = await self.PortalOffline.store.owner().catch(function () { return null; });
    if (owner !== found[1] && (owner !== null || details.ahead)) { return null; }
    var headers = new Headers(response.headers);
    // The text is decoded and changed: its length and encoding are no longer the network's.
    ["Content-Length", "Content-Encoding", "Vary"].forEach(function (name) { headers.delete(name); });
    return new Response(text.replace("<html ", "<html data-offline-copy "), {
      status: 200,
      statusText: response.statusText,
      headers: headers
    });
  }
};

// No network and no kept copy: the outbox page, which says what waits on the phone.
var outboxWhenOffline = {
  handlerDidError: async function () {
    var cache = await caches.open(PAGES_CACHE);
    return (await cache.match(pageKey(config.urls.outbox), { ignoreVary: true })) || Response.error();
  }
};

workbox.routing.registerRoute(
  function (match) {
    return match.request.mode === "navigate" && match.url.origin === self.location.origin &&
      KEPT_PAGES.has(match.url.pathname);
  },
  new workbox.strategies.NetworkFirst({
    cacheName: PAGES_CACHE,
    // A phone at the edge of the signal waits this long for the network, then opens the copy.
    networkTimeoutSeconds: 4,
    matchOptions: { ignoreVary: true },
    plugins: [keptPages, outboxWhenOffline]
  })
);
workbox.routing.registerRoute(
  function (match) { return match.request.mode === "navigate"; },
  new workbox.strategies.NetworkOnly({ plugins: [outboxWhenOffline] })
);

// The outbox page, fetched ahead when the phone has no copy of it (page.js asks after
// each load): it is what opens offline in place of any page not kept, and a leader may
// never have opened it online. (The team's page and the form are kept as they are
// opened: the login lands on the one, the leader opens the other to log a visit.)
var keepingOutbox = null;

async function keepOutbox() {
  var cache = await caches.open(PAGES_CACHE);
  var key = pageKey(config.urls.outbox);
  if (await cache.match(key, { ignoreVary: true })) { return; }
  var response = await fetch(key, { credentials: "same-origin", redirect: "manual", cache: "no-store" });
  var kept = await keptPages.cacheWillUpdate({ response: response, ahead: true });
  if (kept) { await cache.put(key, kept); }
}

self.addEventListener("message", function (event) {
  if (!event.data || event.data.type !== "keep-outbox") { return; }
  // One fetch however many pages ask at once; no network: the next page load asks again.
  keepingOutbox = keepingOutbox || keepOutbox().catch(function () {}).then(function () {
    keepingOutbox = null;
  });
  event.waitUntil(keepingOutbox);
});

self.addEventListener("sync", function (event) {
  if (event.tag !== "visit-outbox") { return; }
  event.waitUntil(self.PortalOffline.flush(undefined, { wait: true }).then(function (result) {
    // Still no answer from the portal: failing asks the browser to try again later.
    if (result && result.offline) { throw new Error("The portal did not answer."); }
  }));
});
{% endautoescape %}
