// The simulator's two behaviours, without inline handlers (the
// Content-Security-Policy allows no inline script): Enter sends, and a sent
// message clears the box for the next one.
(function () {
  "use strict";

  document.addEventListener("keydown", function (event) {
    const box = event.target;
    if (box.id !== "sim-text" || event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    box.form.requestSubmit();
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    const form = event.detail.elt;
    if (form.id !== "sim-form" || event.detail.xhr.status !== 200) return;
    form.elements.text.value = "";
    form.elements.text.focus();
  });
})();
