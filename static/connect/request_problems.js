// A request that ends without an answer the page can show — the server
// failed (5xx) or did not answer at all — says so in words, instead of a
// button that silently did nothing. Refusals (403/404/409/413/422) are
// swapped in where the action's answer goes, as before.
(function () {
  "use strict";

  const SHOWN_MS = 10000;
  let hideTimer = null;

  function box() {
    let element = document.getElementById("request-problem");
    if (!element) {
      element = document.createElement("div");
      element.id = "request-problem";
      element.className = "request-problem";
      element.setAttribute("role", "alert");
      element.hidden = true;
      const text = document.createElement("p");
      const close = document.createElement("button");
      close.type = "button";
      close.className = "link";
      close.textContent = "Dismiss";
      close.addEventListener("click", function () { element.hidden = true; });
      element.append(text, close);
      document.body.appendChild(element);
    }
    return element;
  }

  function show(text) {
    const element = box();
    element.querySelector("p").textContent = text;
    element.hidden = false;
    clearTimeout(hideTimer);
    hideTimer = setTimeout(function () { element.hidden = true; }, SHOWN_MS);
  }

  document.addEventListener("htmx:responseError", function (event) {
    const xhr = event.detail.xhr;
    const plain = (xhr.getResponseHeader("Content-Type") || "").startsWith("text/plain");
    const said = plain ? (xhr.responseText || "").trim() : "";
    if (said && said.length <= 300) show(said);
    else if (xhr.status >= 500) show("That did not go through: the server had a problem (" + xhr.status + "). Try again; if it keeps happening, tell your supervisor.");
    else show("That did not go through (" + xhr.status + ").");
  });

  document.addEventListener("htmx:sendError", function () {
    show("That did not go through: the server did not answer. Check your connection and try again.");
  });
})();
