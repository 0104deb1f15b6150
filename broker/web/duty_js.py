"""The duty console's script, served from /web/duty.js so that the CSP can stay 'self'.

It polls /duty/items every two seconds and merges the answer into the list item by item: an
item someone is filling in, or whose acknowledgement form they opened, is never replaced
under their fingers; items closed elsewhere go, new ones come in. Between polls it rewords
every "12 min left" / "overdue by 4 min" from the server's clock (the browser's may be
wrong), and it says on the page when updates stop.
Polling rather than server-sent events: each poll is a short request like any other page, so
nothing holds a connection or a database session open, and every process behind a load
balancer can answer without a channel between them.
"""

DUTY_SCRIPT = r"""
"use strict";
(function () {
  var POLL_MS = 2000;
  var TICK_MS = 1000;
  var holder = document.getElementById("duty-items");
  var live = document.getElementById("duty-live");
  if (!holder || !live) { return; }
  var source = holder.getAttribute("data-src");
  var baseTitle = document.title;
  var clockOffset = 0;
  var lastUpdate = null;
  var stopped = false;

  function span(seconds) {
    if (seconds < 60) { return seconds + " s"; }
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) { return minutes + " min"; }
    var hours = Math.floor(minutes / 60);
    minutes = minutes % 60;
    if (hours < 24) { return minutes ? hours + " h " + minutes + " min" : hours + " h"; }
    var days = Math.floor(hours / 24);
    hours = hours % 24;
    return hours ? days + " d " + hours + " h" : days + " d";
  }

  function timeLeft(deadline, now) {
    var seconds = Math.trunc((deadline - now) / 1000);
    if (deadline > now) { return span(seconds) + " left"; }
    return "overdue by " + span(-seconds);
  }

  function serverNow() { return Date.now() + clockOffset; }

  // "14:05:09 GMT" in the partnership's zone, as the server words "as at".
  function clockTime(at) {
    var queue = document.getElementById("duty-queue");
    var zone = queue && queue.getAttribute("data-zone");
    try {
      return new Intl.DateTimeFormat("en-GB", {
        timeZone: zone || "UTC", hour: "2-digit", minute: "2-digit", second: "2-digit",
        hourCycle: "h23", timeZoneName: "short"
      }).format(new Date(at));
    } catch (e) {
      return new Date(at).toISOString().slice(11, 19) + " UTC";
    }
  }

  function tick() {
    var now = serverNow();
    holder.querySelectorAll("time.countdown").forEach(function (node) {
      var deadline = Date.parse(node.getAttribute("datetime"));
      if (isNaN(deadline)) { return; }
      node.textContent = timeLeft(deadline, now);
      var item = node.closest(".duty-alert, .duty-item");
      if (item) { item.classList.toggle("overdue", deadline <= now); }
    });
  }

  // An opened acknowledgement form counts as in use, so a refresh never folds it away.
  function busy(item) {
    return item.contains(document.activeElement) || item.hasAttribute("data-edited") ||
      item.querySelector("details[open]") !== null;
  }

  function mergeList(current, fresh) {
    var existing = {};
    Array.prototype.forEach.call(current.children, function (node) { existing[node.id] = node; });
    var wanted = Array.prototype.slice.call(fresh.children);
    var ids = {};
    wanted.forEach(function (node) { ids[node.id] = true; });
    Object.keys(existing).forEach(function (id) { if (!ids[id]) { existing[id].remove(); } });
    wanted.forEach(function (node, index) {
      var old = existing[node.id];
      var chosen = node;
      var same = old && old.getAttribute("data-version") === node.getAttribute("data-version");
      if (old && (same || busy(old))) {
        chosen = old;
      } else if (old) {
        old.remove();
      } else if (node.classList.contains("duty-item")) {
        node.classList.add("arrived");
      }
      var here = current.children[index] || null;
      if (here !== chosen) { current.insertBefore(chosen, here); }
    });
  }

  function apply(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("duty-queue");
    var current = document.getElementById("duty-queue");
    if (!fresh || !current) { return; }
    var now = Date.parse(fresh.getAttribute("data-now"));
    if (!isNaN(now)) { clockOffset = now - Date.now(); }
    current.setAttribute("data-now", fresh.getAttribute("data-now"));
    current.setAttribute("data-count", fresh.getAttribute("data-count"));
    Array.prototype.forEach.call(current.querySelectorAll(":scope > :not(ol)"), function (node) {
      node.remove();
    });
    var list = current.querySelector("ol");
    Array.prototype.forEach.call(fresh.querySelectorAll(":scope > :not(ol)"), function (node) {
      current.insertBefore(node, list);
    });
    mergeList(list, fresh.querySelector("ol"));
    prefill();
    showCount(fresh.getAttribute("data-count"));
    lastUpdate = serverNow();
    say("Updating live · last checked " + clockTime(lastUpdate), false);
  }

  function showCount(count) {
    document.title = count && count !== "0" ? "(" + count + ") " + baseTitle : baseTitle;
  }

  function say(text, stale, signIn) {
    live.textContent = text + " ";
    var link = document.createElement("a");
    link.href = signIn ? "/login" : "/duty";
    link.textContent = signIn ? "Sign in" : "Refresh";
    live.appendChild(link);
    live.classList.toggle("stale", stale);
  }

  function since() {
    return lastUpdate === null ? "" : "Not updated since " + clockTime(lastUpdate) + ": ";
  }

  function poll() {
    fetch(source, {
      credentials: "same-origin",
      cache: "no-store",
      redirect: "manual",
      headers: { "Accept": "text/html" }
    }).then(function (response) {
      var signedOut = response.type === "opaqueredirect" || response.status === 403;
      if (signedOut) {
        stopped = true;
        say(since() + "your session has ended.", true, true);
        return null;
      }
      if (!response.ok) { throw new Error("status " + response.status); }
      return response.text().then(apply);
    }).catch(function () {
      say(since() + "IMB cannot be reached; trying again.", true, false);
    }).then(function () {
      if (!stopped) { window.setTimeout(poll, POLL_MS); }
    });
  }

  function remembered(name) {
    try { return window.sessionStorage.getItem("imb-duty-" + name) || ""; } catch (e) { return ""; }
  }

  function remember(name, value) {
    try {
      window.sessionStorage.setItem("imb-duty-" + name, value);
    } catch (e) { /* storage turned off: the worker types their name each time */ }
  }

  function prefill() {
    ["name", "role"].forEach(function (field) {
      var value = remembered(field);
      if (!value) { return; }
      holder.querySelectorAll("form.duty-ack input[name=" + field + "]").forEach(function (input) {
        var item = input.closest(".duty-item");
        if (item && !busy(item)) { input.value = value; }
      });
    });
  }

  function requireReasonWhenDeclined(select) {
    var form = select.form;
    var reason = form && form.elements.namedItem("reason_code");
    if (reason) { reason.required = select.value === "declined"; }
  }

  holder.addEventListener("input", function (event) {
    var item = event.target.closest(".duty-item");
    if (item) { item.setAttribute("data-edited", ""); }
  });
  holder.addEventListener("change", function (event) {
    if (event.target.name === "outcome") { requireReasonWhenDeclined(event.target); }
  });
  holder.addEventListener("submit", function (event) {
    var form = event.target;
    ["name", "role"].forEach(function (field) {
      var input = form.elements.namedItem(field);
      if (input && input.value.trim()) { remember(field, input.value.trim()); }
    });
  });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { tick(); }
  });

  var first = document.getElementById("duty-queue");
  if (first) {
    var now = Date.parse(first.getAttribute("data-now"));
    if (!isNaN(now)) { clockOffset = now - Date.now(); }
    showCount(first.getAttribute("data-count"));
  }
  prefill();
  tick();
  window.setInterval(tick, TICK_MS);
  lastUpdate = serverNow();
  say("Updating live · last checked " + clockTime(lastUpdate), false);
  window.setTimeout(poll, POLL_MS);
})();
"""
