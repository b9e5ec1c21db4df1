// Export links (a[data-download]): a large file is made while the reader waits, and a
// plain link shows nothing until the browser's download starts. This script fetches the
// file itself, says on the link that it is being prepared and how much has arrived, then
// hands it to the browser as a download. The size of a streamed export is not known in
// advance, so it counts what came, never a percentage. Without this script, or when
// anything goes wrong, the link is a plain download again.
(function () {
  "use strict";
  var texts = document.getElementById("download-texts");
  var status = document.getElementById("download-status");
  if (!texts || !status || !window.fetch || !window.Blob || !window.URL) { return; }
  var number = new Intl.NumberFormat(document.documentElement.lang || undefined, {
    maximumFractionDigits: 1,
  });

  function size(bytes) {
    return bytes < 1048576
      ? number.format(Math.max(1, Math.round(bytes / 1024))) + " kB"
      : number.format(bytes / 1048576) + " MB";
  }

  function show(link, text) {
    link.textContent = text;
    status.textContent = text;  // a polite live region: screen readers hear it too
  }

  function fileName(disposition, fallback) {
    var encoded = /filename\*=UTF-8''([^;]+)/i.exec(disposition || "");
    if (encoded) { return decodeURIComponent(encoded[1]); }
    var plain = /filename="?([^";]+)"?/i.exec(disposition || "");
    return plain ? plain[1] : fallback;
  }

  function read(response, link) {
    if (!response.body || !response.body.getReader) { return response.blob(); }
    var reader = response.body.getReader();
    var chunks = [];
    var received = 0;
    function next() {
      return reader.read().then(function (part) {
        if (part.done) {
          return new Blob(chunks, { type: response.headers.get("Content-Type") || "" });
        }
        chunks.push(part.value);
        received += part.value.length;
        show(link, texts.dataset.received.replace("{size}", size(received)));
        return next();
      });
    }
    return next();
  }

  function save(blob, name) {
    var url = URL.createObjectURL(blob);
    var anchor = document.createElement("a");
    anchor.href = url;
    anchor.download = name;
    anchor.hidden = true;
    document.body.appendChild(anchor);
    anchor.click();
    anchor.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
  }

  function download(link) {
    var label = link.textContent;
    link.setAttribute("aria-busy", "true");
    link.classList.add("preparing");
    show(link, texts.dataset.preparing);
    function done(text) {
      link.textContent = label;
      link.removeAttribute("aria-busy");
      link.classList.remove("preparing");
      status.textContent = text;
    }
    fetch(link.href, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        var name = fileName(response.headers.get("Content-Disposition"), "export");
        return read(response, link).then(function (blob) { save(blob, name); });
      })
      .then(
        function () { done(texts.dataset.done); },
        function () {
          // Let the browser and the server say what is wrong, as without this script.
          done("");
          window.location.assign(link.href);
        }
      );
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[data-download]") : null;
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey
        || event.altKey) { return; }
    event.preventDefault();
    // A second tap while the file is prepared does not start a second export.
    if (link.getAttribute("aria-busy") !== "true") { download(link); }
  });
})();
