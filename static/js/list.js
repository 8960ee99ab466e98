/* The relations list's bulk bar, as progressive enhancement (the server refuses an empty selection
   on its own): the bulk buttons stay disabled until something is selected, "select all on this
   page" ticks every row, and "all N matching" stands for every row of the filters. Delegated from
   the document, so rows that htmx swaps in (search, paging) work without setting anything up. */
(function () {
  "use strict";

  function rows(form) {
    return Array.prototype.slice.call(form.querySelectorAll('input[type="checkbox"][name="ids"]'));
  }

  function refresh(form) {
    var boxes = rows(form);
    var checked = boxes.filter(function (box) { return box.checked; }).length;
    var matching = form.querySelector("[data-select-matching]");
    var all = matching && matching.checked;
    var page = form.querySelector("[data-select-page]");
    if (page) {
      page.hidden = false;
      page.checked = boxes.length > 0 && checked === boxes.length;
      page.indeterminate = checked > 0 && checked < boxes.length;
      page.disabled = all;
    }
    boxes.forEach(function (box) { box.disabled = all; });
    form.querySelectorAll('button[name="action"]').forEach(function (button) {
      button.disabled = !all && checked === 0;
    });
    var status = form.querySelector("[data-selection-count]");
    if (status) {
      var template = status.getAttribute(checked === 1 ? "data-one" : "data-many") || "";
      status.textContent = all || checked === 0 ? "" : template.replace("%(count)s", checked);
      status.hidden = status.textContent === "";
    }
  }

  function refreshAll() {
    document.querySelectorAll("form[data-bulk-form]").forEach(refresh);
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    var form = target.closest && target.closest("form[data-bulk-form]");
    if (!form) {
      return;
    }
    if (target.hasAttribute("data-select-page")) {
      rows(form).forEach(function (box) { box.checked = target.checked; });
    }
    refresh(form);
  });
  document.addEventListener("DOMContentLoaded", refreshAll);
  document.addEventListener("htmx:afterSettle", refreshAll);
  // Back/forward restores a page from the cache with the boxes as they were.
  window.addEventListener("pageshow", refreshAll);
})();
