// A new offer rings: a chime (WebAudio, no file), a desktop notification when
// the tab is not in front, and the count in the tab title (desktop.js). The
// agent can mute the chime; the choice is kept in this browser.
(function () {
  "use strict";
  const MUTE_KEY = "connect.alertSound";
  let audio = null;
  let alerting = null; // ids seen alerting so far; null until the page is read

  function muted() {
    try { return localStorage.getItem(MUTE_KEY) === "muted"; } catch (e) { return false; }
  }
  function setMuted(on) {
    try { localStorage.setItem(MUTE_KEY, on ? "muted" : "on"); } catch (e) { /* private mode */ }
    showMuted();
  }
  function showMuted() {
    const toggle = document.getElementById("alert-sound-toggle");
    if (!toggle) return;
    toggle.setAttribute("aria-pressed", muted() ? "true" : "false");
    toggle.title = muted() ? "Alert sound is muted: click to turn it on" : "Mute the alert sound";
  }

  // Browsers start audio only after a gesture on the page: make the context on
  // the first click or key press, so that later chimes may play.
  function unlockAudio() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    if (!audio) audio = new Context();
    if (audio.state === "suspended") audio.resume();
  }
  document.addEventListener("pointerdown", unlockAudio, { capture: true });
  document.addEventListener("keydown", unlockAudio, { capture: true });

  function chime() {
    const body = document.body;
    body.dataset.chimes = String(Number(body.dataset.chimes || 0) + 1);
    if (!audio || audio.state !== "running") return;
    const now = audio.currentTime;
    // Two soft notes, a fifth apart: noticeable, not alarming.
    [[880, 0], [1318.5, 0.16]].forEach(function (note) {
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.type = "sine";
      oscillator.frequency.value = note[0];
      gain.gain.setValueAtTime(0.0001, now + note[1]);
      gain.gain.exponentialRampToValueAtTime(0.25, now + note[1] + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + note[1] + 0.45);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start(now + note[1]);
      oscillator.stop(now + note[1] + 0.5);
    });
  }

  function inFront() { return document.visibilityState === "visible" && document.hasFocus(); }

  function notify(row) {
    if (!("Notification" in window) || Notification.permission !== "granted" || inFront()) return;
    const name = row.querySelector(".row-name");
    const notification = new Notification("New Facebook DM", {
      body: (name ? name.textContent.trim() : "A customer") + " is waiting for you.",
      tag: "connect-interaction-" + row.dataset.interactionId,
    });
    const body = document.body;
    body.dataset.notifications = String(Number(body.dataset.notifications || 0) + 1);
    notification.onclick = function () {
      window.focus();
      const link = row.isConnected ? row.querySelector(".row-link") : document.querySelector('#interaction-' + row.dataset.interactionId + ' .row-link');
      if (link) link.click();
      notification.close();
    };
  }

  // Several tabs of one agent: only the first to see an offer rings for it.
  function firstToRing(id) {
    const key = "connect.rang." + id;
    try {
      const seen = Number(localStorage.getItem(key) || 0);
      if (Date.now() - seen < 5000) return false;
      localStorage.setItem(key, String(Date.now()));
    } catch (e) { /* no storage: ring anyway */ }
    return true;
  }

  function checkAlerts() {
    const rows = Array.from(document.querySelectorAll('#my-interactions .interaction-row[data-state="alerting"]'));
    const now = new Set(rows.map(function (row) { return row.dataset.interactionId; }));
    if (alerting !== null) {
      const fresh = rows.filter(function (row) { return !alerting.has(row.dataset.interactionId); });
      if (fresh.length && fresh.some(function (row) { return firstToRing(row.dataset.interactionId); })) {
        if (!muted()) chime();
        fresh.forEach(notify);
      }
    }
    alerting = now;
  }

  function showNotificationButton() {
    const button = document.getElementById("enable-notifications");
    if (!button) return;
    button.hidden = !("Notification" in window) || Notification.permission !== "default";
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("#alert-sound-toggle")) { setMuted(!muted()); return; }
    if (event.target.closest("#enable-notifications")) {
      Notification.requestPermission().then(showNotificationButton);
    }
  });

  document.addEventListener("htmx:oobAfterSwap", checkAlerts);
  document.addEventListener("htmx:afterSettle", checkAlerts);
  document.addEventListener("DOMContentLoaded", function () {
    showMuted();
    showNotificationButton();
    checkAlerts();
  });
})();
