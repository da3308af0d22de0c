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

  // The Monitor view: the board's socket follows the interaction it shows.
  let socket = null;
  function monitored() {
    const dialog = document.querySelector("dialog[data-monitor][open]");
    return dialog ? Number(dialog.dataset.monitor) : null;
  }
  function tellMonitor() {
    if (socket) socket.send(JSON.stringify({ monitor: monitored() }));
  }

  // Who asked for help: a desktop notification for each new request, when the tab is behind.
  let helpSeen = null;
  function noticeHelp() {
    const now = new Set();
    document.querySelectorAll(".needs-help[data-interaction-id]").forEach(function (badge) {
      now.add(badge.dataset.interactionId);
      if (helpSeen === null || helpSeen.has(badge.dataset.interactionId)) return;
      document.body.dataset.helpNotices = String(Number(document.body.dataset.helpNotices || 0) + 1);
      const inFront = document.visibilityState === "visible" && document.hasFocus();
      if (inFront || !("Notification" in window) || Notification.permission !== "granted") return;
      const row = badge.closest("tr");
      const who = row ? row.querySelector(".customer").firstChild.textContent.trim() : "An agent";
      new Notification("Needs help", { body: who + ": the agent asks for help.", tag: "connect-help-" + badge.dataset.interactionId });
    });
    helpSeen = now;
  }
  document.addEventListener("DOMContentLoaded", noticeHelp);
  document.addEventListener("htmx:wsAfterMessage", noticeHelp);

  document.addEventListener("htmx:wsOpen", function (event) {
    socket = event.detail.socketWrapper;
    tellMonitor();
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
    if (!dialog) return;
    dialog.showModal();
    if (dialog.dataset.monitor) {
      const log = dialog.querySelector(".transcript");
      if (log) log.scrollTop = log.scrollHeight;
      dialog.addEventListener("close", tellMonitor);
      tellMonitor();
    }
  });
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    const log = event.detail.target;
    if (log && log.classList && log.classList.contains("monitor-transcript")) log.scrollTop = log.scrollHeight;
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    const elt = event.detail.elt;
    const dialog = elt.closest && elt.closest("dialog");
    if (!dialog || !event.detail.successful) return;
    if (elt.closest(".coach-form")) {
      // Coaching sent: the view stays open, the box empties.
      const box = elt.closest(".coach-form").querySelector("textarea");
      if (box) box.value = "";
      return;
    }
    dialog.close();
  });
  document.addEventListener("click", function (event) {
    const close = event.target.closest("[data-close-dialog]");
    if (close) close.closest("dialog").close();
    const toggle = event.target.closest("[data-coach-toggle]");
    if (toggle) {
      const form = document.getElementById(toggle.getAttribute("aria-controls"));
      const open = form.hidden;
      form.hidden = !open;
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      if (open) form.querySelector("textarea").focus();
    }
  });
})();
