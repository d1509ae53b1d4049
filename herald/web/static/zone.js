/* The browser's time zone, on every page (base.html loads this file with the page's own zone).

   Pages show times in the zone the person chose, else the one their browser reports, else UTC
   (herald/web/zones.py). A server cannot ask the browser for its zone, so this script keeps it
   in a cookie (herald_browser_tz) for the next request; and when the page was shown in another
   zone for want of it, the page loads once more to use it (data-reload). Only a signed-in
   person's page that no form answered is loaded again: a form's answer would be sent twice, and
   the sign-in page shows no times (it only keeps the cookie, so nothing reloads under a person
   typing); the next page uses the cookie.

   The page is whole without this file, in UTC. A name the server does not know leaves the page
   as it is after one load, and a browser that keeps no cookies never loads it again. */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script) {
    return;
  }
  var BROWSER_COOKIE = "herald_browser_tz";
  var ZONE_NAME = /^[A-Za-z0-9_+\-]+(\/[A-Za-z0-9_+\-]+)*$/;

  function cookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === name) {
        return parts[i].slice(eq + 1);
      }
    }
    return null;
  }

  function browserZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || null;
    } catch (e) {
      return null;
    }
  }

  var reported = browserZone();
  if (!reported || !ZONE_NAME.test(reported) || cookie(BROWSER_COOKIE) === reported) {
    return;
  }
  var shown = script.getAttribute("data-viewer-zone");
  var source = script.getAttribute("data-viewer-source");
  if (source === "utc" && (reported === "UTC" || reported === "Etc/UTC" || reported === "Etc/GMT")) {
    return; // UTC by another name: nothing to change
  }
  document.cookie = BROWSER_COOKIE + "=" + reported + "; path=/; max-age=31536000; samesite=lax" +
    (location.protocol === "https:" ? "; secure" : "");
  if (
    cookie(BROWSER_COOKIE) === reported &&
    (source === "utc" || source === "browser") &&
    reported !== shown &&
    script.hasAttribute("data-reload")
  ) {
    location.reload();
  }
})();
