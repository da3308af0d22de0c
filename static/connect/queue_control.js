// Queue control in the browser: the "On hold for 2:15" clock ticks on from the
// server's count of seconds (counted from when the element arrived, so a
// wrong clock on the agent's machine does not matter). A pushed head brings a
// fresh count and starts over.
(function () {
  "use strict";

  function two(n) { return (n < 10 ? "0" : "") + n; }

  function clock(seconds) {
    const hours = Math.floor(seconds / 3600);
    const minutes = Math.floor((seconds % 3600) / 60);
    const rest = seconds % 60;
    return hours ? hours + ":" + two(minutes) + ":" + two(rest) : minutes + ":" + two(rest);
  }

  function tickHeldClocks() {
    const now = Date.now();
    document.querySelectorAll(".held-for[data-held-seconds]").forEach(function (element) {
      if (!element.dataset.heldSince) {
        element.dataset.heldSince = String(now - Number(element.dataset.heldSeconds) * 1000);
      }
      const seconds = Math.max(0, Math.floor((now - Number(element.dataset.heldSince)) / 1000));
      const shown = element.querySelector(".held-clock");
      if (shown && shown.textContent !== clock(seconds)) shown.textContent = clock(seconds);
    });
  }

  // After-contact work counts down the same way; at zero the timers end it and push the head.
  function tickAfterContact() {
    const now = Date.now();
    document.querySelectorAll(".after-contact[data-left-seconds]").forEach(function (element) {
      if (!element.dataset.endsAt) {
        element.dataset.endsAt = String(now + Number(element.dataset.leftSeconds) * 1000);
      }
      const seconds = Math.max(0, Math.ceil((Number(element.dataset.endsAt) - now) / 1000));
      const shown = element.querySelector(".after-contact-clock");
      if (shown && shown.textContent !== clock(seconds)) shown.textContent = clock(seconds);
    });
  }
  setInterval(tickAfterContact, 1000);
  document.addEventListener("htmx:afterSettle", tickAfterContact);
  document.addEventListener("htmx:oobAfterSwap", tickAfterContact);

  // An inactivity warning counts down to the return to the queue (or the disconnect).
  function tickInactivity() {
    const now = Date.now();
    document.querySelectorAll(".inactivity-warning[data-left-seconds]").forEach(function (element) {
      if (!element.dataset.endsAt) {
        element.dataset.endsAt = String(now + Number(element.dataset.leftSeconds) * 1000);
      }
      const seconds = Math.max(0, Math.ceil((Number(element.dataset.endsAt) - now) / 1000));
      const shown = element.querySelector(".inactivity-clock");
      if (shown && shown.textContent !== clock(seconds)) shown.textContent = clock(seconds);
    });
  }
  setInterval(tickInactivity, 1000);
  document.addEventListener("htmx:afterSettle", tickInactivity);
  document.addEventListener("htmx:oobAfterSwap", tickInactivity);

  document.addEventListener("DOMContentLoaded", tickHeldClocks);
  document.addEventListener("htmx:afterSettle", tickHeldClocks);
  document.addEventListener("htmx:oobAfterSwap", tickHeldClocks);
  setInterval(tickHeldClocks, 1000);
})();
