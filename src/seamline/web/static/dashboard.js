// Live refresh for the dashboard: an element with data-live="<url>" is replaced by that fragment every
// data-every milliseconds, while its page's "live" box is ticked and the pointer is not over a form.
(function () {
  "use strict";
  function start(el) {
    var every = parseInt(el.getAttribute("data-every") || "3000", 10);
    var toggle = document.querySelector("[data-live-toggle]");
    var busy = false;
    function due() {
      if (busy || (toggle && !toggle.checked) || document.hidden) { return false; }
      var active = document.activeElement;
      return !(active && el.contains(active) && active.tagName !== "BODY") && !el.querySelector("form:hover");
    }
    function tick() {
      if (!due()) { return; }
      busy = true;
      fetch(el.getAttribute("data-live"), { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (response) {
          if (response.redirected || response.status === 401) { window.location.reload(); return null; }
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          if (html !== null && html !== undefined) {
            el.innerHTML = html;
            el.setAttribute("data-refreshed", String(Date.now()));
          }
        })
        .catch(function () { /* the next tick tries again */ })
        .then(function () { busy = false; });
    }
    window.setInterval(tick, every);
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-live]"), start);
  });
})();
