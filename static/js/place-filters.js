// Filter bars whose place choices narrow one another (district, then commune, then its
// hamlets and members): choosing a place sends the form at once, so that the next
// choices are those of the place chosen. A select marked data-clears="commune hamlet"
// empties those fields first, since what was chosen in the former place does not belong
// to the new one. Without this script the form's own button does the same, one step at
// a time.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.matches || !select.matches("select[data-clears]") || !select.form) { return; }
    var form = select.form;
    select.dataset.clears.split(" ").forEach(function (name) {
      var field = name && form.elements.namedItem(name);
      if (field) { field.value = ""; }
    });
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
  });
})();
