// Service-level clocks (and the reply window, which shares their colours):
// each element carries the seconds left and the seconds until it turns amber,
// as the server counted them when it rendered it. From the moment the element
// arrives the browser counts on by itself, every second: the label says how
// long is left (or how late it is) and data-level turns ok → near → past.
// A pushed list brings fresh counts; nothing is sent as time passes.
(function () {
  "use strict";

  // The same words as connect/templatetags/messenger.py time_left.
  function timeLeft(seconds) {
    seconds = Math.max(Math.floor(seconds), 0);
    const days = Math.floor(seconds / 86400); seconds -= days * 86400;
    const hours = Math.floor(seconds / 3600); seconds -= hours * 3600;
    const minutes = Math.floor(seconds / 60); seconds -= minutes * 60;
    if (days) return days + " d " + hours + " h";
    if (hours) return hours + " h " + minutes + " min";
    if (minutes) return minutes + " min " + seconds + " s";
    return seconds + " s";
  }

  function tick() {
    const now = Date.now();
    document.querySelectorAll("[data-clock-left]").forEach(function (clock) {
      if (!clock.dataset.clockDue) {
        clock.dataset.clockDue = String(now + Number(clock.dataset.clockLeft) * 1000);
        clock.dataset.clockNearAt = String(now + Number(clock.dataset.clockNear) * 1000);
        if (clock.dataset.thenLeft) {
          clock.dataset.thenDue = String(now + Number(clock.dataset.thenLeft) * 1000);
          clock.dataset.thenNearAt = String(now + Number(clock.dataset.thenNear) * 1000);
        }
      }
      // A clock with a next stage (the reply window: 24 h, then the HUMAN_AGENT days)
      // moves on to it when its own time is up.
      if (clock.dataset.thenDue && now >= Number(clock.dataset.clockDue)) {
        clock.dataset.clockDue = clock.dataset.thenDue;
        clock.dataset.clockNearAt = clock.dataset.thenNearAt;
        const label = clock.querySelector(".sla-clock-label");
        if (label && clock.dataset.thenLabel) label.textContent = clock.dataset.thenLabel;
        const time = clock.querySelector("time");
        if (time) time.setAttribute("datetime", new Date(Number(clock.dataset.thenDue)).toISOString());
        delete clock.dataset.thenDue;
      }
      const due = Number(clock.dataset.clockDue);
      const level = now >= due ? "past" : now >= Number(clock.dataset.clockNearAt) ? "near" : "ok";
      if (clock.dataset.level !== level) clock.dataset.level = level;
      const shown = clock.querySelector(".sla-clock-time");
      if (!shown) return; // the reply window writes its own words (messenger.js)
      const left = Math.ceil((due - now) / 1000);
      const words = left > 0 ? timeLeft(left) + " left" : timeLeft(-left) + " over";
      if (shown.textContent !== words) shown.textContent = words;
    });
  }

  document.addEventListener("DOMContentLoaded", function () { tick(); setInterval(tick, 1000); });
  document.addEventListener("htmx:afterSettle", tick);
  document.addEventListener("htmx:oobAfterSwap", tick);
  document.addEventListener("htmx:wsAfterMessage", tick);
})();
