// The conversation: older messages on demand without a jump, a "new messages"
// pill instead of yanking the reader down, unread marks cleared while the
// agent has the conversation in front of them, and drafts that survive the
// composer being redrawn (hold, pickup, a reload).
(function () {
  "use strict";

  function selectedId() { return document.body.dataset.selected || ""; }
  function openTranscript() {
    const id = selectedId();
    return id ? document.getElementById("transcript-" + id) : null;
  }
  function nearBottom(log) { return log.scrollHeight - log.scrollTop - log.clientHeight < 120; }
  function messageId(element) {
    const match = /^message-(\d+)$/.exec(element.id || "");
    return match ? Number(match[1]) : null;
  }

  // --- older messages -----------------------------------------------------------

  // Keep the reader's place: what was on screen stays on screen while older
  // messages are added above it.
  let keep = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    const button = event.detail.target;
    if (!button || !button.classList || !button.classList.contains("load-older")) return;
    const log = button.closest(".transcript");
    keep = log ? { log: log, fromBottom: log.scrollHeight - log.scrollTop } : null;
  });
  document.addEventListener("htmx:afterSwap", function () {
    if (!keep) return;
    const log = keep.log;
    log.scrollTop = log.scrollHeight - keep.fromBottom;
    keep = null;
    const first = log.querySelector(".bubble[id^='message-'], [id^='message-']");
    if (first) log.dataset.oldestId = String(messageId(first) || log.dataset.oldestId || "");
    if (!log.querySelector(".load-older")) delete log.dataset.hasOlder;
  });

  // Scrolling up to the top loads the next page by itself (the button stays
  // for keyboards and screen readers).
  const lastTop = new WeakMap();
  document.addEventListener("scroll", function (event) {
    const log = event.target;
    if (!log.classList || !log.classList.contains("transcript")) return;
    const previous = lastTop.has(log) ? lastTop.get(log) : log.scrollTop;
    lastTop.set(log, log.scrollTop);
    if (log.scrollTop < previous && log.scrollTop < 80) {
      const button = log.querySelector(":scope > .load-older");
      if (button && !button.classList.contains("htmx-request")) button.click();
    }
    if (nearBottom(log)) hidePill(log);
  }, true);

  // A pushed bubble older than the first one shown belongs to the part not
  // loaded yet: it appears when that part loads, not at the bottom.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    const target = event.detail.target;
    if (!target || !target.classList || !target.classList.contains("transcript")) return;
    if (!target.hasAttribute("data-has-older")) return;
    const oldest = Number(target.dataset.oldestId || 0);
    Array.from((event.detail.fragment && event.detail.fragment.children) || []).forEach(function (element) {
      const id = messageId(element);
      if (id !== null && oldest && id < oldest && !document.getElementById(element.id)) element.remove();
    });
  });

  // --- new messages while reading further up --------------------------------------

  function pillFor(log, create) {
    const conversation = log.closest(".conversation");
    if (!conversation) return null;
    let holder = conversation.querySelector(":scope > .new-messages-holder");
    if (!holder && create) {
      holder = document.createElement("div");
      holder.className = "new-messages-holder";
      holder.innerHTML = '<button type="button" class="new-messages">New messages <span aria-hidden="true">↓</span></button>';
      log.after(holder);
    }
    return holder && holder.querySelector(".new-messages");
  }
  function hidePill(log) {
    const pill = pillFor(log, false);
    if (pill) pill.parentElement.remove();
  }

  let readTimer = null;
  let readUpTo = null;
  function markRead(upTo) {
    const id = selectedId();
    const row = document.getElementById("interaction-" + id);
    if (!id || !row) return; // not in My Interactions (e.g. a queued one): nothing to mark
    if (upTo) readUpTo = Math.max(readUpTo || 0, upTo);
    clearTimeout(readTimer);
    readTimer = setTimeout(function () {
      const values = readUpTo ? { up_to: String(readUpTo) } : {};
      readUpTo = null;
      htmx.ajax("POST", "/interactions/" + id + "/read", { values: values, swap: "none" });
    }, 250);
  }

  document.addEventListener("htmx:oobAfterSwap", function (event) {
    const target = event.detail.target;
    if (!target || !target.classList || !target.classList.contains("transcript")) return;
    if (target !== openTranscript()) return;
    const bubbles = target.querySelectorAll(":scope > .bubble");
    const newest = bubbles[bubbles.length - 1];
    if (!newest) return;
    if (newest.classList.contains("customer")) {
      if (!nearBottom(target) && target.scrollHeight > target.clientHeight) {
        const pill = pillFor(target, true);
        if (pill) pill.hidden = false;
      }
      if (document.visibilityState === "visible") markRead(messageId(newest));
    }
  });

  document.addEventListener("click", function (event) {
    const pill = event.target.closest(".new-messages");
    if (!pill) return;
    const log = pill.closest(".conversation").querySelector(".transcript");
    log.scrollTo({ top: log.scrollHeight, behavior: "smooth" });
    pill.parentElement.remove();
  });

  // Back to the tab: what is on screen now counts as read.
  function readIfUnread() {
    if (document.visibilityState !== "visible") return;
    const row = document.getElementById("interaction-" + selectedId());
    if (row && row.classList.contains("has-unread")) markRead(null);
  }
  document.addEventListener("visibilitychange", readIfUnread);
  window.addEventListener("focus", readIfUnread);

  // --- the customer panel: copy the PSID ------------------------------------------------

  document.addEventListener("click", function (event) {
    const button = event.target.closest(".copy-text");
    if (!button) return;
    const toast = document.getElementById("desk-toast");
    const done = function (words) { if (toast) toast.textContent = words; setTimeout(function () { if (toast) toast.textContent = ""; }, 2500); };
    if (!navigator.clipboard) { done("Copying is not available in this browser."); return; }
    navigator.clipboard.writeText(button.dataset.copy).then(
      function () { done(button.getAttribute("aria-label").replace("Copy", "Copied") + "."); },
      function () { done("Could not copy: select the text instead."); }
    );
  });

  // --- drafts --------------------------------------------------------------------------

  function draftKey(textarea) {
    const form = textarea.form;
    const match = /^composer-(\d+)$/.exec((form && form.id) || "");
    return match ? "connect.draft." + match[1] : null;
  }
  function remember(key, text) {
    try {
      if (text) sessionStorage.setItem(key, text); else sessionStorage.removeItem(key);
    } catch (e) { /* storage full or off: the draft lives as long as the box */ }
  }
  document.addEventListener("input", function (event) {
    const textarea = event.target;
    if (!textarea.matches || !textarea.matches(".composer textarea[name=text]")) return;
    const key = draftKey(textarea);
    if (key) remember(key, textarea.value);
  });
  // Sending (or Add note) takes the draft away (a refused one comes back with its text).
  document.addEventListener("htmx:beforeRequest", function (event) {
    const elt = event.detail.elt;
    const form = elt.matches && elt.matches(".add-note") ? elt.closest("form.composer") : elt;
    if (!form || !form.matches || !form.matches("form.composer")) return;
    const textarea = form.querySelector("textarea[name=text]");
    if (textarea) remember(draftKey(textarea), "");
  });
  function restoreDrafts() {
    document.querySelectorAll(".composer textarea[name=text]").forEach(function (textarea) {
      const key = draftKey(textarea);
      if (!key || textarea.value) return;
      let draft = null;
      try { draft = sessionStorage.getItem(key); } catch (e) { /* no storage */ }
      if (draft) textarea.value = draft;
    });
  }
  document.addEventListener("htmx:afterSwap", restoreDrafts);
  document.addEventListener("htmx:oobAfterSwap", restoreDrafts);
  document.addEventListener("DOMContentLoaded", restoreDrafts);
})();
