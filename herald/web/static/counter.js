/*
 * The composer's live counter: as the person types (or ticks a channel), this page asks the
 * server how long the text is on each ticked channel and shows "123/280" under the text and
 * under each channel's own text, marked when over.
 *
 *   <form data-count-url="/compose/count" data-count-of="{count}/{limit}"
 *         data-count-over="{over} over"> with <ul class="counter" data-counter="CHANNEL">
 *   ("" for the main text: it lists the channels that use it).
 *
 * The counting is the server's own (each platform's rules: X weighs Hangul 2, Bluesky counts
 * graphemes), the same as the "Check" button's; nothing is counted here, so the numbers never
 * disagree. Without this file the page works as before: "Check" and the preview count.
 * The words come from the page, in the person's language.
 */
(function () {
  "use strict";

  var WAIT_MS = 250;

  function setUp(form) {
    var url = form.getAttribute("data-count-url");
    var csrf = form.querySelector('input[name="csrf_token"]');
    var lists = form.querySelectorAll("ul.counter[data-counter]");
    if (!url || !csrf || !lists.length) {
      return;
    }
    var timer = null;
    var asked = 0;

    function fields() {
      var body = new URLSearchParams();
      body.append("csrf_token", csrf.value);
      var boxes = form.querySelectorAll('textarea[name="text"], textarea[name^="text_for."], textarea[name="first_comment"]');
      for (var i = 0; i < boxes.length; i++) {
        body.append(boxes[i].name, boxes[i].value);
      }
      var ticked = form.querySelectorAll('input[name="channels"]:checked');
      for (var j = 0; j < ticked.length; j++) {
        body.append("channels", ticked[j].value);
      }
      var thread = form.querySelector('input[name="thread"]');
      if (thread && thread.checked) {
        body.append("thread", "1");
      }
      return body;
    }

    function item(text, over, title) {
      var li = document.createElement("li");
      li.textContent = text;
      if (over) {
        li.className = "count-over";
      }
      if (title) {
        li.title = title;
      }
      return li;
    }

    function words(row) {
      var of = (form.getAttribute("data-count-of") || "{count}/{limit}")
        .replace("{count}", row.count.toLocaleString())
        .replace("{limit}", row.limit.toLocaleString());
      if (!row.fits) {
        of += " (" + (form.getAttribute("data-count-over") || "{over} over")
          .replace("{over}", (row.count - row.limit).toLocaleString()) + ")";
      }
      return row.channel + " " + of;
    }

    function show(rows) {
      for (var i = 0; i < lists.length; i++) {
        var list = lists[i];
        var channel = list.getAttribute("data-counter");
        list.textContent = "";
        for (var j = 0; j < rows.length; j++) {
          var row = rows[j];
          // The main text's counter lists the channels that use it; a channel's own box, its own.
          var mine = channel === "" ? !row.own_text : row.channel === channel && row.own_text;
          if (mine) {
            list.appendChild(item(words(row), !row.fits, row.unit));
          }
        }
      }
    }

    function refused(message) {
      for (var i = 0; i < lists.length; i++) {
        lists[i].textContent = "";
      }
      lists[0].appendChild(item(message, true, ""));
    }

    function ask() {
      asked += 1;
      var mine = asked;
      fetch(url, {
        method: "POST",
        body: fields(),
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        redirect: "error",
      })
        .then(function (response) {
          return response.json().then(function (answer) {
            return { ok: response.ok, answer: answer };
          });
        })
        .then(function (got) {
          if (mine !== asked) {
            return; // an older answer arriving after a newer question
          }
          if (got.ok) {
            show(got.answer.channels || []);
          } else {
            refused(got.answer.detail || "");
          }
        })
        .catch(function () {
          // Signed out or offline: the counter stays as it was; "Check" still counts.
        });
    }

    function soon() {
      if (timer !== null) {
        window.clearTimeout(timer);
      }
      timer = window.setTimeout(function () {
        timer = null;
        ask();
      }, WAIT_MS);
    }

    form.addEventListener("input", soon);
    form.addEventListener("change", soon);
    ask();
  }

  function start() {
    var forms = document.querySelectorAll("form[data-count-url]");
    for (var i = 0; i < forms.length; i++) {
      setUp(forms[i]);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
