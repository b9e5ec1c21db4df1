// Offers the households already recorded at the address being typed, in a <datalist>.
// The form works without this: a household is found again by its address on the server.
// What the server returns is also kept on the phone (static/js/offline/store.js), so
// that without a signal the list still offers the households this leader has met.
(function () {
  "use strict";
  var form = document.querySelector("form.visit-form[data-household-search-url]");
  if (!form || !window.fetch) { return; }
  var address = form.querySelector("[name=address_label]");
  var hamlet = form.querySelector("[name=hamlet]");
  var headName = form.querySelector("[name=head_name]");
  var list = document.getElementById(address && address.getAttribute("list"));
  if (!address || !hamlet || !list) { return; }
  var url = form.getAttribute("data-household-search-url");
  var offline = self.PortalOffline && self.PortalOffline.store;
  var user = document.body.getAttribute("data-offline-user");
  var MATCHES = 10;  // as many as the server's search returns
  var heads = {};
  var timer = null;
  var latest = 0;

  function fill(households) {
    list.textContent = "";
    heads = {};
    households.forEach(function (household) {
      var option = document.createElement("option");
      option.value = household.address_label;
      if (household.head_name) { option.label = household.head_name; }
      heads[household.address_label] = household.head_name;
      list.appendChild(option);
    });
  }

  function keep(hamletId, households) {
    if (!offline || !user) { return; }
    offline.householdsPut(user, households.map(function (h) {
      return { id: h.id, hamlet_id: hamletId, address_label: h.address_label, head_name: h.head_name };
    })).catch(function () { /* a full or refused storage only loses the offline list */ });
  }

  function fromPhone(hamletId, text, asked) {
    if (!offline || !user) { return; }
    offline.householdsMatching(user, hamletId, text, MATCHES).then(function (households) {
      if (asked === latest) { fill(households); }
    }).catch(function () {});
  }

  function search() {
    var text = address.value.trim();
    var hamletId = hamlet.value;
    if (!hamletId || !text) { fill([]); return; }
    var asked = ++latest;
    var query = "?hamlet=" + encodeURIComponent(hamletId) + "&q=" + encodeURIComponent(text);
    fetch(url + query, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("search refused"); }
        return response.json();
      })
      .then(function (households) {
        // An older answer arriving late must not replace a newer one.
        if (asked === latest) { fill(households); }
        keep(hamletId, households);
      })
      .catch(function () { fromPhone(hamletId, text, asked); });
  }

  address.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(search, 250);
  });
  // A household picked from the list brings its head's name, unless one was typed.
  address.addEventListener("change", function () {
    if (headName && !headName.value && heads[address.value]) {
      headName.value = heads[address.value];
    }
  });
  hamlet.addEventListener("change", function () { fill([]); search(); });
})();

// Says, as soon as the household declines to be recorded with an address or a name typed,
// that they will not be kept, and offers the box that confirms it. Without this the
// server says the same when the form is sent, and saves nothing until the box is ticked.
(function () {
  "use strict";
  var form = document.querySelector("form.visit-form");
  var notice = document.getElementById("address-dropped");
  if (!form || !notice) { return; }
  var declined = notice.getAttribute("data-declined");
  var typed = [form.querySelector("[name=address_label]"), form.querySelector("[name=head_name]")]
    .filter(function (field) { return field; });

  function update() {
    var answer = form.querySelector("[name=consent]:checked");
    notice.hidden = !(answer && answer.value === declined && typed.some(function (field) {
      return field.value.trim() !== "";
    }));
  }

  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
})();

