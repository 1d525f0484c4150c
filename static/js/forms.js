/* Inline field checks: a field with data-validate asks the server (htmx) whether
 * its value is valid; the answer's X-Field-Valid header says so. This marks the
 * field aria-invalid and its .field wrapper with .field--error accordingly.
 * A listener here rather than an hx-on attribute: the Content-Security-Policy
 * allows no inline script, and htmx evaluates hx-on with eval. */
(function () {
  "use strict";

  document.addEventListener("htmx:afterRequest", function (event) {
    var el = event.detail && event.detail.elt;
    if (!el || !el.dataset || !el.dataset.validate || !event.detail.xhr) {
      return;
    }
    var bad = event.detail.xhr.getResponseHeader("X-Field-Valid") === "false";
    if (bad) {
      el.setAttribute("aria-invalid", "true");
    } else {
      el.removeAttribute("aria-invalid");
    }
    var field = el.closest(".field");
    if (field) {
      field.classList.toggle("field--error", bad);
    }
  });
})();

/* Filter forms show what the URL says. htmx restores an earlier page from its
 * history snapshot on Back/Forward, and a snapshot keeps the selects' markup,
 * not the value chosen since: without this the town select of /sessions?town=York
 * would show "All towns" beside York's results. */
(function () {
  "use strict";

  function syncFiltersWithUrl() {
    var params = new URLSearchParams(window.location.search);
    document.querySelectorAll("form.filters select[name]").forEach(function (select) {
      var wanted = (params.get(select.name) || "").toLowerCase();
      var match = Array.prototype.find.call(select.options, function (option) {
        return option.value.toLowerCase() === wanted;
      });
      select.value = match ? match.value : "";
    });
  }

  document.addEventListener("htmx:historyRestore", syncFiltersWithUrl);
  window.addEventListener("pageshow", syncFiltersWithUrl);
})();

/* After a failed submit, focus moves to the error summary ("There is a problem",
 * rendered by _forms.html with tabindex="-1"), so a screen reader announces it
 * and the keyboard starts from its links to the fields. On a page load, and after
 * an htmx swap that a submit caused; not after swaps from typing or changing a
 * select, which would pull focus away from the field being edited. */
(function () {
  "use strict";

  function focusErrorSummary() {
    var summary = document.querySelector(".error-summary");
    if (summary) {
      summary.focus();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusErrorSummary);
  } else {
    focusErrorSummary();
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var config = event.detail && event.detail.requestConfig;
    var trigger = config && config.triggeringEvent;
    if (trigger && trigger.type === "submit") {
      focusErrorSummary();
    }
  });
})();
