/*
 * Progress of a long form post (the CSV import of thousands of rows): the form is sent as
 * usual, a plain navigation (so it works the same without this file, and the answer is an
 * ordinary page), and while it is on its way this page asks the server how far it has got.
 *
 *   <form data-progress="/live/progress/JOB"> with <input type="hidden" name="progress">
 *   and a <div class="progress" hidden data-msg-...> holding a <progress> and a <p>.
 *
 * On submit the form gets a fresh job id; the route doing the work reports each step under it
 * (web/progress.py), and this page polls until the answer replaces it. The words for each
 * step come from the page (data-msg-<phase>, in the person's language), "{done}" and
 * "{total}" filled in here.
 */
(function () {
  "use strict";

  var POLL_MS = 500;

  function jobId() {
    if (window.crypto && window.crypto.randomUUID) {
      return window.crypto.randomUUID().replace(/-/g, "");
    }
    var out = "";
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    for (var i = 0; i < bytes.length; i++) {
      out += ("0" + bytes[i].toString(16)).slice(-2);
    }
    return out;
  }

  function watch(form) {
    var box = form.querySelector(".progress");
    var bar = box && box.querySelector("progress");
    var text = box && box.querySelector(".progress-text");
    var field = form.querySelector('input[name="progress"]');
    if (!box || !bar || !text || !field) {
      return;
    }
    form.addEventListener("submit", function () {
      var job = jobId();
      field.value = job;
      var url = form.getAttribute("data-progress").replace("JOB", job);
      box.hidden = false;
      show({ phase: "sending", done: 0, total: 0 });

      function show(p) {
        var words = box.getAttribute("data-msg-" + p.phase) || "";
        text.textContent = words.replace("{done}", p.done.toLocaleString()).replace("{total}", p.total.toLocaleString());
        if (p.total > 0) {
          // Checking is the first half of the way, writing the second.
          var share = p.done / p.total;
          bar.value = p.phase === "writing" ? 50 + 50 * share : 50 * share;
        } else if (p.phase === "done" || p.phase === "failed") {
          bar.value = 100;
        } else {
          bar.removeAttribute("value"); // indeterminate: sending, reading
        }
      }

      function poll() {
        fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
          .then(function (r) {
            return r.ok ? r.json() : null;
          })
          .then(function (p) {
            if (p && typeof p.phase === "string") {
              show(p);
            }
          })
          .catch(function () {})
          .then(function () {
            // Until the answer to the form replaces this page.
            setTimeout(poll, POLL_MS);
          });
      }
      poll();
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-progress]"), watch);
})();
