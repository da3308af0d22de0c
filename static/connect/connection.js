// The live connection: reconnect with a capped, jittered backoff whatever
// closed the socket, show when the next attempt is, and say so plainly when
// the session itself has ended. desktop.js shows the banner and resyncs.
(function () {
  "use strict";
  // The ws extension retries these close codes itself; the others we retry here.
  const RETRIED_BY_EXTENSION = [1006, 1011, 1012, 1013];
  const SESSION_ENDED = [4401, 4403];
  const DATABASE_DOWN = 4503;
  const MAX_DELAY = 10000;
  let attempts = 0;
  let nextAttemptAt = 0;
  let ownRetry = null;
  let countdown = null;
  let leaving = false;

  // Half fixed, half random: tabs of a whole floor do not all return at once.
  function delay(retries) {
    const ceiling = Math.min(MAX_DELAY, 500 * Math.pow(2, retries));
    const wait = ceiling / 2 + Math.random() * ceiling / 2;
    nextAttemptAt = Date.now() + wait;
    return wait;
  }
  htmx.config.wsReconnectDelay = delay;

  function banner() { return document.getElementById("connection-banner"); }

  function showCountdown() {
    const element = banner() && banner().querySelector(".banner-countdown");
    if (!element) return;
    const seconds = Math.max(0, Math.ceil((nextAttemptAt - Date.now()) / 1000));
    element.textContent = seconds > 0 ? " Next try in " + seconds + " s." : " Trying now…";
  }

  window.addEventListener("pagehide", function () { leaving = true; });

  document.addEventListener("htmx:wsClose", function (event) {
    if (leaving) return;
    const code = event.detail.event && event.detail.event.code;
    const wrapper = event.detail.socketWrapper;
    if (SESSION_ENDED.indexOf(code) >= 0) {
      const text = banner() && banner().querySelector(".banner-text");
      if (text) text.innerHTML = 'Your session has ended. <a href="/accounts/login/?next=/">Log in again</a> to get live updates.';
      return;
    }
    if (code === DATABASE_DOWN) {
      const text = banner() && banner().querySelector(".banner-text");
      if (text) text.textContent = "The server cannot reach its database. Reconnecting…";
    }
    if (RETRIED_BY_EXTENSION.indexOf(code) < 0 && wrapper) {
      clearTimeout(ownRetry);
      ownRetry = setTimeout(function () { wrapper.reconnect(); }, delay(attempts));
    }
    attempts += 1;
    clearInterval(countdown);
    showCountdown();
    countdown = setInterval(showCountdown, 1000);
  });

  document.addEventListener("htmx:wsOpen", function () {
    attempts = 0;
    clearTimeout(ownRetry);
    clearInterval(countdown);
    const element = banner() && banner().querySelector(".banner-countdown");
    if (element) element.textContent = "";
    const text = banner() && banner().querySelector(".banner-text");
    if (text) text.textContent = "Live updates lost. Reconnecting…";
  });
})();
