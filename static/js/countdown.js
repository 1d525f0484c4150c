/* Hold countdown: keeps "About N minutes left to pay." up to date.
 *
 * Reads the ISO time in data-expires-at on each element and rewrites the
 * element's text once a minute (on the minute boundary of the hold, not every
 * second), so a screen reader reading the polite live region hears at most one
 * update a minute. The server-rendered "held until 10:42am" stays the source
 * of truth; without JavaScript nothing is lost. */
(function () {
  "use strict";

  var MINUTE = 60 * 1000;

  function describe(msLeft) {
    if (msLeft <= 0) {
      return "Your hold has expired. Reload the page to check whether the seats are still free.";
    }
    var minutes = Math.ceil(msLeft / MINUTE);
    if (minutes <= 1) {
      return "Less than a minute left to pay.";
    }
    return "About " + minutes + " minutes left to pay.";
  }

  function start(element) {
    var expiresAt = Date.parse(element.getAttribute("data-expires-at"));
    if (isNaN(expiresAt)) {
      return;
    }
    function tick() {
      var msLeft = expiresAt - Date.now();
      var text = describe(msLeft);
      if (element.textContent !== text) {
        element.textContent = text;
      }
      if (msLeft > 0) {
        // Wake just after the next whole minute of time left ticks over.
        window.setTimeout(tick, (msLeft % MINUTE || MINUTE) + 50);
      }
    }
    tick();
  }

  function init() {
    var elements = document.querySelectorAll("[data-expires-at]");
    for (var i = 0; i < elements.length; i++) {
      start(elements[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
