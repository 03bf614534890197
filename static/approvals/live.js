// The request page's live status: poll the page's status URL and update the top of the
// page until the ticket reaches a state where nothing more happens by itself. Plain
// JavaScript, no library, no build step; without JavaScript the page simply stays as loaded.
(function () {
  "use strict";
  var box = document.getElementById("live-status");
  if (!box || box.dataset.final === "true" || !window.fetch) return;
  var FAST = 2000, SLOW = 10000;

  function set(id, text, className) {
    var el = document.getElementById(id);
    if (!el) return;
    el.textContent = text;
    if (className) el.className = className;
  }

  function tick() {
    fetch(box.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) { setTimeout(tick, SLOW); return; }
        set("ticket-status", s.ticket_status_display);
        set("request-status", s.request_status_display, "state state-" + s.request_status);
        set("status-reason", s.status_reason);
        if (s.final) { box.dataset.final = "true"; return; }
        setTimeout(tick, s.request_status === "pending" ? SLOW : FAST);
      })
      .catch(function () { setTimeout(tick, SLOW); });
  }
  setTimeout(tick, FAST);
})();
