/*
 * Live parts of a page: elements marked data-live are read again from the server and swapped
 * in place when something changed, without reloading the page.
 *
 *   <section id="upcoming" data-live="/live/upcoming">   a fragment of its own
 *   <section id="dashboard-log" data-live>                 this page's own URL
 *   <section id="health" data-live="/live/health" data-live-every="10">   also every 10 s
 *
 * The answer must hold an element with the same id; it replaces the one on the page. Every
 * few seconds the page asks the server's version (this script's data-version URL) with the
 * ETag it last got: 304 while nothing changed, and only when it moves are the parts fetched
 * again (one request per distinct URL). Parts with data-live-every are also read on their own
 * clock (the health panel's "last heartbeat 3 s ago").
 *
 * A part is not swapped while the person is in it (focus inside it, or a field they changed):
 * it is swapped once they leave it. A hidden tab asks nothing. When the server does not
 * answer, the page waits longer each time (up to a minute) and says so; when the session has
 * ended (401, 403, or a redirect to the sign-in page), it stops and says to reload.
 *
 * No framework, no inline script (the Content-Security-Policy allows only the app's files),
 * and the page works without this file: it is then as fresh as its last load.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var versionUrl = script && script.getAttribute("data-version");
  var POLL_MS = 5000;
  var MAX_BACKOFF_MS = 60000;

  var versionTag = null;     // the ETag of the last version answer
  var version = null;        // the version the parts on the page were read at
  var delay = POLL_MS;
  var busy = false;
  var stopped = false;
  var pending = {};          // ids of parts waiting for the person to leave them
  var fragmentTags = {};     // URL -> ETag of its last answer
  var status = null;
  var announcer = null;

  function parts() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-live][id]"));
  }

  function urlOf(el) {
    var url = el.getAttribute("data-live");
    return new URL(url ? url : window.location.href, window.location.href).href;
  }

  function say(text) {
    if (!status) {
      status = document.createElement("p");
      status.className = "live-status";
      status.setAttribute("role", "status");
      (document.querySelector("main") || document.body).prepend(status);
    }
    status.hidden = !text;
    status.textContent = text || "";
  }

  function announce(text) {
    if (!announcer) {
      announcer = document.createElement("div");
      announcer.className = "visually-hidden";
      announcer.setAttribute("aria-live", "polite");
      document.body.appendChild(announcer);
    }
    announcer.textContent = text;
  }

  function message(name, fallback) {
    // Words in the page's language, if the page carries them (data-live-msg-*).
    var holder = document.querySelector("[data-live-msg-" + name + "]");
    return holder ? holder.getAttribute("data-live-msg-" + name) : fallback;
  }

  function signedOut() {
    stopped = true;
    say(message("signed-out", "Live updates stopped: you are signed out. Reload the page to sign in again."));
  }

  function offline() {
    delay = Math.min(delay * 2, MAX_BACKOFF_MS);
    say(message("offline", "Live updates paused: Herald does not answer. Trying again…"));
  }

  function online() {
    delay = POLL_MS;
    if (status && !status.hidden && !stopped) {
      say("");
    }
  }

  function inUse(el) {
    var active = document.activeElement;
    if (active && active !== document.body && el.contains(active)) {
      return true;
    }
    var fields = el.querySelectorAll("input, textarea, select");
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      if (f.type === "hidden") {
        continue;
      }
      if (f.type === "checkbox" || f.type === "radio") {
        if (f.checked !== f.defaultChecked) {
          return true;
        }
      } else if (f.tagName === "SELECT") {
        for (var j = 0; j < f.options.length; j++) {
          if (f.options[j].selected !== f.options[j].defaultSelected) {
            return true;
          }
        }
      } else if (f.value !== f.defaultValue) {
        return true;
      }
    }
    return false;
  }

  function swap(el, fresh) {
    if (inUse(el)) {
      pending[el.id] = true;
      return;
    }
    delete pending[el.id];
    var said = el.querySelector("[data-live-announce]");
    var before = said ? said.textContent.trim() : null;
    var scrolls = Array.prototype.map.call(el.querySelectorAll(".table-wrap"), function (w) {
      return w.scrollLeft;
    });
    var copy = document.importNode(fresh, true);
    el.replaceWith(copy);
    Array.prototype.forEach.call(copy.querySelectorAll(".table-wrap"), function (w, i) {
      if (scrolls[i]) {
        w.scrollLeft = scrolls[i];
      }
    });
    var now = copy.querySelector("[data-live-announce]");
    if (now && before !== null && now.textContent.trim() !== before) {
      announce(now.textContent.trim().replace(/\s+/g, " "));
    }
  }

  // Read the parts (all of them, or those given) again: one request per distinct URL.
  function refresh(which) {
    var byUrl = {};
    which.forEach(function (el) {
      var url = urlOf(el);
      (byUrl[url] = byUrl[url] || []).push(el.id);
    });
    return Promise.all(
      Object.keys(byUrl).map(function (url) {
        var headers = { Accept: "text/html", "X-Herald-Live": "1" };
        if (fragmentTags[url]) {
          headers["If-None-Match"] = fragmentTags[url];
        }
        return fetch(url, { headers: headers, credentials: "same-origin", cache: "no-store", redirect: "manual" })
          .then(function (r) {
            if (r.type === "opaqueredirect" || r.status === 401 || r.status === 403) {
              signedOut();
              return;
            }
            if (r.status === 304) {
              online();
              return;
            }
            if (!r.ok) {
              // A refusal of this part (a bad filter, 422) is shown by the page as it was.
              return;
            }
            var tag = r.headers.get("ETag");
            if (tag) {
              fragmentTags[url] = tag;
            }
            return r.text().then(function (html) {
              online();
              var doc = new DOMParser().parseFromString(html, "text/html");
              byUrl[url].forEach(function (id) {
                var el = document.getElementById(id);
                var fresh = doc.getElementById(id);
                if (el && fresh) {
                  swap(el, fresh);
                }
              });
            });
          });
      })
    );
  }

  function poll() {
    if (stopped || busy || document.hidden) {
      return schedule();
    }
    busy = true;
    var headers = { Accept: "application/json" };
    if (versionTag) {
      headers["If-None-Match"] = versionTag;
    }
    fetch(versionUrl, { headers: headers, credentials: "same-origin", cache: "no-store", redirect: "manual" })
      .then(function (r) {
        if (r.type === "opaqueredirect" || r.status === 401 || r.status === 403) {
          signedOut();
          return;
        }
        if (r.status === 304) {
          online();
          return retryPending();
        }
        if (!r.ok) {
          offline();
          return;
        }
        versionTag = r.headers.get("ETag");
        return r.json().then(function (body) {
          online();
          var changed = version !== null && body.version !== version;
          version = body.version;
          if (changed) {
            return refresh(parts().filter(function (el) {
              return !el.hasAttribute("data-live-every");
            }));
          }
          return retryPending();
        });
      })
      .catch(offline)
      .then(function () {
        busy = false;
        schedule();
      });
  }

  function retryPending() {
    var waiting = parts().filter(function (el) {
      return pending[el.id];
    });
    return waiting.length ? refresh(waiting) : null;
  }

  var timer = null;
  function schedule() {
    if (stopped) {
      return;
    }
    clearTimeout(timer);
    timer = setTimeout(poll, delay);
  }

  function start() {
    var live = parts();
    if (!live.length || !versionUrl || !window.fetch || !window.DOMParser) {
      return;
    }
    live.forEach(function (el) {
      var every = parseFloat(el.getAttribute("data-live-every"));
      if (every > 0) {
        setInterval(function () {
          var now = document.getElementById(el.id);
          if (now && !stopped && !document.hidden) {
            refresh([now]).catch(offline);
          }
        }, Math.max(every, 2) * 1000);
      }
    });
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) {
        clearTimeout(timer);
        poll();
      }
    });
    // Leaving a part that waited for the person: swap it now.
    document.addEventListener("focusout", function () {
      setTimeout(function () {
        if (Object.keys(pending).length && !stopped) {
          retryPending();
        }
      }, 200);
    });
    poll();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
