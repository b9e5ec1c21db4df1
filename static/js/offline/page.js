// On every page of a signed-in user (base.html): keeps what the phone stores for the
// visit form to one login, and, for a team leader, installs the service worker, shows
// the badge of visits waiting, sends them when the portal answers, and warns before a
// logout deletes them. Reads who is signed in from <body data-offline-user>: a user id
// for a leader, "" for any other login (nothing is sent, and nothing kept stays).
(function () {
  "use strict";
  var root = document.documentElement;
  var body = document.body;
  var PortalOffline = self.PortalOffline = self.PortalOffline || {};
  var store = PortalOffline.store;

  // Tests and scripts wait for this: the page has done what it does on load.
  function ready() {
    root.dataset.offline = "ready";
  }

  if (!body.hasAttribute("data-offline-user")) { ready(); return; }
  var user = body.getAttribute("data-offline-user");
  PortalOffline.user = user;
  PortalOffline.urls = {
    choices: body.getAttribute("data-offline-choices-url"),
    visitNew: body.getAttribute("data-offline-visit-url"),
    outbox: body.getAttribute("data-offline-outbox-url")
  };
  // The choices are checked again on load when the last check is older than this (a
  // 304 costs a few hundred bytes; the form opened offline shows what the check kept).
  var CHOICES_FRESH_MS = 15 * 60 * 1000;

  var badge = document.getElementById("outbox-badge");

  function emit(name, detail) {
    document.dispatchEvent(new CustomEvent(name, { detail: detail }));
  }

  async function updateBadge() {
    if (!badge || !user) { return 0; }
    var count = await store.pendingCount(user).catch(function () { return 0; });
    badge.querySelector(".count").textContent = String(count);
    badge.hidden = count === 0;
    return count;
  }

  // Background Sync sends the outbox from the service worker once the phone has a
  // connection again, even with the portal closed; where the browser lacks it, the next
  // page load or `online` event does (below).
  async function requestSync() {
    if (!("serviceWorker" in navigator)) { return; }
    try {
      var registration = await navigator.serviceWorker.ready;
      if (registration.sync) { await registration.sync.register("visit-outbox"); }
    } catch (error) { /* refused (e.g. no permission): the page-side sends remain */ }
  }

  // Sends this login's waiting visits (outbox.js). Pages hear the result as the
  // "portaloffline:flushed" event (the outbox page shows it).
  async function flushNow(options) {
    if (!user || !PortalOffline.flush) { return null; }
    root.dataset.offlineFlush = "running";
    var result = null;
    try {
      result = await PortalOffline.flush(user, options);
    } catch (error) {
      result = null;
    }
    await updateBadge();
    root.dataset.offlineFlush = "done";
    if (result) { emit("portaloffline:flushed", result); }
    return result;
  }

  async function hasWaiting() {
    var entries = await store.outboxOf(user);
    return entries.some(function (e) { return e.state === "waiting" || e.state === "sending"; });
  }

  async function choicesStale() {
    var stored = await store.choices(user);
    // Either clock may be off: any distance between them beyond the limit asks again.
    return !stored || Math.abs(Date.now() - (stored.checked_at || 0)) > CHOICES_FRESH_MS;
  }

  // --- The logout: warn while visits wait, and leave nothing of the login behind -----

  var warning = document.getElementById("logout-warning");

  function withinSeconds(promise, seconds) {
    return Promise.race([
      promise,
      new Promise(function (resolve) { setTimeout(resolve, seconds * 1000); })
    ]).catch(function () {});
  }

  async function logOut(form) {
    // Never blocks the logout: a phone whose storage fails still logs out.
    await withinSeconds(store.wipe(user, { outbox: true }), 3);
    form.submit();
  }

  function warn(form, count) {
    var text = warning.querySelector(".logout-warning-text");
    text.textContent = warning.getAttribute("data-text").replace("{count}", String(count));
    warning.hidden = false;
    var anyway = warning.querySelector(".logout-anyway");
    anyway.onclick = function () {
      anyway.disabled = true;
      logOut(form);
    };
    warning.querySelector(".button").focus();
  }

  function watchLogout() {
    var forms = document.querySelectorAll('form[action$="/accounts/logout/"]');
    Array.prototype.forEach.call(forms, function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        store.pendingCount(user).catch(function () { return 0; }).then(function (count) {
          if (count > 0 && warning) {
            warn(form, count);
          } else {
            logOut(form);
          }
        });
      });
    });
    if (warning) {
      warning.addEventListener("keydown", function (event) {
        if (event.key === "Escape") { warning.hidden = true; }
      });
    }
  }

  // --- On load ------------------------------------------------------------------------

  async function setUp() {
    try {
      var owner = await store.owner();
      if (owner !== user) {
        // Another login's households, choices and pages go; its queued visits stay
        // hidden here, and are sent when it signs in again.
        await store.wipe(owner);
        await store.setOwner(user);
      }
    } catch (error) {
      ready();
      return;
    }
    if (!user) { ready(); return; }
    var swUrl = body.getAttribute("data-offline-sw-url");
    if (swUrl && "serviceWorker" in navigator) {
      navigator.serviceWorker.register(swUrl, { scope: "/" }).catch(function () {});
      // Once it runs, the worker keeps a copy of the outbox page if it has none yet.
      navigator.serviceWorker.ready.then(function (registration) {
        if (registration.active && navigator.onLine !== false) {
          registration.active.postMessage({ type: "keep-outbox" });
        }
      });
    }
    await updateBadge();
    ready();

    if (self.BroadcastChannel && PortalOffline.CHANNEL) {
      // Sends by the service worker or another tab: the badge and lists follow.
      new BroadcastChannel(PortalOffline.CHANNEL).onmessage = function () {
        updateBadge();
        emit("portaloffline:changed", {});
      };
    }
    window.addEventListener("online", function () { flushNow(); });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState !== "visible") { return; }
      hasWaiting().then(function (waiting) { if (waiting) { flushNow(); } });
    });
    if (await hasWaiting().catch(function () { return false; })) {
      // After a send under way elsewhere (the worker's Background Sync), not instead of
      // it: that one may have started before the signal came back and failed.
      flushNow({ wait: true });
    } else if (await choicesStale().catch(function () { return false; })) {
      flushNow({ refresh: true });
    }
  }

  PortalOffline.updateBadge = updateBadge;
  PortalOffline.requestSync = requestSync;
  PortalOffline.flushNow = flushNow;

  if (!store || !self.indexedDB) { ready(); return; }
  watchLogout();
  setUp();
})();
