/* Shouwang's service worker (visits.offline_views.service_worker), revision {{ revision }}.
   Workbox 7 from our own static files (static/vendor/workbox/, no CDN). With no signal:
   - the app shell (stylesheets, scripts, icons) and /offline/ come from the precache;
   - the worklist and the visit, contact, parent-contact and visit-correction forms open as last
     fetched (network first, 4 s), a form never fetched for that child as its shell, which
     static/js/offline.js fills in from the short files (children.json, network first too);
   - any other page opens as /offline/.
   Nothing else is kept: no POST, nothing under /api/, /manage/, /accounts/, no export, no photo. */
"use strict";
const CONFIG = {{ config|safe }};
{% verbatim %}
importScripts.apply(self, CONFIG.workbox);

const { precacheAndRoute, cleanupOutdatedCaches, matchPrecache } = workbox.precaching;
const { registerRoute } = workbox.routing;
const { NetworkFirst } = workbox.strategies;
const { ExpirationPlugin } = workbox.expiration;

self.skipWaiting();
workbox.core.clientsClaim();
cleanupOutdatedCaches();
precacheAndRoute(CONFIG.precache);

const SAME_ORIGIN = self.location.origin;
const PAGES = CONFIG.pages.map(function (page) {
  return { pattern: new RegExp(page.pattern), shell: page.shell };
});

// Which pages this worker answered from its caches (client id → when that copy was fetched), for
// offline.js's banner: a page cannot tell by itself that it did not come from the network.
const fromCache = new Map();

function remember(event, response) {
  const id = event && (event.resultingClientId || event.clientId);
  if (id && response) {
    if (fromCache.size > 50) fromCache.clear();
    fromCache.set(id, response.headers.get("Date") || "");
  }
}

// Only a whole, successful answer of ours is kept: never a redirect (to the login page, say),
// an error page or somebody else's answer.
function keepOnly(type) {
  return {
    cacheWillUpdate: async function ({ response }) {
      const kind = response && response.headers.get("Content-Type");
      const fine = response && response.status === 200 && response.type === "basic" &&
        !response.redirected && kind && kind.indexOf(type) === 0;
      return fine ? response : null;
    },
  };
}

// A form is kept once whatever its query (?next=…, ?kind=phone): offline.js sets the kind.
const withoutQuery = {
  cacheKeyWillBeUsed: async function ({ request }) {
    const url = new URL(request.url);
    url.search = "";
    return url.href;
  },
};

const markCached = {
  cachedResponseWillBeUsed: async function ({ event, cachedResponse }) {
    remember(event, cachedResponse);
    return cachedResponse;
  },
};

const pages = new NetworkFirst({
  cacheName: CONFIG.caches.pages,
  networkTimeoutSeconds: CONFIG.timeout,
  plugins: [
    keepOnly("text/html"),
    withoutQuery,
    new ExpirationPlugin({ maxEntries: CONFIG.max_entries, maxAgeSeconds: CONFIG.max_age }),
    markCached,
  ],
});

const shortFiles = new NetworkFirst({
  cacheName: CONFIG.caches.children,
  networkTimeoutSeconds: CONFIG.timeout,
  plugins: [keepOnly("application/json"), withoutQuery],
});

async function offlinePage(event) {
  const response = await matchPrecache(CONFIG.offline);
  remember(event, response);
  return response || Response.error();
}

async function fromPagesCache(url) {
  return caches.match(new URL(url, SAME_ORIGIN).href, { cacheName: CONFIG.caches.pages });
}

// Page navigations: the kept pages network first, everything else straight to the network;
// with no signal, the shell or /offline/.
registerRoute(
  function ({ request, url }) {
    return request.mode === "navigate" && url.origin === SAME_ORIGIN;
  },
  async function ({ event, request, url }) {
    const page = PAGES.find(function (candidate) {
      return candidate.pattern.test(url.pathname);
    });
    if (page) {
      try {
        return await pages.handle({ event: event, request: request });
      } catch (error) {
        if (page.shell) {
          const shell = await fromPagesCache(page.shell);
          if (shell) {
            remember(event, shell);
            return shell;
          }
        }
        return offlinePage(event);
      }
    }
    try {
      return await fetch(request);
    } catch (error) {
      // The home page of a director is the worklist (accounts.views.home).
      if (url.pathname === CONFIG.home && (await fromPagesCache(CONFIG.worklist))) {
        return Response.redirect(CONFIG.worklist, 302);
      }
      return offlinePage(event);
    }
  }
);

// What offline.js fetches after the worklist: the short files, the two form shells, and the
// worklist itself when it was loaded before this worker took over.
// (js/capture.js asks for them too, for a CSRF token before uploading: on a connection too slow
// to answer within the timeout it gets the kept token, and a refused upload asks again.)
registerRoute(function ({ url }) {
  return url.origin === SAME_ORIGIN && url.pathname === CONFIG.children;
}, shortFiles);
registerRoute(function ({ request, url }) {
  // (not an htmx request for a piece of a page)
  return url.origin === SAME_ORIGIN && request.mode !== "navigate" &&
    !request.headers.get("HX-Request") &&
    (CONFIG.shells.indexOf(url.pathname) !== -1 || url.pathname === CONFIG.worklist);
}, pages);

self.addEventListener("message", function (event) {
  const data = event.data || {};
  // A page that loaded while this worker was still being installed (clientsClaim came too early
  // for it) asks to be taken over.
  if (data.type === "claim") {
    event.waitUntil(self.clients.claim());
    return;
  }
  if (data.type === "served-from-cache" && event.ports[0]) {
    const id = event.source && event.source.id;
    const fetched = id ? fromCache.get(id) : undefined;
    if (id) fromCache.delete(id);
    event.ports[0].postMessage({ fromCache: fetched !== undefined, date: fetched || "" });
  }
});
{% endverbatim %}
