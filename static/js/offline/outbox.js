// Sends the visits of the outbox (store.js) to the visit form's URL as JSON requests,
// and files each by the server's answer. A classic script for pages and the service
// worker alike: the worker sends on Background Sync, a page on load, on the `online`
// event, from the outbox page's button and when the form is saved.
//
// The server keeps no queue: a visit is stored when its post arrives, once per
// submission id, so a post that is sent twice (an answer lost on the way back, two
// contexts sending at once) stores one visit. The outbox only has to keep trying until
// an answer says stored or refused.
(function (scope) {
  "use strict";
  var PortalOffline = scope.PortalOffline = scope.PortalOffline || {};
  var store = PortalOffline.store;

  // A post that has not been answered in this time is treated as not arrived; if it had
  // arrived after all, the next send is answered "stored" again, not stored twice.
  var TIMEOUT_MS = 15000;
  var LOCK_NAME = "portal-offline-flush";
  // Pages (page.js, outbox-page.js) hear here that entries changed, from any context.
  var CHANNEL = "portal-offline";
  var REFUSALS = ["invalid", "conflict", "refused"];

  // The addresses: page.js sets them from the page's <body>, the service worker from its
  // configuration.
  function urls() {
    return PortalOffline.urls || {};
  }

  function announce(message) {
    if (!scope.BroadcastChannel) { return; }
    try {
      var channel = new scope.BroadcastChannel(CHANNEL);
      channel.postMessage(message);
      channel.close();
    } catch (error) { /* nobody listening is fine */ }
  }

  async function fetchWithin(url, options) {
    var controller = scope.AbortController ? new scope.AbortController() : null;
    var timer = null;
    if (controller) {
      options.signal = controller.signal;
      timer = setTimeout(function () { controller.abort(); }, TIMEOUT_MS);
    }
    try {
      return await fetch(url, options);
    } finally {
      clearTimeout(timer);
    }
  }

  async function jsonOf(response) {
    try {
      return await response.json();
    } catch (error) {
      return {};
    }
  }

  // The ETag without W/ and quotes: GZipMiddleware makes it weak, the form page carries it bare.
  function bareEtag(etag) {
    return String(etag || "").replace(/^W\//, "").replace(/"/g, "");
  }

  // Asks the server for the login's form choices (kept for the form offline). Its answer
  // also carries what a send needs: a fresh CSRF token and whose session this is.
  // Resolves to {kind: "ok", token, user} | {kind: "login"} | {kind: "no_team", reason}
  // | {kind: "offline"}.
  async function checkIn(userId) {
    var url = urls().choices;
    if (!url) { return { kind: "offline" }; }
    var user = String(userId);
    var stored = await store.choices(user).catch(function () { return null; });
    var headers = { Accept: "application/json" };
    if (stored && stored.etag) { headers["If-None-Match"] = '"' + stored.etag + '"'; }
    var response;
    try {
      // no-store: the browser's cache must neither answer for the server nor hide its 304.
      response = await fetchWithin(url, { credentials: "same-origin", cache: "no-store", headers: headers });
    } catch (error) {
      return { kind: "offline" };
    }
    if (response.status === 401) { return { kind: "login" }; }
    if (response.status === 403) {
      var refusal = await jsonOf(response);
      return refusal.status === "no_team" ? { kind: "no_team", reason: refusal.reason || "" } : { kind: "offline" };
    }
    if (response.status !== 200 && response.status !== 304) { return { kind: "offline" }; }
    var answer = {
      kind: "ok",
      token: response.headers.get("X-CSRFToken") || "",
      user: response.headers.get("X-Portal-User") || ""
    };
    if (answer.user !== user) { return answer; }
    // The server's clock, as the form page's time is: never the phone's.
    var checkedAt = Date.parse(response.headers.get("Date") || "") || Date.now();
    if (response.status === 304) {
      await store.touchChoices(user, checkedAt);
    } else {
      var data = await jsonOf(response);
      await store.setChoices(user, bareEtag(response.headers.get("ETag")), data, checkedAt);
    }
    return answer;
  }

  function encode(fields) {
    return fields.map(function (pair) {
      return encodeURIComponent(pair[0]) + "=" + encodeURIComponent(pair[1]);
    }).join("&").replace(/%20/g, "+");
  }

  // Posts one entry and classifies the answer:
  // {kind: "stored", url} | {kind: "invalid", errors} | {kind: "conflict", reason, visit_url}
  // | {kind: "refused", reason} | {kind: "csrf"} | {kind: "login"} | {kind: "offline"}.
  async function post(entry, token, foreground) {
    var headers = {
      Accept: "application/json",
      "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8",
      "X-CSRFToken": token || ""
    };
    // Only the form's own send earns the "Visit saved." message on the next page.
    if (foreground) { headers["X-Visit-Submit"] = "foreground"; }
    var response;
    try {
      response = await fetchWithin(urls().visitNew, {
        method: "POST",
        credentials: "same-origin",
        cache: "no-store",
        redirect: "manual",
        headers: headers,
        body: encode(entry.fields)
      });
    } catch (error) {
      return { kind: "offline" };
    }
    // A redirect or a server error is no answer to the post (a proxy's page, a restart).
    if (response.type === "opaqueredirect" || response.status === 0 || response.status >= 500) {
      return { kind: "offline" };
    }
    var body = await jsonOf(response);
    var status = response.status;
    if ((status === 201 || status === 200) && body.status === "stored") {
      return { kind: "stored", url: body.url || null };
    }
    if (status === 400 && body.status === "invalid") { return { kind: "invalid", errors: body.errors || {} }; }
    if (status === 409) { return { kind: "conflict", reason: body.reason || "", visit_url: body.visit_url || null }; }
    if (status === 401) { return { kind: "login" }; }
    if (status === 403 && body.status === "csrf") { return { kind: "csrf" }; }
    if (status === 403) { return { kind: "refused", reason: body.reason || "" }; }
    return { kind: "offline" };
  }

  // Files the entry by the answer: sent (its data dropped, only what the outbox page
  // lists kept for a day), needs attention (with the reason), or waiting again.
  async function file(entry, answer) {
    entry.attempts = (entry.attempts || 0) + 1;
    if (answer.kind === "stored") {
      entry.state = "sent";
      entry.answer = "stored";
      entry.visit_url = answer.url;
      entry.reason = null;
      entry.errors = null;
      entry.fields = [];
    } else if (REFUSALS.indexOf(answer.kind) >= 0) {
      entry.state = "attention";
      entry.answer = answer.kind;
      entry.errors = answer.kind === "invalid" ? answer.errors : null;
      entry.reason = answer.reason || null;
      entry.visit_url = answer.visit_url || null;
    } else {
      entry.state = "waiting";
    }
    // Deleted while its post was on the way (a logout, a discard): it stays deleted.
    if (await store.outboxUpdate(entry)) {
      announce({ type: "changed", submission_id: entry.submission_id });
    }
    return answer;
  }

  // Sends one entry now and files it. A refused CSRF token (a page kept from before the
  // last login) is renewed once through the choices' answer, and the post tried again.
  // The entry stays "waiting" while its post is on the way: a page closed meanwhile, or
  // a look at the outbox, finds it as it is until the server has answered.
  async function send(entry, options) {
    options = options || {};
    // Deleted since the flush read it (a logout, a discard): not sent.
    if (!(await store.outboxGet(entry.submission_id))) { return { kind: "gone" }; }
    var answer = await post(entry, options.token, options.foreground);
    if (answer.kind === "csrf") {
      var check = await checkIn(entry.user_id);
      if (check.kind === "no_team") {
        answer = { kind: "refused", reason: check.reason };
      } else if (check.kind !== "ok") {
        answer = check;
      } else if (check.user !== entry.user_id) {
        answer = { kind: "login" };
      } else {
        answer = await post(entry, check.token, options.foreground);
        // Refused twice: this session cannot send for this login.
        if (answer.kind === "csrf") { answer = { kind: "login" }; }
      }
    }
    return file(entry, answer);
  }

  // One flush at a time across the pages and the worker: Web Locks where the browser has
  // them, else a lease in IndexedDB that a closed page cannot hold for long.
  async function withLock(wait, work) {
    var locks = scope.navigator && scope.navigator.locks;
    if (locks && locks.request) {
      return locks.request(LOCK_NAME, { ifAvailable: !wait }, function (lock) {
        return lock ? work() : { busy: true };
      });
    }
    var db = await store.open();
    var tx = db.transaction("meta", "readwrite");
    var held = await tx.store.get("flush-lock");
    var taken = !held || held.until < Date.now();
    if (taken) { tx.store.put({ key: "flush-lock", until: Date.now() + 4 * TIMEOUT_MS }); }
    await tx.done;
    if (!taken) { return { busy: true }; }
    try {
      return await work();
    } finally {
      await db.delete("meta", "flush-lock").catch(function () {});
    }
  }

  // "sending" is what an older page may have left behind: sent again, the server stores once.
  function due(entry) {
    return entry.state === "waiting" || entry.state === "sending";
  }

  // The login whose visits this context sends: the page's (page.js sets it from the
  // <body>), else, in the service worker, the phone's owner: the login that last opened
  // a page of the portal.
  async function currentUser() {
    if (PortalOffline.user !== undefined) { return PortalOffline.user; }
    return (await store.owner()) || "";
  }

  // Sends every waiting visit of the login, oldest first; visits that need attention
  // wait for the leader to correct them (the form sends them again). With
  // `refresh: true` the choices are checked even with nothing to send. Resolves to
  // {sent, attention, waiting, login, offline, leftTeam, otherUser, busy}.
  async function flush(userId, options) {
    options = options || {};
    var user = userId === undefined || userId === null ? await currentUser() : String(userId);
    if (!user) { return { sent: 0, attention: 0, waiting: 0 }; }
    return withLock(options.wait, function () { return flushFor(user, options); });
  }

  async function flushFor(user, options) {
    var result = { sent: 0, attention: 0, waiting: 0 };
    var entries = await store.outboxOf(user);
    var queue = entries.filter(due).reverse();
    result.waiting = entries.filter(store.isPending).length;
    if (!queue.length && !options.refresh) { return result; }

    var check = await checkIn(user);
    if (check.kind === "no_team") {
      // No longer a team's leader: nothing of the team stays on the phone.
      await store.wipe(user, { outbox: true });
      // Remembered as "no choices", so that the next pages do not ask again at once.
      await store.setChoices(user, "", null, Date.now());
      announce({ type: "changed" });
      result.leftTeam = true;
      result.waiting = 0;
      return result;
    }
    if (check.kind === "login") { result.login = true; }
    if (check.kind === "offline") { result.offline = true; }
    // The session is another login's: this login's visits wait for it.
    if (check.kind === "ok" && check.user !== user) { result.otherUser = true; }

    if (check.kind === "ok" && !result.otherUser) {
      for (var i = 0; i < queue.length; i += 1) {
        var answer = await send(queue[i], { token: check.token });
        if (answer.kind === "stored") { result.sent += 1; }
        if (REFUSALS.indexOf(answer.kind) >= 0) { result.attention += 1; }
        if (answer.kind === "login") { result.login = true; break; }
        // No answer: the server is away, and the next posts would fail the same way.
        if (answer.kind === "offline") { result.offline = true; break; }
      }
    }
    result.waiting = (await store.outboxOf(user)).filter(store.isPending).length;
    return result;
  }

  PortalOffline.checkIn = checkIn;
  PortalOffline.send = send;
  PortalOffline.flush = flush;
  PortalOffline.bareEtag = bareEtag;
  PortalOffline.announce = announce;
  PortalOffline.CHANNEL = CHANNEL;
})(self);
