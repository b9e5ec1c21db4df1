// The outbox page (templates/outreach/visits/outbox.html): lists the visits this login
// keeps on the phone with their state, offers to open and correct or discard those not
// sent, and sends the waiting ones on "Send now". The server knows nothing of them
// until they arrive, so the page is filled here from IndexedDB (store.js).
(function () {
  "use strict";
  var list = document.getElementById("outbox-list");
  var empty = document.getElementById("outbox-empty");
  var status = document.getElementById("outbox-status");
  var sendButton = document.getElementById("outbox-send");
  var texts = document.getElementById("outbox-texts");
  var PortalOffline = self.PortalOffline;
  var user = document.body.getAttribute("data-offline-user");
  if (!list || !texts || !PortalOffline || !PortalOffline.store || !user) { return; }
  var store = PortalOffline.store;
  var language = document.documentElement.lang || "vi";
  var STATES = { waiting: "waiting", sending: "sending", sent: "sent", attention: "attention" };

  function text(name) {
    return texts.getAttribute("data-" + name) || "";
  }

  function element(tag, className, content) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (content) { node.textContent = content; }
    return node;
  }

  // The day as the portal writes dates in the page's language (29/11/2026 in Vietnamese).
  function day(value) {
    var parts = String(value || "").split("-").map(Number);
    if (parts.length !== 3 || !parts[0]) { return value || ""; }
    try {
      return new Intl.DateTimeFormat(language, { day: "2-digit", month: "2-digit", year: "numeric", timeZone: "UTC" })
        .format(new Date(Date.UTC(parts[0], parts[1] - 1, parts[2])));
    } catch (error) {
      return value;
    }
  }

  function errorLines(errors) {
    var lines = [];
    Object.keys(errors || {}).forEach(function (name) {
      (errors[name] || []).forEach(function (message) { lines.push(message); });
    });
    return lines;
  }

  function item(entry) {
    var summary = entry.summary || {};
    var li = element("li", "outbox-item state-" + entry.state);
    li.setAttribute("data-submission-id", entry.submission_id);

    var head = element("p", "outbox-head");
    head.appendChild(element("span", "outbox-state", text(STATES[entry.state] || "waiting")));
    var when = element("time", "outbox-day", day(summary.visited_on));
    when.setAttribute("datetime", summary.visited_on || "");
    head.appendChild(when);
    li.appendChild(head);

    var what = element("p", "outbox-what");
    what.appendChild(element("strong", null, summary.address_label || text("no-address")));
    if (summary.hamlet_name) { what.appendChild(document.createTextNode(" — " + summary.hamlet_name)); }
    if (summary.head_name) { what.appendChild(document.createTextNode(", " + summary.head_name)); }
    if (summary.new_household) {
      what.appendChild(document.createTextNode(" "));
      what.appendChild(element("span", "outbox-tag", text("new-household")));
    }
    li.appendChild(what);
    if (summary.members && summary.members.length) {
      li.appendChild(element("p", "outbox-who hint", summary.members.join(", ")));
    }

    if (entry.state === "attention") {
      var reasons = (entry.reason ? [entry.reason] : []).concat(errorLines(entry.errors));
      if (reasons.length) {
        var why = element("ul", "outbox-reason");
        reasons.forEach(function (line) { why.appendChild(element("li", null, line)); });
        li.appendChild(why);
      }
    }

    var actions = element("p", "outbox-actions");
    if (entry.state === "sent") {
      if (entry.visit_url) {
        var view = element("a", "button", text("view"));
        view.href = entry.visit_url;
        actions.appendChild(view);
      }
    } else {
      var edit = element("a", "button", text("open"));
      edit.href = text("visit-new-url") + "?outbox=" + encodeURIComponent(entry.submission_id);
      actions.appendChild(edit);
      var discard = element("button", "button outbox-discard", text("discard"));
      discard.type = "button";
      discard.addEventListener("click", function () { discardEntry(entry); });
      actions.appendChild(discard);
    }
    if (actions.childNodes.length) { li.appendChild(actions); }
    return li;
  }

  async function discardEntry(entry) {
    if (!window.confirm(text("discard-confirm"))) { return; }
    await store.outboxDelete(entry.submission_id);
    // The household it would have recorded is not offered any more.
    await store.householdDelete("new:" + entry.submission_id);
    if (PortalOffline.updateBadge) { PortalOffline.updateBadge(); }
    await render();
  }

  var others = null;

  async function render() {
    var entries = await store.outboxOf(user);
    list.textContent = "";
    entries.forEach(function (entry) { list.appendChild(item(entry)); });
    empty.hidden = entries.length > 0;
    // Another login's visits are never shown, only said to be there.
    var foreign = await store.outboxOthers(user);
    if (foreign.length && !others) {
      others = element("p", "hint outbox-others", text("other-user"));
      others.id = "outbox-others";
      list.parentNode.insertBefore(others, list.nextSibling);
    }
    if (others) { others.hidden = foreign.length === 0; }
    document.documentElement.dataset.outbox = "ready";
  }

  function report(result) {
    if (!result || result.busy) { return; }
    status.textContent = "";
    var parts = [];
    if (result.leftTeam) {
      parts.push(text("left-team"));
    } else {
      if (result.sent) { parts.push(text("sent-count").replace("{count}", String(result.sent))); }
      if (result.offline) { parts.push(text("offline")); }
    }
    status.appendChild(document.createTextNode(parts.join(" ")));
    if (result.login) {
      status.appendChild(document.createTextNode((parts.length ? " " : "") + text("login") + " "));
      var link = element("a", null, text("login-link"));
      link.href = text("login-url");
      status.appendChild(link);
    }
  }

  if (sendButton) {
    sendButton.addEventListener("click", async function () {
      if (!PortalOffline.flushNow) { return; }
      sendButton.disabled = true;
      status.textContent = text("sending");
      try {
        // Waits for a send already under way elsewhere (the worker) rather than skip.
        report(await PortalOffline.flushNow({ wait: true, refresh: true }));
      } finally {
        sendButton.disabled = false;
        await render();
      }
    });
  }
  // Sends begun by page.js on load or by the worker: the list follows them.
  document.addEventListener("portaloffline:flushed", function (event) {
    report(event.detail);
    render();
  });
  document.addEventListener("portaloffline:changed", function () { render(); });

  render().catch(function () { empty.hidden = false; });
})();
