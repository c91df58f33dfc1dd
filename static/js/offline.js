/* The installable web app, the page's side (the worker is /sw.js: visits.offline_views).
   - registers the service worker;
   - at logout, and on the sign-in page, empties what the worker kept of pages and short files —
     the upload queue (IndexedDB, js/capture.js) is left alone;
   - after the worklist loads online, for a person who records visits: fetches the short files of
     their children and the two form shells, which the worker keeps, so that every child's forms
     open with no signal;
   - on a form shell (a child's form never opened online), fills in the child from the short files;
   - shows the offline banner, with the time the data on the page was fetched. */
(function () {
  "use strict";
  var script = document.currentScript;
  var config = script ? script.dataset : {};
  var PRECACHE_PREFIX = "workbox-precache";
  var UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;
  var fromCache = false;
  // A page loaded before the worker took over went past it: the worklist is then fetched again,
  // through the worker, to be kept.
  var controlledAtStart = !!(navigator.serviceWorker && navigator.serviceWorker.controller);
  var shortFilesTime = "";

  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  // As the server writes it (core.templatetags.fetched): 12月2日 14:03 / Dec 2, 14:03. The server
  // gives its local time (Asia/Shanghai) with the offset: the digits are read as they are.
  function formatTime(iso) {
    var parts = /^\d{4}-(\d\d)-(\d\d)T(\d\d):(\d\d)/.exec(iso || "");
    if (!parts) return "";
    var month = parseInt(parts[1], 10);
    var day = parseInt(parts[2], 10);
    var clock = parts[3] + ":" + parts[4];
    var chinese = (document.documentElement.lang || "zh").toLowerCase().indexOf("zh") === 0;
    return chinese ? month + "月" + day + "日 " + clock : MONTHS[month - 1] + " " + day + ", " + clock;
  }

  function localToday() {
    var now = new Date();
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return now.getFullYear() + "-" + pad(now.getMonth() + 1) + "-" + pad(now.getDate());
  }

  // --- The banner ---------------------------------------------------------------------------
  function pageFetchedAt() {
    if (shortFilesTime) return shortFilesTime;
    var time = document.querySelector("[data-fetched] time");
    if (time) return time.getAttribute("datetime");
    var banner = document.getElementById("offline-banner");
    return banner ? banner.dataset.generatedAt : "";
  }

  function showBanner() {
    var banner = document.getElementById("offline-banner");
    if (!banner) return;
    var offline = !navigator.onLine;
    // The page shown for a page not kept says so itself: it shows no data.
    if ((!offline && !fromCache) || document.querySelector("[data-offline-page]")) {
      banner.hidden = true;
      return;
    }
    var time = formatTime(pageFetchedAt());
    if (time && banner.dataset.text) banner.textContent = banner.dataset.text.replace("%(time)s", time);
    banner.hidden = false;
  }

  function askWhereFrom() {
    var worker = navigator.serviceWorker && navigator.serviceWorker.controller;
    if (!worker || typeof MessageChannel === "undefined") return;
    var channel = new MessageChannel();
    channel.port1.onmessage = function (event) {
      if (event.data && event.data.fromCache) {
        fromCache = true;
        afterCachedPage();
        showBanner();
      }
    };
    worker.postMessage({ type: "served-from-cache" }, [channel.port2]);
  }

  // --- Caches ----------------------------------------------------------------------------------
  // Everything the worker kept besides the app shell: pages (with their CSRF token) and short files.
  function forgetPages() {
    if (!window.caches) return Promise.resolve();
    return caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf(PRECACHE_PREFIX) !== 0;
      }).map(function (name) { return caches.delete(name); }));
    }).catch(function () {});
  }

  // At logout, once what is being fetched has arrived (it would be kept after the emptying).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!config.logout || form.getAttribute("action") !== config.logout) return;
    if (form.dataset.offlineCleared) return;
    event.preventDefault();
    form.dataset.offlineCleared = "1";
    var submitter = event.submitter;
    var aWhile = new Promise(function (resolve) { setTimeout(resolve, 3000); });
    Promise.race([prefetching, aWhile]).then(forgetPages).then(function () {
      if (form.requestSubmit) form.requestSubmit(submitter || undefined);
      else form.submit();
    });
  });

  // --- Prefetch after the worklist -----------------------------------------------------------
  function whenControlled() {
    return new Promise(function (resolve) {
      if (navigator.serviceWorker.controller) return resolve();
      navigator.serviceWorker.addEventListener("controllerchange", function () { resolve(); },
        { once: true });
    });
  }

  var prefetching = Promise.resolve();

  function prefetch() {
    if (!config.prefetch || !navigator.onLine || !("serviceWorker" in navigator)) return;
    if (!document.querySelector("[data-offline-prefetch]")) return;
    prefetching = whenControlled().then(function () {
      // Loaded through the worker, the worklist was kept as it came: fetched again only if not.
      return controlledAtStart ? keptSoon(location.pathname, 2000) : false;
    }).then(function (pageKept) {
      var urls = [config.prefetch].concat((config.shells || "").split(" ").filter(Boolean));
      if (!pageKept) urls.push(location.pathname);
      return Promise.all(urls.map(function (url) {
        // The whole answer read: the worker keeps a copy once the last byte is in.
        return fetch(url, { credentials: "same-origin" }).then(function (response) {
          return response.arrayBuffer();
        }).catch(function () {}).then(function () { return keptSoon(url, 5000); });
      }));
    }).then(function () {
      document.documentElement.dataset.offlineReady = "1";
    });
  }

  // Whether the worker has kept ``url`` within ``ms``: it writes its copy after the page has the
  // answer, so "fetched" does not yet mean "opens with no signal".
  function keptSoon(url, ms) {
    if (!window.caches) return Promise.resolve(false);
    var href = new URL(url, location.origin).href;
    var deadline = Date.now() + ms;
    function look() {
      return caches.match(href).then(function (hit) {
        if (hit || Date.now() > deadline) return !!hit;
        return new Promise(function (resolve) { setTimeout(resolve, 100); }).then(look);
      });
    }
    return look().catch(function () { return false; });
  }

  // --- A page the worker gave from its cache, and form shells ---------------------------------
  function generatedDay() {
    var banner = document.getElementById("offline-banner");
    return banner && banner.dataset.generatedAt ? banner.dataset.generatedAt.slice(0, 10) : "";
  }

  // The date of a form kept for days is the day it was fetched: today instead, unless changed.
  function dateToToday() {
    var field = document.querySelector('input[name="visited_on"], input[name="contacted_on"]');
    if (field && field.value && field.value === generatedDay()) field.value = localToday();
  }

  // One copy of the visit form is kept whatever its ?kind=: a contact form asks for its kind.
  function kindFromAddress() {
    var kind = new URLSearchParams(location.search).get("kind");
    if (!kind) return;
    var checked = document.querySelector('input[name="kind"]:checked');
    var wanted = document.querySelector('input[name="kind"][value="' + CSS.escape(kind) + '"]');
    if (wanted && (!checked || checked.value === "home")) wanted.checked = true;
  }

  function afterCachedPage() {
    if (document.querySelector("[data-shell]")) return;
    dateToToday();
    kindFromAddress();
  }

  function setText(root, name, value) {
    root.querySelectorAll('[data-shell-field="' + name + '"]').forEach(function (element) {
      element.textContent = value || "";
    });
  }

  function setHref(root, name, value) {
    root.querySelectorAll('[data-shell-field="' + name + '"]').forEach(function (element) {
      if (value) element.setAttribute("href", value);
    });
  }

  function fillShell(shell, data) {
    var match = UUID.exec(location.pathname);
    var child = null;
    (data.children || []).forEach(function (candidate) {
      if (match && candidate.id === match[0]) child = candidate;
    });
    shortFilesTime = data.fetched_at || "";
    var time = document.querySelector("[data-fetched] time");
    if (time && shortFilesTime) {
      time.setAttribute("datetime", shortFilesTime);
      time.textContent = formatTime(shortFilesTime);
    }
    if (!child) {
      var missing = shell.querySelector("[data-shell-missing]");
      if (missing) missing.hidden = false;
      return null;
    }
    setText(shell, "name", child.name);
    setText(shell, "village", child.village);
    setText(shell, "schedule_reason", child.schedule_reason);
    // Back where the form was opened from (a path of this site only), else the child's file.
    var next = new URLSearchParams(location.search).get("next") || "";
    var local = next.charAt(0) === "/" && next.charAt(1) !== "/" && next.charAt(1) !== "\\";
    setHref(shell, "cancel", local ? next : child.urls.detail);
    setHref(shell, "back", child.urls.detail);
    document.title = document.title.replace(/ · /, " · " + child.name + " · ");
    shell.querySelectorAll("form").forEach(function (form) {
      if (form.dataset.capture !== undefined) form.dataset.captureTitle = child.name;
      // The version of the file the form is typed on (core.capture: a change meanwhile is a conflict).
      var base = form.querySelector('input[name="base"]');
      if (base) base.value = String(child.version);
      var nextField = form.querySelector('input[name="next"]');
      if (nextField && local) nextField.value = next;
    });
    return child;
  }

  function openShell() {
    var shell = document.querySelector("[data-shell]");
    if (!shell) return;
    fromCache = true;  // a shell is only ever given by the worker, with no signal
    dateToToday();
    kindFromAddress();
    var load = config.prefetch
      ? fetch(config.prefetch, { credentials: "same-origin" }).then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          return response.json();
        })
      : Promise.reject(new Error("no short files"));
    load.then(function (data) {
      var child = fillShell(shell, data);
      document.dispatchEvent(new CustomEvent("offline:shell", { detail: { child: child } }));
    }).catch(function () {
      var missing = shell.querySelector("[data-shell-missing]");
      if (missing) missing.hidden = false;
    }).then(showBanner);
  }

  // --- Start ------------------------------------------------------------------------------------
  if ("serviceWorker" in navigator && config.sw) {
    navigator.serviceWorker.register(config.sw, { scope: "/" }).catch(function () {
      // No worker (an old browser, a private window): the site works online as before.
    });
    // A page loaded while the worker was being installed is not controlled by it: ask for it.
    navigator.serviceWorker.ready.then(function (registration) {
      if (!navigator.serviceWorker.controller && registration.active) {
        registration.active.postMessage({ type: "claim" });
      }
    });
  }

  function start() {
    // The sign-in page: whoever used this phone before is gone (logged out, or their session
    // ended), and so are the pages kept for them.
    if (config.login && location.pathname === config.login) forgetPages();
    openShell();
    showBanner();
    askWhereFrom();
    prefetch();
  }

  window.addEventListener("online", showBanner);
  window.addEventListener("offline", showBanner);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
