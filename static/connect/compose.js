// Emoji and lists in the composer. Messenger shows plain text, so every tool
// here only edits the text the customer will receive: an emoji at the caret,
// "• " or "1. " at the start of lines, a new list item on Shift+Enter.
// The emoji picker (Alt+E) is one element per page, placed beside the button;
// `:name` in the message box suggests emoji by name.
(function () {
  "use strict";

  const BULLET = "• ";
  const LIST_MARK = /^(?:• |\d+\. )/;
  const NUMBER_MARK = /^(\d+)\. /;

  function composerOf(element) { return element && element.closest(".composer"); }
  function textareaOf(composer) { return composer && composer.querySelector("textarea[name=text]"); }
  function currentComposer() {
    const id = document.body.dataset.selected || "";
    return id ? document.getElementById("composer-" + id) : null;
  }
  function say(text) {
    const toast = document.getElementById("desk-toast");
    if (!toast) return;
    toast.textContent = text;
    setTimeout(function () { if (toast.textContent === text) toast.textContent = ""; }, 3000);
  }
  function usable(textarea) {
    if (textarea && !textarea.disabled) return true;
    say("The message box is closed for this interaction.");
    return false;
  }

  // Put `text` in place of [start, end); other behaviours (counter, draft,
  // typing indicator) hear it as typing.
  function place(textarea, text, start, end, selectMode) {
    textarea.setRangeText(text, start, end, selectMode || "end");
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // --- lists ---------------------------------------------------------------------------

  function lineStart(value, index) { return value.lastIndexOf("\n", index - 1) + 1; }
  function lineEnd(value, index) {
    const next = value.indexOf("\n", index);
    return next < 0 ? value.length : next;
  }

  // Mark the lines the selection touches (or the caret's line) as a list, or
  // unmark them when they all are one already. Empty lines between items stay empty.
  function toggleList(textarea, kind) {
    const value = textarea.value;
    const start = textarea.selectionStart;
    let end = textarea.selectionEnd;
    if (end > start && value[end - 1] === "\n") end -= 1; // a selection ending at a line start
    const from = lineStart(value, start);
    const to = lineEnd(value, end);
    const lines = value.slice(from, to).split("\n");
    const filled = lines.filter(function (line) { return line.trim(); });
    const isKind = function (line) { return kind === "bullet" ? line.startsWith(BULLET) : NUMBER_MARK.test(line); };
    const unmark = filled.length > 0 && filled.every(isKind);
    let number = 0;
    const changed = lines.map(function (line) {
      const bare = line.replace(LIST_MARK, "");
      if (unmark) return bare;
      if (!bare.trim() && lines.length > 1) return bare;
      number += 1;
      return (kind === "bullet" ? BULLET : number + ". ") + bare;
    }).join("\n");
    textarea.focus();
    place(textarea, changed, from, to, start === textarea.selectionEnd ? "end" : "select");
  }

  // Shift+Enter on a list line starts the next item; on an empty item it ends the list.
  function continueList(textarea) {
    const value = textarea.value;
    const caret = textarea.selectionStart;
    if (caret !== textarea.selectionEnd) return false;
    const from = lineStart(value, caret);
    const line = value.slice(from, lineEnd(value, caret));
    const mark = LIST_MARK.exec(line);
    if (!mark || caret < from + mark[0].length) return false;
    if (!line.slice(mark[0].length).trim() && caret === from + line.length) {
      place(textarea, "", from, from + line.length); // an empty item: the list ends here
      return true;
    }
    const number = NUMBER_MARK.exec(line);
    place(textarea, "\n" + (number ? (Number(number[1]) + 1) + ". " : BULLET), caret, caret);
    return true;
  }

  // --- the emoji picker ------------------------------------------------------------------

  const picker = function () { return document.getElementById("emoji-picker"); };
  let owner = null; // the interaction whose composer the picker writes into
  let returnTo = null; // where focus goes back on Escape

  function choices(visibleOnly) {
    const all = Array.from(picker().querySelectorAll(".emoji-choice"));
    return visibleOnly ? all.filter(function (button) { return !button.hidden; }) : all;
  }
  function ownerTextarea() {
    return owner ? textareaOf(document.getElementById("composer-" + owner)) : null;
  }
  function toggles(expanded) {
    document.querySelectorAll(".emoji-toggle").forEach(function (toggle) {
      toggle.setAttribute("aria-expanded", expanded ? "true" : "false");
    });
  }

  // Above the composer, lined up with the button: the message box stays in view.
  // (Style set from script is allowed by the CSP; style attributes are not.)
  function placeBeside(box, composer, button) {
    const above = composer.getBoundingClientRect();
    box.style.bottom = Math.max(8, window.innerHeight - above.top + 4) + "px";
    const width = box.offsetWidth || 360;
    const left = button.getBoundingClientRect().left;
    box.style.left = Math.max(8, Math.min(left, window.innerWidth - width - 8)) + "px";
  }

  function rove(button) {
    choices(false).forEach(function (each) { each.tabIndex = each === button ? 0 : -1; });
    if (button) button.focus();
  }

  function openPicker(composer) {
    const box = picker();
    const textarea = textareaOf(composer);
    if (!box || !usable(textarea)) return;
    owner = composer.id.replace("composer-", "");
    returnTo = document.activeElement && document.activeElement !== document.body ? document.activeElement : textarea;
    const search = box.querySelector(".emoji-search");
    search.value = "";
    filter("");
    box.hidden = false;
    placeBeside(box, composer, composer.querySelector(".emoji-toggle") || textarea);
    toggles(true);
    search.focus();
  }

  function closePicker(focusBack) {
    const box = picker();
    if (!box || box.hidden) return;
    box.hidden = true;
    toggles(false);
    const textarea = ownerTextarea();
    const back = returnTo && returnTo.isConnected ? returnTo : textarea;
    returnTo = null;
    if (focusBack && back) back.focus();
  }

  function filter(query) {
    const box = picker();
    const words = query.trim().toLowerCase().replace(/^:|:$/g, "");
    let shown = 0;
    choices(false).forEach(function (button) {
      button.hidden = words !== "" && !button.dataset.words.includes(words);
      if (!button.hidden) shown += 1;
    });
    box.querySelectorAll(".emoji-section").forEach(function (section) {
      section.hidden = !section.querySelector(".emoji-choice:not([hidden])");
    });
    box.querySelector(".emoji-status").textContent =
      words === "" ? "" : shown ? shown + " emoji for “" + query.trim() + "”" : "No emoji for “" + query.trim() + "”.";
    rove(null);
    const first = choices(true)[0];
    if (first) first.tabIndex = 0;
  }

  function insertEmoji(button, keepOpen) {
    const textarea = ownerTextarea();
    if (!textarea || textarea.disabled) { closePicker(false); usable(null); return; }
    place(textarea, button.dataset.emoji, textarea.selectionStart, textarea.selectionEnd);
    if (keepOpen) { rove(button); return; }
    returnTo = null;
    closePicker(false);
    textarea.focus();
  }

  // The nearest visible emoji in the row above or below, by where they are drawn
  // (sections have rows of different lengths).
  function vertical(from, step) {
    const here = from.getBoundingClientRect();
    const rows = choices(true).map(function (button) { return { button: button, rect: button.getBoundingClientRect() }; })
      .filter(function (each) { return step > 0 ? each.rect.top > here.top + 2 : each.rect.top < here.top - 2; });
    if (!rows.length) return null;
    const rowTop = step > 0 ? Math.min.apply(null, rows.map(function (each) { return each.rect.top; }))
      : Math.max.apply(null, rows.map(function (each) { return each.rect.top; }));
    let best = null;
    rows.filter(function (each) { return Math.abs(each.rect.top - rowTop) < 2; }).forEach(function (each) {
      const distance = Math.abs(each.rect.left - here.left);
      if (!best || distance < best.distance) best = { button: each.button, distance: distance };
    });
    return best && best.button;
  }

  function pickerKeys(event) {
    const box = picker();
    if (!box || box.hidden || !box.contains(event.target)) return false;
    if (event.key === "Escape") { closePicker(true); return true; }
    const visible = choices(true);
    if (event.target.matches(".emoji-search")) {
      if (event.key === "Enter") { if (visible[0]) insertEmoji(visible[0], event.shiftKey); return true; }
      if (event.key === "ArrowDown" && visible[0]) { rove(visible[0]); return true; }
      return false;
    }
    const button = event.target.closest(".emoji-choice");
    if (!button) return false;
    const index = visible.indexOf(button);
    let next = null;
    if (event.key === "ArrowRight") next = visible[index + 1];
    else if (event.key === "ArrowLeft") next = visible[index - 1];
    else if (event.key === "Home") next = visible[0];
    else if (event.key === "End") next = visible[visible.length - 1];
    else if (event.key === "ArrowDown") next = vertical(button, 1);
    else if (event.key === "ArrowUp") {
      next = vertical(button, -1);
      if (!next) { box.querySelector(".emoji-search").focus(); return true; }
    } else if (event.key === "Enter" || event.key === " ") {
      insertEmoji(button, event.shiftKey);
      return true;
    } else return false;
    if (next) rove(next);
    return true;
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches(".emoji-search")) filter(event.target.value);
  });

  document.addEventListener("click", function (event) {
    const toggle = event.target.closest(".emoji-toggle");
    if (toggle) {
      if (picker().hidden) openPicker(composerOf(toggle)); else closePicker(true);
      return;
    }
    const list = event.target.closest(".format-list");
    if (list) {
      const textarea = textareaOf(composerOf(list));
      if (usable(textarea)) toggleList(textarea, list.dataset.list);
      return;
    }
    const box = picker();
    if (!box || box.hidden) return;
    const choice = event.target.closest(".emoji-choice");
    if (choice) { insertEmoji(choice, event.shiftKey); return; }
    if (event.target.closest(".emoji-close")) { closePicker(true); return; }
    if (!box.contains(event.target)) closePicker(false);
  });

  // A redrawn workspace (another interaction, a queue action) takes the picker's composer away.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id === "workspace") closePicker(false);
  });
  window.addEventListener("resize", function () { closePicker(false); });

  // --- :name suggestions ---------------------------------------------------------------------

  const COLON = /(^|\s):([\w+\-]{2,30})(:?)$/;
  const MAX_SUGGESTIONS = 6;

  function suggestOf(composer) { return composer && composer.querySelector(".emoji-suggest"); }

  function colonToken(textarea) {
    if (textarea.selectionStart !== textarea.selectionEnd) return null;
    const match = COLON.exec(textarea.value.slice(0, textarea.selectionStart));
    if (!match) return null;
    const length = match[2].length + 1 + match[3].length;
    return { typed: match[2].toLowerCase(), closed: match[3] === ":", start: textarea.selectionStart - length, end: textarea.selectionStart };
  }

  function matching(typed) {
    const box = picker();
    if (!box) return [];
    const buttons = Array.from(box.querySelectorAll(".emoji-choice"));
    const exact = buttons.filter(function (button) { return button.dataset.shortcode === typed; });
    const starts = buttons.filter(function (button) {
      return exact.indexOf(button) < 0 && button.dataset.words.split(" ").some(function (word) { return word.startsWith(typed); });
    });
    return exact.concat(starts).slice(0, MAX_SUGGESTIONS);
  }

  function closeSuggestions(composer) {
    const box = suggestOf(composer);
    const textarea = textareaOf(composer);
    if (!box || box.hidden) return;
    box.hidden = true;
    box.textContent = "";
    if (textarea) { textarea.removeAttribute("aria-activedescendant"); textarea.removeAttribute("aria-controls"); }
  }

  function chooseSuggestion(box, textarea, option) {
    box.querySelectorAll("[role=option]").forEach(function (each) { each.setAttribute("aria-selected", each === option ? "true" : "false"); });
    textarea.setAttribute("aria-activedescendant", option.id);
  }

  function showSuggestions(composer, textarea) {
    const box = suggestOf(composer);
    const token = colonToken(textarea);
    if (!box || !token) { closeSuggestions(composer); return; }
    const found = matching(token.typed);
    if (token.closed) {
      // `:thumbs_up:` typed out in full becomes the emoji at once.
      closeSuggestions(composer);
      if (found[0] && found[0].dataset.shortcode === token.typed) place(textarea, found[0].dataset.emoji, token.start, token.end);
      return;
    }
    if (!found.length) { closeSuggestions(composer); return; }
    const list = document.createElement("ul");
    list.className = "emoji-suggest-list";
    list.id = box.id + "-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Emoji for :" + token.typed);
    found.forEach(function (button, n) {
      const option = document.createElement("li");
      option.id = box.id + "-" + n;
      option.className = "emoji-option";
      option.setAttribute("role", "option");
      option.dataset.emoji = button.dataset.emoji;
      const glyph = document.createElement("span");
      glyph.className = "emoji-glyph";
      glyph.setAttribute("aria-hidden", "true");
      glyph.textContent = button.dataset.emoji;
      const name = document.createElement("span");
      name.textContent = button.getAttribute("aria-label");
      const code = document.createElement("code");
      code.className = "shortcut";
      code.textContent = ":" + button.dataset.shortcode + ":";
      option.append(glyph, name, code);
      list.append(option);
    });
    box.replaceChildren(list);
    box.hidden = false;
    textarea.setAttribute("aria-controls", list.id);
    chooseSuggestion(box, textarea, list.firstElementChild);
  }

  function insertSuggestion(composer, option) {
    const textarea = textareaOf(composer);
    const token = colonToken(textarea);
    closeSuggestions(composer);
    if (token) place(textarea, option.dataset.emoji, token.start, token.end);
  }

  function suggestionKeys(event) {
    const textarea = event.target;
    if (!textarea.matches || !textarea.matches(".composer textarea[name=text]")) return false;
    const composer = composerOf(textarea);
    const box = suggestOf(composer);
    if (!box || box.hidden) return false;
    const options = Array.from(box.querySelectorAll("[role=option]"));
    const active = box.querySelector('[aria-selected="true"]') || options[0];
    const index = options.indexOf(active);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      const step = event.key === "ArrowDown" ? 1 : -1;
      chooseSuggestion(box, textarea, options[(index + step + options.length) % options.length]);
      return true;
    }
    if ((event.key === "Enter" && !event.shiftKey) || event.key === "Tab") { insertSuggestion(composer, active); return true; }
    if (event.key === "Escape") { closeSuggestions(composer); return true; }
    return false;
  }

  document.addEventListener("input", function (event) {
    if (!event.isTrusted) return; // our own insert, not typing
    const textarea = event.target;
    if (!textarea.matches || !textarea.matches(".composer textarea[name=text]")) return;
    showSuggestions(composerOf(textarea), textarea);
  });
  document.addEventListener("mousedown", function (event) {
    const option = event.target.closest(".emoji-option");
    if (!option) return;
    event.preventDefault(); // keep focus in the message box
    insertSuggestion(composerOf(option), option);
  });
  document.addEventListener("focusout", function (event) {
    const textarea = event.target;
    if (!textarea.matches || !textarea.matches(".composer textarea[name=text]")) return;
    setTimeout(function () { if (document.activeElement !== textarea) closeSuggestions(composerOf(textarea)); }, 150);
  });

  // --- keys -------------------------------------------------------------------------------------

  const SHORTCUTS = { KeyE: "emoji", KeyB: "bullet", KeyN: "number" };

  // Capture phase: these must be handled before Enter-to-send (desktop.js) sees them.
  document.addEventListener("keydown", function (event) {
    if (event.isComposing) return;
    if (event.altKey && !event.ctrlKey && !event.metaKey && !event.shiftKey && SHORTCUTS[event.code]) {
      if (document.querySelector("dialog[open]")) return; // a dialog is in charge
      event.preventDefault();
      const composer = currentComposer();
      const textarea = textareaOf(composer);
      if (!composer) { say("Select an interaction first."); return; }
      if (SHORTCUTS[event.code] === "emoji") {
        if (picker().hidden) openPicker(composer); else closePicker(true);
      } else if (usable(textarea)) {
        toggleList(textarea, SHORTCUTS[event.code]);
      }
      return;
    }
    if (suggestionKeys(event) || pickerKeys(event)) {
      event.preventDefault();
      event.stopPropagation();
      return;
    }
    const textarea = event.target;
    if (event.key === "Enter" && event.shiftKey && !event.ctrlKey && !event.altKey && !event.metaKey
        && textarea.matches && textarea.matches(".composer textarea[name=text]") && continueList(textarea)) {
      event.preventDefault();
    }
  }, true);
})();
