// Pushed parts marked data-morph (the desktop's lists, the board) are morphed
// into place with idiomorph instead of replaced: what is shown stays and only
// what changed is updated. A click is a press and a release on one element, so
// a part replaced between the two (a busy floor pushes several a second)
// swallowed the click; an open select or the focus went with it, too.
(function () {
  "use strict";
  // On window, so that it runs after the page's own handlers on document (which
  // may refuse a part read before the one shown) whatever the scripts' order.
  window.addEventListener("htmx:oobBeforeSwap", function (event) {
    const target = event.detail.target;
    const fresh = event.detail.fragment && event.detail.fragment.firstElementChild;
    if (!event.detail.shouldSwap || !fresh || !target || !target.hasAttribute) return;
    if (!target.hasAttribute("data-morph") || fresh.id !== target.id) return;
    Idiomorph.morph(target, fresh, { morphStyle: "outerHTML" });
    htmx.process(target);
    event.detail.shouldSwap = false;
    htmx.trigger(target, "htmx:oobAfterSwap", event.detail);
  });
})();
