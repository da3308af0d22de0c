// Keyboard shortcuts: Alt+letter for every queue control and for moving between
// interactions (they work while typing, since they need Alt), `?` for the list
// (only outside text fields). Focus lands somewhere useful after each action.
(function () {
  "use strict";

  const TOOLS = { KeyP: "Alt+P", KeyH: "Alt+H", KeyT: "Alt+T", KeyR: "Alt+R", KeyD: "Alt+D" };
  let toastTimer = null;

  function say(text) {
    const toast = document.getElementById("desk-toast");
    if (!toast) return;
    toast.textContent = text;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { toast.textContent = ""; }, 3000);
  }

  // htmx wires up swapped-in content when it settles, a few ms after the swap;
  // a shortcut pressed in between would click a button that does nothing yet.
  function clickNow(element) {
    htmx.process(element);
    element.click();
  }

  function typing(target) {
    return target.closest && target.closest("input, textarea, select, [contenteditable=''], [contenteditable=true]");
  }

  function modalOpen() { return document.querySelector("dialog[open]"); }

  function tool(shortcut) {
    return document.querySelector('#workspace .toolbar [aria-keyshortcuts="' + shortcut + '"]');
  }

  function useTool(shortcut) {
    const button = tool(shortcut);
    if (!button) { say("Select an interaction first."); return; }
    const name = button.textContent.trim();
    if (button.disabled) { say(name + " does not apply to this interaction now."); return; }
    clickNow(button);
  }

  function rows() {
    return Array.from(document.querySelectorAll("#my-interactions .interaction-row, #workgroup-queue .interaction-row"));
  }

  function move(step) {
    const all = rows();
    if (!all.length) { say("No interactions."); return; }
    const selected = document.body.dataset.selected || "";
    let index = all.findIndex(function (row) { return row.dataset.interactionId === selected; });
    index = index < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(all.length - 1, Math.max(0, index + step));
    const link = all[index].querySelector(".row-link");
    if (all[index].dataset.interactionId === selected) { link.focus(); return; }
    clickNow(link);
    link.focus();
  }

  function focusComposer() {
    const textarea = document.querySelector("#workspace .composer textarea[name=text]");
    if (textarea && !textarea.disabled) textarea.focus();
    else say("The message box is closed for this interaction.");
  }

  function showHelp() {
    const help = document.getElementById("shortcuts-help");
    if (help && !help.open) help.showModal();
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing) return;
    if (event.altKey && !event.ctrlKey && !event.metaKey && !event.shiftKey) {
      if (modalOpen()) return; // a dialog is in charge; Esc closes it
      if (TOOLS[event.code]) { event.preventDefault(); useTool(TOOLS[event.code]); return; }
      if (event.code === "ArrowUp" || event.code === "ArrowDown") {
        event.preventDefault();
        move(event.code === "ArrowDown" ? 1 : -1);
        return;
      }
      if (event.code === "KeyM") { event.preventDefault(); focusComposer(); }
      return;
    }
    if (event.key === "?" && !event.ctrlKey && !event.metaKey && !event.altKey && !typing(event.target) && !modalOpen()) {
      event.preventDefault();
      showHelp();
    }
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("#shortcuts-button")) showHelp();
  });

  // After a queue action the workspace is redrawn: put focus where work goes
  // on (the message box after a pickup, else the same control), not on <body>.
  let lastTool = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    const button = event.detail.elt.closest && event.detail.elt.closest("#workspace .toolbar .tool, #workspace .inline-pickup");
    // Requests of the redrawn workspace itself (it tells the server it was read
    // as it loads) must not make us forget the tool that redrew it.
    if (button) lastTool = button.getAttribute("aria-keyshortcuts") || "Alt+P";
    else if (event.detail.target && event.detail.target.id === "workspace") lastTool = null;
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (!lastTool) return;
    if (event.detail.target.id === "dialog-slot") { lastTool = null; return; }
    if (event.detail.target.id !== "workspace") return;
    const used = lastTool;
    lastTool = null;
    const textarea = document.querySelector("#workspace .composer textarea[name=text]");
    if (used === "Alt+P" && textarea && !textarea.disabled) { textarea.focus(); return; }
    const same = tool(used);
    const target = same && !same.disabled ? same : document.querySelector("#workspace .toolbar .tool:not(:disabled)");
    if (target) target.focus();
  });
})();
