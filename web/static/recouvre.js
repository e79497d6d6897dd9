/* Progressive enhancement only: every page works without this file. */
(function () {
  "use strict";

  // Document progress: poll the JSON status; reload once the job is over so the
  // server renders the download links (the <noscript> refresh covers no-JS browsers).
  function poll(box) {
    var url = box.getAttribute("data-poll");
    var text = document.getElementById("progress-text");
    var delay = 1000;
    function tick() {
      fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) {
          if (r.redirected) { window.location.reload(); return null; }   // session ended: let the page say so
          if (!r.ok) { throw new Error(r.status); }
          return r.json();
        })
        .then(function (s) {
          if (s === null) { return; }
          if (s.status !== "pending") { window.location.reload(); return; }
          if (text && s.progress) { text.textContent = s.progress; }
          delay = Math.min(delay * 1.3, 5000);
          window.setTimeout(tick, delay);
        })
        .catch(function () { delay = Math.min(delay * 2, 15000); window.setTimeout(tick, delay); });
    }
    window.setTimeout(tick, delay);
  }

  // A form sent twice would create two jobs: disable its button once submitted.
  function guardSubmit(form) {
    form.addEventListener("submit", function () {
      var buttons = form.querySelectorAll("button[type=submit]");
      window.setTimeout(function () {
        for (var i = 0; i < buttons.length; i++) { buttons[i].disabled = true; }
      }, 0);
    });
  }

  // Printed pages show the rules applied to the décompte, which the screen keeps folded.
  window.addEventListener("beforeprint", function () {
    var folded = document.querySelectorAll("details:not([open])");
    for (var i = 0; i < folded.length; i++) { folded[i].setAttribute("open", ""); folded[i].dataset.printOpened = "1"; }
  });
  window.addEventListener("afterprint", function () {
    var opened = document.querySelectorAll("details[data-print-opened]");
    for (var i = 0; i < opened.length; i++) { opened[i].removeAttribute("open"); delete opened[i].dataset.printOpened; }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.querySelector("[data-poll]");
    if (box) { poll(box); }
    var forms = document.querySelectorAll("form[method=post]");
    for (var i = 0; i < forms.length; i++) { guardSubmit(forms[i]); }
  });
})();
