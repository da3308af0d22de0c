// Small behaviours htmx does not cover: upserting pushed bubbles, selection,
// the connection banner and resync, Enter to send, stored responses, dialogs.
(function () {
  "use strict";
  let lostConnection = false;

  function selectedId() { return document.body.dataset.selected || ""; }

  function markSelected() {
    const id = selectedId();
    document.querySelectorAll(".interaction-row").forEach(function (row) {
      row.setAttribute("aria-current", row.dataset.interactionId === id ? "true" : "false");
    });
  }

  function syncComposer() {
    document.querySelectorAll(".composer").forEach(function (form) {
      const status = form.querySelector(".composer-status");
      const textarea = form.querySelector("textarea");
      // Typing is for a reply or, on hold or outside the reply window, a note.
      if (status && textarea) textarea.disabled = status.dataset.canReply !== "1" && status.dataset.canNote !== "1";
    });
  }

  function scrollTranscript(force) {
    document.querySelectorAll(".transcript").forEach(function (log) {
      const nearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 120;
      if (force || nearBottom) log.scrollTop = log.scrollHeight;
    });
  }

  function updateTitle() {
    const ringing = document.querySelectorAll('#my-interactions [data-state="alerting"]').length;
    document.title = (ringing ? "(" + ringing + ") " : "") + document.title.replace(/^\(\d+\) /, "");
  }

  // A list read before the one shown (a request's answer overtaken by a push,
  // or the other way round) is not swapped over it.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    const target = event.detail.target;
    const fresh = event.detail.fragment && event.detail.fragment.firstElementChild;
    if (!target || !fresh || !target.dataset || !target.dataset.readAt || !fresh.dataset) return;
    if (Number(fresh.dataset.readAt || 0) < Number(target.dataset.readAt)) {
      event.detail.shouldSwap = false;
    }
  });

  // A pushed bubble may already be on the page (the sender's own tab, or a
  // status change): replace it in place instead of appending it twice.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    const target = event.detail.target;
    if (!target || !target.hasAttribute("data-upsert")) return;
    const fragment = event.detail.fragment;
    Array.from(fragment.children || []).forEach(function (element) {
      const existing = element.id && document.getElementById(element.id);
      if (existing) {
        existing.replaceWith(element);
        htmx.process(element);
      }
    });
    if (!fragment.children || fragment.children.length === 0) event.detail.shouldSwap = false;
    const empty = target.querySelector(":scope > .empty");
    if (empty) empty.remove();
  });

  // Each workgroup's part of the queue is pushed on its own: the panel's count adds them up.
  function updateQueueCount() {
    const count = document.querySelector("#workgroup-queue [data-queue-count]");
    if (!count) return;
    let total = 0;
    document.querySelectorAll("#workgroup-queue .queue-group").forEach(function (group) {
      total += parseInt(group.dataset.count || "0", 10);
    });
    count.textContent = String(total);
  }

  document.addEventListener("htmx:afterSettle", function () {
    markSelected(); syncComposer(); updateTitle(); scrollTranscript(false);
  });
  document.addEventListener("htmx:oobAfterSwap", function () {
    markSelected(); syncComposer(); updateTitle(); scrollTranscript(false); updateQueueCount();
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    const link = event.detail.elt.closest && event.detail.elt.closest(".row-link");
    if (link) document.body.dataset.selected = link.closest(".interaction-row").dataset.interactionId;
  });

  // What the agent asked for last is what the workspace shows: on a busy server
  // the answer to a Pickup can come after the agent has already opened another
  // conversation, and must not take its place (the pickup is done all the same,
  // and the list shows it).
  let workspaceAsks = 0;
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.target && event.detail.target.id === "workspace") {
      event.detail.xhr.workspaceAsk = ++workspaceAsks;
    }
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    const ask = event.detail.xhr && event.detail.xhr.workspaceAsk;
    if (ask && ask < workspaceAsks && event.detail.target.id === "workspace") {
      event.detail.shouldSwap = false;
    }
  });
  // The socket hears the changes of the interaction this tab shows even when
  // the agent does not own it (one waiting in the queue): tell it which one.
  let socket = null;
  let toldView = null;
  function tellView(force) {
    const id = selectedId();
    if (!socket || (!force && id === toldView)) return;
    toldView = id;
    socket.send(JSON.stringify({ view: id ? Number(id) : null }));
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id === "workspace") {
      const inner = event.detail.target.querySelector("[data-interaction-id]");
      document.body.dataset.selected = inner ? inner.dataset.interactionId : "";
      scrollTranscript(true);
      tellView(false);
    }
    if (event.detail.target.id === "dialog-slot") {
      const dialog = event.detail.target.querySelector("dialog");
      if (dialog) { dialog.showModal(); const search = dialog.querySelector("input[type=search]"); if (search) search.focus(); }
    }
  });

  document.addEventListener("htmx:wsClose", function () {
    lostConnection = true;
    document.body.dataset.live = "lost";
    document.getElementById("connection-banner").hidden = false;
  });
  document.addEventListener("htmx:wsOpen", function (event) {
    socket = event.detail.socketWrapper;
    tellView(true);
    document.body.dataset.live = "connected";
    document.getElementById("connection-banner").hidden = true;
    if (lostConnection) {
      lostConnection = false;
      // Whatever happened while the socket was down is rendered afresh.
      htmx.ajax("GET", "/desktop/resync?interaction=" + encodeURIComponent(selectedId()), { swap: "none" });
    }
  });

  document.addEventListener("keydown", function (event) {
    const textarea = event.target;
    if (event.defaultPrevented) return; // e.g. Enter picked a /shortcut suggestion
    if (textarea.matches && textarea.matches(".composer textarea") && event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      const send = textarea.form.querySelector("button[type=submit]");
      if (send && !send.disabled && textarea.value.trim()) textarea.form.requestSubmit();
    }
  });

  // Stored responses (picker, /shortcut, macros) live in responses.js.
  document.addEventListener("click", function (event) {
    const close = event.target.closest("[data-close-dialog]");
    if (close) close.closest("dialog").close();
    const dismiss = event.target.closest("[data-dismiss-mention]");
    if (dismiss) dismiss.closest(".mention").remove();
  });

  // A colleague named this agent in a note: also a desktop notification when the tab is behind.
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    if (!event.detail.target || event.detail.target.id !== "mentions") return;
    const latest = event.detail.target.lastElementChild;
    if (!latest || !("Notification" in window) || Notification.permission !== "granted") return;
    if (document.visibilityState === "visible" && document.hasFocus()) return;
    new Notification("You were named in a note", { body: latest.textContent.trim().replace(/\s+/g, " ").slice(0, 180) });
  });

  document.addEventListener("input", function (event) {
    if (!event.target.matches(".transfer-search")) return;
    const query = event.target.value.trim().toLowerCase();
    event.target.closest("dialog").querySelectorAll(".target").forEach(function (label) {
      // An agent is found by display name, login name or workgroup; a workgroup by its name.
      const words = (label.dataset.search || label.textContent).toLowerCase();
      label.hidden = query !== "" && !words.includes(query);
    });
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    // A dialog's form did its job; other requests inside a dialog (older messages) keep it open.
    const form = event.detail.elt.closest && event.detail.elt.closest("dialog form");
    const dialog = form && form.closest("dialog");
    if (dialog && event.detail.successful) dialog.close();
  });

  // A customer's profile picture that does not load (an expired CDN link)
  // goes, leaving the initials under it. Error events do not bubble: capture
  // them; one that failed before this script ran is swept once at start.
  function dropBrokenImage(image) {
    if (image instanceof HTMLImageElement && image.hasAttribute("data-remove-on-error")) image.remove();
  }
  document.addEventListener("error", function (event) { dropBrokenImage(event.target); }, true);

  document.addEventListener("DOMContentLoaded", function () {
    markSelected(); syncComposer(); updateTitle(); scrollTranscript(true);
    document.querySelectorAll("img[data-remove-on-error]").forEach(function (image) {
      if (image.complete && image.naturalWidth === 0) dropBrokenImage(image);
    });
  });
})();
