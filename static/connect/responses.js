// Stored responses in the composer: the picker (Alt+K), `/shortcut`
// suggestions, favourites. The server fills the macros; inserting only edits
// the message box and never sends.
(function () {
  "use strict";

  function composerOf(element) { return element && element.closest(".composer"); }
  function textareaOf(composer) { return composer && composer.querySelector("textarea[name=text]"); }
  function pickerOf(composer) { return composer && composer.querySelector(".response-picker"); }
  function suggestOf(composer) { return composer && composer.querySelector(".shortcut-suggest"); }
  function currentComposer() {
    const id = document.body.dataset.selected || "";
    return id ? document.getElementById("composer-" + id) : null;
  }

  // Put `text` in place of [start, end) and leave the caret after it.
  function place(textarea, text, start, end) {
    if (textarea.disabled) return false;
    textarea.focus();
    textarea.setRangeText(text, start, end, "end");
    // Other behaviours (typing indicator, counters) hear it as typing.
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
    return true;
  }

  // --- the picker --------------------------------------------------------------------

  function openPicker(composer) {
    const picker = pickerOf(composer);
    const textarea = textareaOf(composer);
    if (!picker || !textarea || textarea.disabled) return;
    closeSuggestions(composer);
    picker.hidden = false;
    composer.querySelector(".response-picker-toggle").setAttribute("aria-expanded", "true");
    const search = picker.querySelector(".response-search");
    if (search) { search.focus(); search.select(); return; }
    htmx.ajax("GET", picker.dataset.pickerUrl, { target: picker, swap: "innerHTML" }).then(function () {
      const loaded = picker.querySelector(".response-search");
      if (loaded && !picker.hidden) loaded.focus();
    });
  }

  function closePicker(composer, focusTextarea) {
    const picker = pickerOf(composer);
    if (!picker || picker.hidden) return;
    picker.hidden = true;
    const toggle = composer.querySelector(".response-picker-toggle");
    if (toggle) toggle.setAttribute("aria-expanded", "false");
    if (focusTextarea) textareaOf(composer).focus();
  }

  // A response that carries a file: the composer attaches it as if the agent had
  // chosen it (attachments.js checks it and shows its chip); Send sends both.
  function attachFileOf(composer, source) {
    const url = source.dataset.fileUrl;
    if (!url) return;
    fetch(url, { credentials: "same-origin" })
      .then(function (answer) { if (!answer.ok) throw new Error(String(answer.status)); return answer.blob(); })
      .then(function (blob) {
        const file = new File([blob], source.dataset.fileName || "file", { type: blob.type });
        composer.dispatchEvent(new CustomEvent("connect:attach", { bubbles: true, detail: { files: [file] } }));
      })
      .catch(function () {
        composer.dispatchEvent(new CustomEvent("connect:attach-failed", { bubbles: true, detail: { name: source.dataset.fileName } }));
      });
  }

  function insertFromPicker(button) {
    const composer = composerOf(button);
    const textarea = textareaOf(composer);
    const start = textarea.selectionStart, end = textarea.selectionEnd;
    closePicker(composer, false);
    place(textarea, button.dataset.text, start, end);
    attachFileOf(composer, button);
  }

  document.addEventListener("click", function (event) {
    const toggle = event.target.closest(".response-picker-toggle");
    if (toggle) {
      const composer = composerOf(toggle);
      if (pickerOf(composer).hidden) openPicker(composer); else closePicker(composer, true);
      return;
    }
    const insert = event.target.closest(".response-insert");
    if (insert) { insertFromPicker(insert); return; }
    const close = event.target.closest(".picker-close");
    if (close) { closePicker(composerOf(close), true); return; }
    // A click elsewhere closes an open picker.
    document.querySelectorAll(".response-picker:not([hidden])").forEach(function (picker) {
      if (!picker.contains(event.target)) closePicker(composerOf(picker), false);
    });
  });

  function pickerKeys(event) {
    const picker = event.target.closest(".response-picker");
    if (!picker) return false;
    const composer = composerOf(picker);
    const inserts = Array.from(picker.querySelectorAll(".response-insert"));
    const index = inserts.indexOf(document.activeElement);
    if (event.key === "Escape") {
      closePicker(composer, true);
      return true;
    }
    if (event.target.matches(".response-search")) {
      if (event.key === "Enter") {
        // Enter picks the best match; it must never submit (send) the composer.
        if (inserts[0]) insertFromPicker(inserts[0]);
        return true;
      }
      if (event.key === "ArrowDown" && inserts[0]) { inserts[0].focus(); return true; }
      return false;
    }
    if (index >= 0 && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      const next = index + (event.key === "ArrowDown" ? 1 : -1);
      if (next < 0) picker.querySelector(".response-search").focus();
      else if (inserts[next]) inserts[next].focus();
      return true;
    }
    if (event.key === "Enter" && !event.target.matches("button")) return true; // no submit
    return false;
  }

  // After starring, the list is re-ordered: keep focus on the same star.
  let starred = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    const star = event.detail.elt.closest && event.detail.elt.closest(".response-star");
    starred = star ? star.closest(".response-item").dataset.responseId : null;
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (!starred || !event.detail.target.classList.contains("response-results")) return;
    const star = event.detail.target.querySelector('.response-item[data-response-id="' + starred + '"] .response-star');
    if (star) star.focus();
    starred = null;
  });

  // --- /shortcut suggestions ------------------------------------------------------------

  const SLASH = /(^|\s)\/([\w-]{0,40})$/;
  let suggestTimer = null;
  let suggestSeq = 0;

  function slashToken(textarea) {
    if (textarea.selectionStart !== textarea.selectionEnd) return null;
    const before = textarea.value.slice(0, textarea.selectionStart);
    const match = SLASH.exec(before);
    if (!match) return null;
    return { typed: match[2], start: textarea.selectionStart - match[2].length - 1, end: textarea.selectionStart };
  }

  function options(box) { return Array.from(box.querySelectorAll("[role=option]")); }

  function closeSuggestions(composer) {
    const box = suggestOf(composer);
    const textarea = textareaOf(composer);
    if (!box) return;
    box.hidden = true;
    box.innerHTML = "";
    if (textarea) {
      textarea.removeAttribute("aria-activedescendant");
      textarea.removeAttribute("aria-controls");
    }
  }

  function choose(box, textarea, option) {
    options(box).forEach(function (each) { each.setAttribute("aria-selected", each === option ? "true" : "false"); });
    if (option) {
      textarea.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    }
  }

  function showSuggestions(composer, textarea) {
    const token = slashToken(textarea);
    if (!token) { closeSuggestions(composer); return; }
    const box = suggestOf(composer);
    const seq = ++suggestSeq;
    delete box.dataset.moved; // typing starts the choice afresh
    clearTimeout(suggestTimer);
    suggestTimer = setTimeout(function () {
      fetch(box.dataset.suggestUrl + "&typed=" + encodeURIComponent(token.typed), {
        headers: { "HX-Request": "true" }, credentials: "same-origin",
      }).then(function (response) {
        return response.ok ? response.text() : "";
      }).then(function (html) {
        if (seq !== suggestSeq || !slashToken(textarea)) return; // typed on meanwhile
        // An arrow pressed while this list was on its way chose in the one shown:
        // the same response stays chosen if the new list has it.
        const movedTo = box.dataset.moved && box.querySelector('[aria-selected="true"]');
        const keep = movedTo ? movedTo.dataset.text : null;
        box.innerHTML = html;
        const list = options(box);
        if (!list.length) { closeSuggestions(composer); return; }
        box.hidden = false;
        textarea.setAttribute("aria-controls", box.querySelector("[role=listbox]").id);
        const kept = keep === null ? null : list.find(function (each) { return each.dataset.text === keep; });
        choose(box, textarea, kept || list[0]);
      });
    }, 80);
  }

  function insertSuggestion(composer, option) {
    const textarea = textareaOf(composer);
    const token = slashToken(textarea);
    closeSuggestions(composer);
    if (token) place(textarea, option.dataset.text, token.start, token.end);
    attachFileOf(composer, option);
  }

  function suggestionKeys(event) {
    const textarea = event.target;
    if (!textarea.matches || !textarea.matches(".composer textarea[name=text]")) return false;
    const composer = composerOf(textarea);
    const box = suggestOf(composer);
    if (!box || box.hidden) return false;
    const list = options(box);
    const active = box.querySelector('[aria-selected="true"]') || list[0];
    const index = list.indexOf(active);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      const step = event.key === "ArrowDown" ? 1 : -1;
      choose(box, textarea, list[(index + step + list.length) % list.length]);
      box.dataset.moved = "1";
      return true;
    }
    if ((event.key === "Enter" && !event.shiftKey) || event.key === "Tab") {
      if (active) insertSuggestion(composer, active);
      return true;
    }
    if (event.key === "Escape") { closeSuggestions(composer); return true; }
    return false;
  }

  document.addEventListener("input", function (event) {
    if (!event.isTrusted) return; // our own insert, not typing
    const textarea = event.target;
    if (!textarea.matches || !textarea.matches(".composer textarea[name=text]")) return;
    showSuggestions(composerOf(textarea), textarea);
  });

  // Pointer: pick without taking focus from the message box.
  document.addEventListener("mousedown", function (event) {
    const option = event.target.closest(".shortcut-option");
    if (!option) return;
    event.preventDefault();
    insertSuggestion(composerOf(option), option);
  });

  document.addEventListener("focusout", function (event) {
    const textarea = event.target;
    if (!textarea.matches || !textarea.matches(".composer textarea[name=text]")) return;
    setTimeout(function () {
      if (document.activeElement !== textarea) closeSuggestions(composerOf(textarea));
    }, 150);
  });

  // Capture phase: these keys must be handled before Enter-to-send sees them.
  document.addEventListener("keydown", function (event) {
    if (event.isComposing) return;
    if (event.altKey && !event.ctrlKey && !event.metaKey && event.code === "KeyK") {
      event.preventDefault();
      const composer = currentComposer();
      if (!composer) return;
      if (pickerOf(composer).hidden) openPicker(composer); else closePicker(composer, true);
      return;
    }
    if (suggestionKeys(event) || pickerKeys(event)) {
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);

  // --- keeping the tools in step with the composer ---------------------------------------

  function syncTools() {
    document.querySelectorAll(".composer").forEach(function (composer) {
      const textarea = textareaOf(composer);
      const disabled = !textarea || textarea.disabled;
      composer.querySelectorAll("[data-needs-reply]").forEach(function (button) { button.disabled = disabled; });
      if (disabled) { closePicker(composer, false); closeSuggestions(composer); }
    });
  }
  document.addEventListener("htmx:afterSettle", syncTools);
  document.addEventListener("htmx:oobAfterSwap", syncTools);
  document.addEventListener("DOMContentLoaded", syncTools);

  // A notice from the server (e.g. "Saved to My Responses") fades after a while.
  document.addEventListener("htmx:afterSettle", function () {
    const toast = document.getElementById("desk-toast");
    if (!toast || !toast.hasAttribute("data-auto-hide")) return;
    toast.removeAttribute("data-auto-hide");
    setTimeout(function () { if (toast.isConnected) toast.textContent = ""; }, 5000);
  });
})();
