// Offers the households already recorded at the address being typed, in a <datalist>.
// The form works without this: a household is found again by its address on the server.
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

  function search() {
    var text = address.value.trim();
    if (!hamlet.value || !text) { fill([]); return; }
    var asked = ++latest;
    var query = "?hamlet=" + encodeURIComponent(hamlet.value) + "&q=" + encodeURIComponent(text);
    fetch(url + query, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : []; })
      .then(function (households) {
        // An older answer arriving late must not replace a newer one.
        if (asked === latest) { fill(households); }
      })
      .catch(function () { /* offline: typing the address still works */ });
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
