/* Herald's calendar, made quicker to use; the page works without this file. (The browser's
   time zone is reported on every page, the calendar's too, by zone.js.)

   - Moving a post: drag it to another hour (week) or day (month), or focus it and use the
     arrow keys (left/right a day, up/down an hour), then Enter; Escape keeps it where it was.
     Either way the page's own move form is sent (with its CSRF token), and the server checks
     everything again and converts the wall-clock time to UTC.

   Times here are wall-clock strings, "YYYY-MM-DDTHH:MM" in the page's zone, and arithmetic on
   them is done as if that clock never changed (Date.UTC), so the browser's own zone plays no
   part. A time a zone skips or repeats is for the server to refuse, with the reason. */
(function () {
  "use strict";

  var root = document.querySelector("[data-calendar]");
  if (!root) {
    return;
  }

  // -- moving a post ----------------------------------------------------------------------------

  var form = document.getElementById("cal-move");
  var live = document.getElementById("cal-live");
  if (!form) {
    return; // the person may not move posts
  }

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  /* A wall-clock time moved by whole days and hours. */
  function shifted(local, days, hours) {
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(local);
    if (!m) {
      return null;
    }
    var t = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3] + days, +m[4] + hours, +m[5]));
    return t.getUTCFullYear() + "-" + pad(t.getUTCMonth() + 1) + "-" + pad(t.getUTCDate()) +
      "T" + pad(t.getUTCHours()) + ":" + pad(t.getUTCMinutes());
  }

  function say(text) {
    if (live) {
      live.textContent = text;
    }
  }

  function shown(local) {
    return local.replace("T", " ");
  }

  function send(post, local) {
    form.elements.post.value = post.getAttribute("data-post");
    form.elements.at.value = local;
    var old = form.querySelectorAll('input[name="channels"]');
    for (var i = 0; i < old.length; i++) {
      old[i].remove();
    }
    var channels = (post.getAttribute("data-channels") || "").split(" ");
    for (var j = 0; j < channels.length; j++) {
      if (channels[j]) {
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = "channels";
        input.value = channels[j];
        form.appendChild(input);
      }
    }
    post.classList.add("cal-sending");
    form.submit();
  }

  function movable(el) {
    return el && el.getAttribute("data-movable") === "1";
  }

  function clearPending(post, quiet) {
    if (post.hasAttribute("data-pending")) {
      post.removeAttribute("data-pending");
      post.classList.remove("cal-pending");
      if (!quiet) {
        say(root.getAttribute("data-msg-kept") || "");
      }
    }
  }

  // Keyboard: the arrows propose a time, Enter moves the post there, Escape keeps it.
  var STEPS = {ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1]};

  root.addEventListener("keydown", function (ev) {
    var post = ev.target.closest ? ev.target.closest(".cal-post") : null;
    if (!movable(post) || ev.altKey || ev.ctrlKey || ev.metaKey || ev.shiftKey) {
      return;
    }
    var pending = post.getAttribute("data-pending");
    if (STEPS[ev.key]) {
      ev.preventDefault();
      var step = STEPS[ev.key];
      // The pending time is kept as it is shown ("YYYY-MM-DD HH:MM", for the style sheet).
      var from = pending ? pending.replace(" ", "T") : post.getAttribute("data-local");
      var next = shifted(from, step[0], step[1]);
      if (!next) {
        return;
      }
      if (next === post.getAttribute("data-local")) {
        clearPending(post, false);
        return;
      }
      post.setAttribute("data-pending", shown(next));
      post.classList.add("cal-pending");
      say((root.getAttribute("data-msg-pending") || "{time}").replace("{time}", shown(next)));
    } else if (ev.key === "Enter" && pending) {
      ev.preventDefault();
      send(post, pending.replace(" ", "T"));
    } else if (ev.key === "Escape" && pending) {
      ev.preventDefault();
      clearPending(post, false);
    }
  });

  root.addEventListener("focusout", function (ev) {
    var post = ev.target.closest ? ev.target.closest(".cal-post") : null;
    if (post && !post.classList.contains("cal-sending")) {
      clearPending(post, true);
    }
  });

  // Dragging, in the grid only (a phone's list scrolls under the finger): a post follows the
  // pointer; let go over an hour (week) or a day (month) and it moves there, keeping its
  // minutes (week) or its time of day (month).
  var DRAG_PIXELS = 6;
  var drag = null;
  var swallowClick = false;

  function slotAt(x, y) {
    var el = document.elementFromPoint(x, y);
    var cell = el && el.closest ? el.closest("[data-slot], [data-day]") : null;
    return cell && root.contains(cell) ? cell : null;
  }

  function targetTime(post, cell) {
    var local = post.getAttribute("data-local");
    if (cell.hasAttribute("data-slot")) {
      return cell.getAttribute("data-slot") + local.slice(13);
    }
    return cell.getAttribute("data-day") + local.slice(10);
  }

  function highlight(cell) {
    if (drag.over && drag.over !== cell) {
      drag.over.classList.remove("cal-drop");
    }
    drag.over = cell;
    if (cell) {
      cell.classList.add("cal-drop");
    }
  }

  function endDrag() {
    if (drag) {
      drag.post.classList.remove("cal-dragging");
      if (drag.over) {
        drag.over.classList.remove("cal-drop");
      }
    }
    drag = null;
  }

  root.addEventListener("pointerdown", function (ev) {
    var post = ev.target.closest ? ev.target.closest(".cal-grid .cal-post") : null;
    if (!movable(post) || ev.button !== 0 || !ev.isPrimary) {
      return;
    }
    drag = {post: post, x: ev.clientX, y: ev.clientY, moving: false, over: null};
  });

  document.addEventListener("pointermove", function (ev) {
    if (!drag) {
      return;
    }
    if (!drag.moving) {
      if (Math.abs(ev.clientX - drag.x) + Math.abs(ev.clientY - drag.y) < DRAG_PIXELS) {
        return;
      }
      drag.moving = true;
      drag.post.classList.add("cal-dragging");
    }
    ev.preventDefault();
    highlight(slotAt(ev.clientX, ev.clientY));
  });

  document.addEventListener("pointerup", function (ev) {
    if (!drag) {
      return;
    }
    var post = drag.post;
    var moving = drag.moving;
    var cell = moving ? slotAt(ev.clientX, ev.clientY) : null;
    endDrag();
    if (!moving) {
      return; // a click: it opens the post
    }
    swallowClick = true;
    // The click comes right after this event, if at all (not when let go outside the page).
    setTimeout(function () {
      swallowClick = false;
    }, 0);
    if (!cell) {
      return;
    }
    var to = targetTime(post, cell);
    if (to !== post.getAttribute("data-local")) {
      say((root.getAttribute("data-msg-pending") || "{time}").replace("{time}", shown(to)));
      send(post, to);
    }
  });

  document.addEventListener("pointercancel", endDrag);

  // The click that ends a drag does not open the post.
  root.addEventListener("click", function (ev) {
    if (swallowClick) {
      swallowClick = false;
      ev.preventDefault();
      ev.stopPropagation();
    }
  }, true);

  // A link is dragged by the browser itself otherwise (as a URL), which would end ours.
  root.addEventListener("dragstart", function (ev) {
    if (ev.target.closest && ev.target.closest(".cal-grid .cal-post")) {
      ev.preventDefault();
    }
  });
})();