// A new visit is kept on the phone before it is sent, so that no signal loses nothing.
// The submit is caught: the visit goes into the outbox (IndexedDB) under its submission
// id, then is posted as a JSON request (static/js/offline/outbox.js). Stored: the visit's
// page opens. Refused: the reasons show beside the fields and the visit waits in the
// outbox as "needs attention". No answer: it waits there, is sent later by itself, and
// the form is ready for the next house. Without JavaScript or IndexedDB the form posts
// as it always did.
(function () {
  "use strict";
  var form = document.querySelector("form.visit-form[data-choices-etag]");
  var PortalOffline = self.PortalOffline;
  var user = document.body.getAttribute("data-offline-user");
  if (!form || !user || !PortalOffline || !PortalOffline.store || !PortalOffline.send ||
      !window.fetch || !window.indexedDB) {
    return;
  }
  var store = PortalOffline.store;
  var texts = document.getElementById("offline-texts");
  var status = document.getElementById("offline-status");
  var alertBox = document.getElementById("offline-alert");
  var idField = form.querySelector("[name=submission_id]");
  var visitedOn = form.querySelector("[name=visited_on]");
  if (!texts || !status || !alertBox || !idField) { return; }

  var active = false;  // set once IndexedDB has opened: until then the form posts natively
  var pristine = false;  // reset after a visit was kept, and not touched since
  var replaces = null;  // an entry the server said conflicts: the corrected visit replaces it
  var sending = 0;  // posts of this page not answered yet
  var storedAt = null;  // the stored visit's page, opened once every post is answered
  // The page was kept by the service worker (templates/pwa/sw.js marks its copies).
  var keptCopy = document.documentElement.hasAttribute("data-offline-copy");
  var KEPT_FIELDS = ["visited_on", "hamlet", "members"];

  function text(name) {
    return texts.getAttribute("data-" + name) || "";
  }

  function newId() {
    if (self.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    // Older browsers: a version 4 UUID from the same random source.
    var bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  // The phone's today, in its own time zone, as a date input writes it.
  function today() {
    var now = new Date();
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return now.getFullYear() + "-" + pad(now.getMonth() + 1) + "-" + pad(now.getDate());
  }

  function fieldsNamed(name) {
    return Array.prototype.slice.call(form.querySelectorAll('[name="' + name + '"]'));
  }

  // --- Notices and errors ---------------------------------------------------------------

  function say(message) {
    status.textContent = message;
    status.hidden = !message;
  }

  // A reason at the top of the form (a conflict, a refusal, an ended session), with an
  // optional link.
  function alertWith(message, link, linkText) {
    alertBox.textContent = "";
    if (!message) { alertBox.hidden = true; return; }
    var line = document.createElement("p");
    line.textContent = message;
    if (link) {
      line.appendChild(document.createTextNode(" "));
      var anchor = document.createElement("a");
      anchor.href = link;
      anchor.textContent = linkText;
      line.appendChild(anchor);
    }
    alertBox.appendChild(line);
    alertBox.hidden = false;
  }

  function clearErrors() {
    Array.prototype.forEach.call(form.querySelectorAll(".field-error"), function (node) { node.remove(); });
    Array.prototype.forEach.call(form.querySelectorAll(".has-error"), function (node) {
      node.classList.remove("has-error");
      node.removeAttribute("aria-describedby");
    });
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (node) {
      node.removeAttribute("aria-invalid");
    });
    alertWith("");
  }

  // The server's errors beside their fields, in the markup the server's own page uses
  // (templates/core/_field.html, _choices.html), so the page reads the same either way.
  function showErrors(errors) {
    clearErrors();
    var general = [];
    var first = null;
    Object.keys(errors).forEach(function (name) {
      var messages = errors[name].join(" ");
      var inputs = name === "__all__" ? [] : fieldsNamed(name).filter(function (el) { return el.type !== "hidden"; });
      if (name === "submission_id") {
        // The page lost its id: a new one lets the same visit be sent again.
        idField.value = newId();
        general.push(text("incomplete"));
        return;
      }
      if (!inputs.length) { general.push(messages); return; }
      var box = inputs[0].closest("fieldset.choices") || inputs[0].closest(".field") || inputs[0].closest("div");
      var error = document.createElement("div");
      error.className = "field-error";
      error.id = "id_" + name + "_error";
      error.setAttribute("role", "alert");
      error.textContent = messages;
      box.classList.add("has-error");
      if (box.tagName === "FIELDSET") { box.setAttribute("aria-describedby", error.id); }
      inputs.forEach(function (input) { input.setAttribute("aria-invalid", "true"); });
      box.appendChild(error);
      first = first || box;
    });
    if (general.length) {
      alertWith(general.join(" "));
      first = alertBox;
    }
    if (first) { first.scrollIntoView({ block: "center" }); }
  }

  // --- The form's values ------------------------------------------------------------------

  function fieldsOf() {
    var fields = [];
    new FormData(form).forEach(function (value, name) {
      if (name !== "csrfmiddlewaretoken" && typeof value === "string") { fields.push([name, value]); }
    });
    return fields;
  }

  function fill(fields) {
    // From nothing: the page's defaults (today, the last visit's members) are not this visit's.
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name === "csrfmiddlewaretoken" || el.name === "submission_id") { return; }
      if (el.type === "checkbox" || el.type === "radio") { el.checked = false; }
      else if (el.type !== "submit" && el.type !== "button") { el.value = ""; }
    });
    fields.forEach(function (pair) {
      fieldsNamed(pair[0]).forEach(function (el) {
        if (el.type === "checkbox" || el.type === "radio") {
          if (el.value === pair[1]) { el.checked = true; }
        } else if (el.name !== "submission_id") {
          el.value = pair[1];
        }
      });
    });
    form.dispatchEvent(new Event("change"));
  }

  function labelOf(input) {
    var label = input.closest("label");
    return label ? label.textContent.trim() : input.value;
  }

  function valueOf(name) {
    var field = form.querySelector('[name="' + name + '"]');
    return field ? field.value.trim() : "";
  }

  // What the outbox page lists for the visit: no ids to look up, the words as shown.
  async function summaryOf() {
    var hamlet = form.querySelector("[name=hamlet]");
    var consent = form.querySelector("[name=consent]:checked");
    var notice = document.getElementById("address-dropped");
    var declined = Boolean(consent && notice && consent.value === notice.getAttribute("data-declined"));
    var address = declined ? "" : valueOf("address_label");
    // Read before anything is awaited: the form may be emptied for the next house meanwhile.
    var summary = {
      visited_on: valueOf("visited_on"),
      hamlet_name: hamlet.selectedIndex > 0 ? hamlet.options[hamlet.selectedIndex].text : "",
      address_label: address,
      head_name: declined ? "" : valueOf("head_name"),
      members: fieldsNamed("members").filter(function (m) { return m.checked; }).map(labelOf),
      new_household: false
    };
    if (address && hamlet.value) {
      var known = await store.householdKnown(user, hamlet.value, address).catch(function () { return true; });
      summary.new_household = !known;
    }
    return summary;
  }

  // Ready for the next house: the day, hamlet and members stay (a team walks a hamlet
  // together), the rest goes back to the page's defaults, under a fresh id.
  function resetForNext() {
    var kept = KEPT_FIELDS.map(function (name) {
      return fieldsNamed(name).map(function (el) {
        return { el: el, value: el.value, checked: el.checked };
      });
    });
    form.reset();
    kept.forEach(function (fields) {
      fields.forEach(function (f) {
        if (f.el.type === "checkbox" || f.el.type === "radio") { f.el.checked = f.checked; }
        else { f.el.value = f.value; }
      });
    });
    idField.value = newId();
    replaces = null;
    clearErrors();
    form.dispatchEvent(new Event("change"));
    pristine = true;
  }

  // --- Sending ----------------------------------------------------------------------------

  async function keepAndSend() {
    var sid = idField.value;
    var fields = fieldsOf();
    var hamletId = form.querySelector("[name=hamlet]").value;
    var token = form.querySelector("[name=csrfmiddlewaretoken]");
    var summaryRead = summaryOf();
    clearErrors();
    say(text("sending"));
    var before = await store.outboxGet(sid);
    var summary = await summaryRead;
    var entry = {
      submission_id: sid,
      user_id: user,
      team_id: form.getAttribute("data-offline-team"),
      fields: fields,
      summary: summary,
      state: "waiting",
      answer: null,
      reason: null,
      errors: null,
      visit_url: null,
      created_at: before ? before.created_at : null,
      attempts: before ? before.attempts : 0
    };
    // Kept first: whatever happens to the post, the visit is on the phone.
    await store.outboxPut(entry);
    if (replaces && replaces !== sid) {
      await store.outboxDelete(replaces);
      await store.householdDelete("new:" + replaces);
      replaces = null;
    }
    if (summary.new_household) {
      await store.householdsPut(user, [{
        key: "new:" + sid,
        hamlet_id: hamletId,
        address_label: summary.address_label,
        head_name: summary.head_name
      }]);
    }
    var answer;
    sending += 1;
    try {
      answer = await PortalOffline.send(entry, { token: token && token.value, foreground: true });
    } finally {
      sending -= 1;
    }
    if (answer.kind === "stored") { storedAt = answer.url || PortalOffline.urls.outbox; }
    if (storedAt) {
      // A double tap sends twice: the page opens once both are answered, so that no
      // answer arrives after it (each brings its "Visit saved." message).
      if (!sending) { location.assign(storedAt); }
      return;
    }
    say("");
    if (answer.kind === "invalid") {
      showErrors(answer.errors);
    } else if (answer.kind === "conflict") {
      // That id is stored with other content: what is on the page is sent as a new
      // visit, under a new id, once the leader has checked it (as the server's page does).
      alertWith(answer.reason, answer.visit_url, text("visit-before"));
      idField.value = newId();
      replaces = sid;
      alertBox.scrollIntoView({ block: "center" });
    } else if (answer.kind === "refused") {
      alertWith(answer.reason);
      alertBox.scrollIntoView({ block: "center" });
    } else {
      // No answer, or the session has ended: the visit waits on the phone.
      var waiting = await store.pendingCount(user).catch(function () { return 1; });
      resetForNext();
      if (answer.kind === "login") {
        alertWith(text("login"), text("login-url"), text("login-link"));
        say(text("saved-offline-count").replace("{count}", String(waiting)));
      } else {
        say(text("saved-offline") + " " + text("saved-offline-count").replace("{count}", String(waiting)));
        if (PortalOffline.requestSync) { PortalOffline.requestSync(); }
      }
      status.scrollIntoView({ block: "center" });
    }
    if (PortalOffline.updateBadge) { PortalOffline.updateBadge(); }
  }

  form.addEventListener("submit", function (event) {
    if (!active) { return; }
    event.preventDefault();
    // A second tap on a form just emptied for the next house is not a visit.
    if (pristine) { return; }
    keepAndSend().catch(function () {
      // The phone could not keep it: the form posts as it does without JavaScript.
      active = false;
      form.submit();
    });
  });
  // (resetForNext's own change event comes before it sets `pristine`.)
  form.addEventListener("input", function () { pristine = false; });
  form.addEventListener("change", function () { pristine = false; });

  // --- On load ------------------------------------------------------------------------

  // A kept page shows the choices of the day it was kept: the ones stored since, when
  // newer (the server's time of each), replace the hamlets, members and services.
  function rebuildChoices(data) {
    var hamlet = form.querySelector("select[name=hamlet]");
    if (hamlet && data.hamlets && data.hamlets.length) {
      var chosen = hamlet.value;
      Array.prototype.slice.call(hamlet.options).forEach(function (option) {
        if (option.value) { option.remove(); }
      });
      data.hamlets.forEach(function (h) { hamlet.add(new Option(h.name, String(h.id))); });
      hamlet.value = chosen;
      if (hamlet.value !== chosen) { hamlet.value = ""; }
    }
    rebuildChecks("members", (data.members || []).map(function (m) { return [m.id, m.name]; }));
    rebuildChecks("services", (data.services || []).map(function (s) { return [s.id, s.label]; }));
  }

  function rebuildChecks(name, options) {
    var inputs = fieldsNamed(name);
    if (!inputs.length || !options.length) { return; }
    var model = inputs[0].closest("label.choice");
    var fieldset = model.parentNode;
    var checked = inputs.filter(function (i) { return i.checked; }).map(function (i) { return i.value; });
    inputs.forEach(function (input) { input.closest("label.choice").remove(); });
    var before = fieldset.querySelector(".field-error");
    options.forEach(function (option, position) {
      var label = model.cloneNode(true);
      var input = label.querySelector("input");
      input.value = String(option[0]);
      input.id = "id_" + name + "_" + position;
      input.checked = checked.indexOf(String(option[0])) >= 0;
      label.htmlFor = input.id;
      label.querySelector("span").textContent = option[1];
      fieldset.insertBefore(label, before);
    });
  }

  async function fromOutbox(sid) {
    var entry = await store.outboxGet(sid);
    if (!entry || entry.user_id !== user || entry.state === "sent") { return; }
    fill(entry.fields);
    if (entry.answer === "conflict") {
      idField.value = newId();
      replaces = entry.submission_id;
      alertWith(entry.reason, entry.visit_url, text("visit-before"));
    } else {
      idField.value = entry.submission_id;
      if (entry.errors) { showErrors(entry.errors); }
      if (entry.reason) { alertWith(entry.reason); }
    }
    say(text("from-outbox"));
  }

  async function setUp() {
    await store.open();
    idField.value = newId();
    var now = today();
    if (visitedOn) {
      // The picker offers the phone's today even on a page kept from an earlier day.
      if (!visitedOn.max || visitedOn.max < now) { visitedOn.max = now; }
      if (keptCopy && visitedOn.value && visitedOn.value < now) { visitedOn.value = now; }
    }
    if (keptCopy) {
      var stored = await store.choices(user).catch(function () { return null; });
      var renderedAt = Number(form.getAttribute("data-rendered-at") || 0) * 1000;
      if (stored && stored.data && stored.etag !== form.getAttribute("data-choices-etag") &&
          stored.checked_at > renderedAt) {
        rebuildChoices(stored.data);
      }
    }
    var sid = new URLSearchParams(location.search).get("outbox");
    if (sid) { await fromOutbox(sid); }
    active = true;
    form.setAttribute("data-offline", "ready");
  }

  setUp().catch(function () { /* no IndexedDB here: the form posts natively */ });
})();
