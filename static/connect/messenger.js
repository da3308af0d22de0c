// Messenger's rules made visible in the desktop: the reply window counted
// down, the length limit shown before sending, typing and seen indicators for
// the customer, and bubbles kept in the order of Meta's timestamps.
(function () {
  "use strict";
  const TYPING_ON_EVERY_MS = 5000; // Messenger shows typing for ~20 s by itself
  const TYPING_IDLE_MS = 5000;
  const SEEN_EVERY_MS = 3000;
  const COUNTER_FROM = 500; // characters before the limit when the counter appears

  function selectedId() { return document.body.dataset.selected || ""; }

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; }
    catch (error) { return ""; }
  }

  // Sender actions are courtesies: their answer (or failure) is never shown.
  function post(url, values) {
    return fetch(url, {
      method: "POST",
      body: new URLSearchParams(values || {}),
      headers: { "X-CSRFToken": csrfToken() },
      credentials: "same-origin",
    }).catch(function () {});
  }

  function statusOf(form) { return form && form.querySelector(".composer-status"); }
  function canReply(status) { return !!status && status.dataset.canReply === "1"; }
  function composerId(form) {
    const match = /^composer-(\d+)$/.exec((form && form.id) || "");
    return match ? match[1] : "";
  }

  // --- the reply window -------------------------------------------------------

  function timeLeft(ms) {
    let seconds = Math.max(Math.floor(ms / 1000), 0);
    const days = Math.floor(seconds / 86400); seconds -= days * 86400;
    const hours = Math.floor(seconds / 3600); seconds -= hours * 3600;
    const minutes = Math.floor(seconds / 60); seconds -= minutes * 60;
    if (days) return days + " d " + hours + " h";
    if (hours) return hours + " h " + minutes + " min";
    if (minutes) return minutes + " min " + seconds + " s";
    return seconds + " s";
  }

  function closeComposer(countdown) {
    const status = countdown.closest(".composer-status");
    if (!status || status.dataset.canReply !== "1") return;
    status.dataset.canReply = "0";
    const send = status.querySelector("button[type=submit]");
    if (send) send.disabled = true;
    const textarea = status.closest("form") && status.closest("form").querySelector("textarea");
    if (textarea && status.dataset.canNote !== "1") textarea.disabled = true;
  }

  function updateCountdowns() {
    const now = Date.now();
    document.querySelectorAll(".window-countdown").forEach(function (countdown) {
      const responseEnds = Number(countdown.dataset.responseEnds);
      const closesAt = Number(countdown.dataset.closesAt);
      if (!responseEnds || !closesAt) return;
      let words, phase;
      if (now < responseEnds) {
        phase = "response";
        words = "Reply window: " + timeLeft(responseEnds - now) + " left";
      } else if (now < closesAt) {
        phase = "human_agent";
        words = "Human agent window: " + timeLeft(closesAt - now) + " left (replies carry the HUMAN_AGENT tag)";
      } else {
        phase = "closed";
        words = "The reply window closed on " + new Date(closesAt).toLocaleString() +
          " (7 days after the customer's last message): replies are no longer possible.";
        closeComposer(countdown);
      }
      countdown.dataset.phase = phase;
      if (countdown.textContent !== words) countdown.textContent = words;
    });
  }

  // --- the length limit ----------------------------------------------------------

  function checkLength(textarea) {
    const form = textarea.form;
    const status = statusOf(form);
    if (!status) return true;
    const max = Number(textarea.dataset.maxLength || 1999);
    const length = Array.from(textarea.value.trim()).length; // code points, as the server counts
    const over = length > max;
    const counter = status.querySelector(".char-count");
    if (counter) {
      counter.hidden = length < max - COUNTER_FROM;
      counter.classList.toggle("over", over);
      counter.textContent = over
        ? "Too long for Messenger: " + length + " characters, at most " + max + ". Shorten it by " + (length - max) + "."
        : length + " / " + max + " characters";
      if (over) counter.setAttribute("role", "alert"); else counter.removeAttribute("role");
    }
    textarea.setAttribute("aria-invalid", over ? "true" : "false");
    const send = status.querySelector("button[type=submit]");
    if (send) send.disabled = over || !canReply(status);
    return !over;
  }

  function checkAllLengths() {
    document.querySelectorAll(".composer textarea").forEach(checkLength);
  }

  // --- typing and seen -------------------------------------------------------------

  let typingFor = "";
  let typingSince = 0;
  let idleTimer = null;

  function stopTyping() {
    clearTimeout(idleTimer);
    if (typingFor) post("/interactions/" + typingFor + "/typing", { state: "off" });
    typingFor = "";
    typingSince = 0;
  }

  function typed(textarea) {
    const form = textarea.form;
    const id = composerId(form);
    if (!id || !canReply(statusOf(form))) return;
    if (!textarea.value.trim()) { stopTyping(); return; }
    const now = Date.now();
    if (typingFor !== id) { stopTyping(); typingFor = id; }
    if (now - typingSince >= TYPING_ON_EVERY_MS) {
      typingSince = now;
      post("/interactions/" + id + "/typing", { state: "on" });
    }
    clearTimeout(idleTimer);
    idleTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  const seenAt = {};
  function markSeen(force) {
    const id = selectedId();
    if (!id || document.visibilityState !== "visible") return;
    if (!canReply(document.getElementById("composer-status-" + id))) return;
    const now = Date.now();
    if (!force && seenAt[id] && now - seenAt[id] < SEEN_EVERY_MS) return;
    seenAt[id] = now;
    post("/interactions/" + id + "/seen");
  }

  // --- bubbles in timestamp order ------------------------------------------------------

  // A pushed bubble lands at the end; Meta's timestamp may put it earlier
  // (a delivery retried after a failure).
  function keepInOrder(log) {
    const bubbles = Array.from(log.children).filter(function (el) { return el.dataset && el.dataset.sentAt; });
    for (let i = 1; i < bubbles.length; i++) {
      const element = bubbles[i];
      const at = Number(element.dataset.sentAt);
      if (Number(bubbles[i - 1].dataset.sentAt) <= at) continue;
      let j = i - 1;
      while (j >= 0 && Number(bubbles[j].dataset.sentAt) > at) j--;
      bubbles[j + 1].before(element);
      bubbles.splice(i, 1);
      bubbles.splice(j + 1, 0, element);
    }
  }

  // --- wiring ---------------------------------------------------------------------------

  document.addEventListener("input", function (event) {
    const textarea = event.target;
    if (!textarea.matches || !textarea.matches(".composer textarea")) return;
    checkLength(textarea);
    typed(textarea);
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    const form = event.detail.elt;
    if (!form.matches || !form.matches("form.composer")) return;
    const textarea = form.querySelector("textarea");
    if (textarea && !checkLength(textarea)) { event.preventDefault(); return; }
    stopTyping(); // the message itself ends the typing indicator
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id === "workspace") { stopTyping(); markSeen(true); }
    checkAllLengths(); updateCountdowns();
  });

  document.addEventListener("htmx:oobAfterSwap", function (event) {
    const target = event.detail.target;
    if (target && target.classList && target.classList.contains("transcript")) {
      keepInOrder(target);
      if (target.id === "transcript-" + selectedId()) markSeen(false);
    }
    checkAllLengths(); updateCountdowns();
  });

  document.addEventListener("visibilitychange", function () { markSeen(false); });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".transcript").forEach(keepInOrder);
    checkAllLengths(); updateCountdowns(); markSeen(true);
    setInterval(updateCountdowns, 1000);
  });
})();
