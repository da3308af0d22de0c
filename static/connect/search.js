// Finding past conversations (connect/search.py): the top bar's box, the results and
// transcript dialogs, the match scrolled into view.
(function () {
  "use strict";

  function showMatch(root) {
    const match = root.querySelector("#search-match");
    if (match) match.scrollIntoView({ block: "center" });
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id !== "dialog-slot") return;
    const dialog = event.detail.target.querySelector("dialog");
    // On the desktop, desktop.js has opened it already.
    if (dialog && !dialog.open) {
      dialog.showModal();
      const box = dialog.querySelector("input[type=search]");
      if (box) box.focus();
    }
    if (dialog) showMatch(dialog);
  });

  document.addEventListener("click", function (event) {
    const close = event.target.closest("[data-close-dialog]");
    if (!close) return;
    const dialog = close.closest("dialog");
    if (dialog && dialog.open) dialog.close();
  });

  // Alt+S: to the search box, from anywhere on the desktop.
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || !event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    if (event.code !== "KeyS" || document.querySelector("dialog[open]")) return;
    const box = document.getElementById("conversation-search-q") || document.getElementById("search-q");
    if (box) { event.preventDefault(); box.focus(); }
  });

  document.addEventListener("DOMContentLoaded", function () { showMatch(document); });
})();
