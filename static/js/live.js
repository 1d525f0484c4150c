/* Live seat counts: shows whether the page's WebSocket (htmx ws extension,
 * ws-connect in templates/fragments/_live_updates.html) is live or
 * reconnecting. The extension itself swaps the seat counts in and reconnects
 * with full-jitter exponential backoff; on every (re)connect the server sends
 * a fresh snapshot, so counts missed while away are repaired. Without
 * JavaScript the indicator stays hidden and the counts are as rendered. */
(function () {
  "use strict";

  var TEXT = {
    connecting: "Connecting to live seat counts\u2026",
    live: "Live: seat counts update as people book",
    reconnecting: "Reconnecting\u2026 seat counts may be out of date"
  };

  function show(event, state) {
    var socketElt = event.target;
    if (!socketElt || !socketElt.querySelector) {
      return;
    }
    var indicator = socketElt.querySelector(".live-indicator");
    if (!indicator) {
      return;
    }
    if (state === "connecting" && indicator.getAttribute("data-was-live") === "true") {
      state = "reconnecting";
    }
    if (state === "live") {
      indicator.setAttribute("data-was-live", "true");
    }
    if (indicator.getAttribute("data-live-state") === state && !indicator.hidden) {
      return;
    }
    indicator.hidden = false;
    indicator.setAttribute("data-live-state", state);
    var text = indicator.querySelector(".live-indicator__text");
    if (text) {
      text.textContent = TEXT[state];
    }
  }

  document.addEventListener("htmx:wsConnecting", function (e) { show(e, "connecting"); });
  document.addEventListener("htmx:wsOpen", function (e) { show(e, "live"); });
  document.addEventListener("htmx:wsClose", function (e) { show(e, "reconnecting"); });
  document.addEventListener("htmx:wsError", function (e) { show(e, "reconnecting"); });
})();
