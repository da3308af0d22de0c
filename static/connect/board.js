// The live board: ticking clocks between pushes, the connection banner,
// the transfer dialog. Everything else is htmx and the pushed fragments.
(function () {
  "use strict";

  function format(total) {
    total = Math.max(0, Math.floor(total));
    const hours = Math.floor(total / 3600), minutes = Math.floor((total % 3600) / 60), seconds = total % 60;
    const pad = function (n) { return String(n).padStart(2, "0"); };
    return hours ? hours + ":" + pad(minutes) + ":" + pad(seconds) : minutes + ":" + pad(seconds);
  }

  // Each clock counts on from the seconds the server rendered, on the
  // browser's own clock, so no skew between the two matters. Pushed boards
  // bring new clocks: each tick starts the ones it has not seen.
  function tick() {
    const now = Date.now();
    document.querySelectorAll(".clock[data-seconds]").forEach(function (clock) {
      if (!clock.dataset.base) clock.dataset.base = String(now - Number(clock.dataset.seconds) * 1000);
      clock.textContent = format((now - Number(clock.dataset.base)) / 1000);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { tick(); setInterval(tick, 1000); });
  document.addEventListener("htmx:wsAfterMessage", tick);

  document.addEventListener("htmx:wsOpen", function () {
    document.body.dataset.live = "connected";
    // The board consumer pushes a fresh board on every (re)connect.
    document.getElementById("connection-banner").hidden = true;
  });
  document.addEventListener("htmx:wsClose", function () {
    document.body.dataset.live = "lost";
    document.getElementById("connection-banner").hidden = false;
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id !== "dialog-slot") return;
    const dialog = event.detail.target.querySelector("dialog");
    if (dialog) dialog.showModal();
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    const dialog = event.detail.elt.closest && event.detail.elt.closest("dialog");
    if (dialog && event.detail.successful) dialog.close();
  });
  document.addEventListener("click", function (event) {
    const close = event.target.closest("[data-close-dialog]");
    if (close) close.closest("dialog").close();
  });
})();
