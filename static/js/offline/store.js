// What the phone keeps for the visit form without a signal: the outbox of visits not yet
// stored by the server, the households the leader's searches returned, and the form's
// choices. One IndexedDB database, `portal-offline`, through the vendored idb library.
// A classic script that works in a page and in the service worker (importScripts), so
// that both read and write the same records the same way.
//
// Every user_id is kept as a string: the page reads it from <body data-offline-user>,
// the server sends it in the X-Portal-User header.
(function (scope) {
  "use strict";
  var PortalOffline = scope.PortalOffline = scope.PortalOffline || {};

  var DB_NAME = "portal-offline";
  var DB_VERSION = 1;
  // The most households kept: a commune's searched households fit with room to spare,
  // and a phone's storage is not the place for a whole district.
  var HOUSEHOLDS_KEPT = 5000;
  // A sent visit stays listed this long, so that the leader sees it went.
  var SENT_KEPT_MS = 24 * 60 * 60 * 1000;
  // The cache of pages the service worker keeps (templates/pwa/sw.js): a page shows the
  // login's name and team, so it goes with the login's other data.
  var PAGES_CACHE = "pages";

  var opening = null;

  function open() {
    if (!scope.idb || !scope.indexedDB) {
      return Promise.reject(new Error("IndexedDB is not available"));
    }
    if (!opening) {
      opening = scope.idb.openDB(DB_NAME, DB_VERSION, {
        upgrade: function (db) {
          var outbox = db.createObjectStore("outbox", { keyPath: "submission_id" });
          outbox.createIndex("user_id", "user_id");
          var households = db.createObjectStore("households", { keyPath: "key" });
          households.createIndex("user_id", "user_id");
          db.createObjectStore("meta", { keyPath: "key" });
        },
        // A newer version opened elsewhere (a later deploy's worker): step aside for it.
        blocking: function () {
          var closing = opening;
          opening = null;
          if (closing) { closing.then(function (db) { db.close(); }); }
        }
      });
      opening.catch(function () { opening = null; });
    }
    return opening;
  }

  // Search text as the server folds it (core/text.py fold): no marks, đ as d, lower
  // case, runs of spaces made one. "Số 12 ngõ Đình" and "so 12 ngo dinh" find one house.
  function fold(text) {
    return String(text || "")
      .replace(/[đĐ]/g, "d")
      .normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/\s+/g, " ")
      .trim();
  }

  // An address as the server tells two households apart (core/text.py name_key): marks kept.
  function nameKey(text) {
    return String(text || "").normalize("NFC").toLowerCase().replace(/\s+/g, " ").trim();
  }

  function userOf(value) {
    return value === undefined || value === null ? "" : String(value);
  }

  // --- The outbox --------------------------------------------------------------------

  async function outboxPut(entry) {
    entry.updated_at = Date.now();
    if (!entry.created_at) { entry.created_at = entry.updated_at; }
    await (await open()).put("outbox", entry);
    return entry;
  }

  // Writes an entry back only while it is still in the outbox: a send under way when
  // the leader logged out or discarded the visit must not bring it back to the phone.
  async function outboxUpdate(entry) {
    var tx = (await open()).transaction("outbox", "readwrite");
    var present = (await tx.store.getKey(entry.submission_id)) !== undefined;
    if (present) {
      entry.updated_at = Date.now();
      tx.store.put(entry);
    }
    await tx.done;
    return present;
  }

  async function outboxGet(submissionId) {
    return (await open()).get("outbox", submissionId);
  }

  async function outboxDelete(submissionId) {
    return (await open()).delete("outbox", submissionId);
  }

  // A login's entries, newest first. Sent ones older than a day are deleted on the way:
  // whoever reads the outbox keeps it short.
  async function outboxOf(userId) {
    var db = await open();
    var now = Date.now();
    var entries = await db.getAllFromIndex("outbox", "user_id", userOf(userId));
    var kept = [];
    for (var i = 0; i < entries.length; i += 1) {
      var entry = entries[i];
      if (entry.state === "sent" && now - entry.updated_at > SENT_KEPT_MS) {
        await db.delete("outbox", entry.submission_id);
      } else {
        kept.push(entry);
      }
    }
    return kept.sort(function (a, b) { return b.created_at - a.created_at; });
  }

  // Other logins' unsent entries: never shown in detail nor sent here, only counted.
  async function outboxOthers(userId) {
    var entries = await (await open()).getAll("outbox");
    return entries.filter(function (e) { return e.user_id !== userOf(userId) && e.state !== "sent"; });
  }

  // Still to reach the server: what the badge and the logout warning count.
  function isPending(entry) {
    return entry.state === "waiting" || entry.state === "sending" || entry.state === "attention";
  }

  async function pendingCount(userId) {
    return (await outboxOf(userId)).filter(isPending).length;
  }

  // --- Households --------------------------------------------------------------------

  // Households the server returned to a search, or met for the first time in a queued
  // visit (key "new:<submission id>"): the datalist falls back to them offline.
  async function householdsPut(userId, records) {
    if (!records.length) { return; }
    var db = await open();
    var now = Date.now();
    var tx = db.transaction("households", "readwrite");
    records.forEach(function (record, position) {
      tx.store.put({
        key: record.key || String(record.id),
        id: record.id || null,
        user_id: userOf(userId),
        hamlet_id: String(record.hamlet_id),
        address_label: record.address_label,
        head_name: record.head_name || "",
        folded: fold(record.address_label),
        // The answer's order kept, so that a trim keeps the best of the latest search.
        seen_at: now - position
      });
    });
    await tx.done;
    var count = await db.countFromIndex("households", "user_id", userOf(userId));
    // Trimmed in batches, not at every write: reading them all costs more than a few extra.
    if (count > HOUSEHOLDS_KEPT + 250) {
      var all = await db.getAllFromIndex("households", "user_id", userOf(userId));
      all.sort(function (a, b) { return a.seen_at - b.seen_at; });
      var trim = db.transaction("households", "readwrite");
      all.slice(0, all.length - HOUSEHOLDS_KEPT).forEach(function (h) { trim.store.delete(h.key); });
      await trim.done;
    }
  }

  async function householdsOf(userId, hamletId) {
    var all = await (await open()).getAllFromIndex("households", "user_id", userOf(userId));
    return all.filter(function (h) { return h.hamlet_id === String(hamletId); });
  }

  // The hamlet's households whose address starts like the text, as the server's search.
  async function householdsMatching(userId, hamletId, text, limit) {
    var folded = fold(text);
    var seen = {};
    return (await householdsOf(userId, hamletId))
      .filter(function (h) { return h.folded.indexOf(folded) === 0; })
      .sort(function (a, b) { return a.folded < b.folded ? -1 : a.folded > b.folded ? 1 : 0; })
      .filter(function (h) {
        // A new household queued offline and found since by a search: offered once.
        var key = nameKey(h.address_label);
        if (seen[key]) { return false; }
        seen[key] = true;
        return true;
      })
      .slice(0, limit);
  }

  // Whether the phone knows a household at that address (then the visit's is not new).
  async function householdKnown(userId, hamletId, address) {
    var key = nameKey(address);
    return (await householdsOf(userId, hamletId)).some(function (h) {
      return nameKey(h.address_label) === key;
    });
  }

  async function householdDelete(key) {
    return (await open()).delete("households", key);
  }

  // --- Meta: the owner and the choices -----------------------------------------------

  async function metaGet(key) {
    return (await open()).get("meta", key);
  }

  async function metaPut(record) {
    return (await open()).put("meta", record);
  }

  // The login that last opened a page on this phone (the worker sends its visits).
  async function owner() {
    var record = await metaGet("owner");
    return record ? record.user_id : null;
  }

  async function setOwner(userId) {
    return metaPut({ key: "owner", user_id: userOf(userId) });
  }

  // The choices stored for this login, or null.
  async function choices(userId) {
    var record = await metaGet("choices");
    return record && record.user_id === userOf(userId) ? record : null;
  }

  // `checkedAt`: when the server last said these were its choices (its own clock).
  async function setChoices(userId, etag, data, checkedAt) {
    return metaPut({ key: "choices", user_id: userOf(userId), etag: etag, data: data, checked_at: checkedAt });
  }

  async function touchChoices(userId, checkedAt) {
    var record = await choices(userId);
    if (record) {
      record.checked_at = checkedAt;
      await metaPut(record);
    }
  }

  async function deletePages() {
    return scope.caches ? scope.caches.delete(PAGES_CACHE) : false;
  }

  // Forgets what the phone keeps for the form: every household, the choices and the
  // cached pages (they show a login's name and team). `outbox: true` also deletes the
  // login's queued visits and its ownership: at logout and when it no longer leads a
  // team; never when another login merely opens a page.
  async function wipe(userId, options) {
    var user = userOf(userId);
    var withOutbox = Boolean(options && options.outbox);
    var db = await open();
    var tx = db.transaction(["outbox", "households", "meta"], "readwrite");
    var households = tx.objectStore("households");
    var meta = tx.objectStore("meta");
    var outbox = tx.objectStore("outbox");
    (await households.getAllKeys()).forEach(function (key) { households.delete(key); });
    (await meta.getAll()).forEach(function (record) {
      if (record.key === "owner" && !(withOutbox && record.user_id === user)) { return; }
      meta.delete(record.key);
    });
    if (withOutbox) {
      (await outbox.index("user_id").getAllKeys(user)).forEach(function (key) { outbox.delete(key); });
    }
    await tx.done;
    await deletePages();
  }

  PortalOffline.store = {
    open: open,
    fold: fold,
    nameKey: nameKey,
    outboxPut: outboxPut,
    outboxUpdate: outboxUpdate,
    outboxGet: outboxGet,
    outboxDelete: outboxDelete,
    outboxOf: outboxOf,
    outboxOthers: outboxOthers,
    isPending: isPending,
    pendingCount: pendingCount,
    householdsPut: householdsPut,
    householdsMatching: householdsMatching,
    householdKnown: householdKnown,
    householdDelete: householdDelete,
    metaGet: metaGet,
    metaPut: metaPut,
    owner: owner,
    setOwner: setOwner,
    choices: choices,
    setChoices: setChoices,
    touchChoices: touchChoices,
    deletePages: deletePages,
    wipe: wipe
  };
})(self);
