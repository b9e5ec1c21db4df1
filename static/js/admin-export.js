// Django admin's export page (templates/admin/import_export/export.html): the "select
// all" box ticks or unticks every column, through django-import-export's own function,
// bound here because the Content-Security-Policy refuses inline event handlers.
document.addEventListener("DOMContentLoaded", () => {
  const toggle = document.querySelector("#select-all-toggle");
  if (toggle && typeof onSelectToggleChange === "function") {
    toggle.addEventListener("change", onSelectToggleChange);
  }
});
