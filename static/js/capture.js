/* Shouwang offline capture (issue 19): drafts kept as they are typed, photos resized on the phone,
   an upload queue that empties itself when the signal returns, and a conflict screen.

   Forms marked data-capture="visit" | "parent_contact" | "visit_edit" are saved into IndexedDB
   ("shouwang": stores drafts and queue) on every input; Save sends them with XMLHttpRequest and the
   headers of the sync protocol (X-Shouwang-Sync: 1), the server answering JSON. Every record is
   tagged with the signed-in user (<body data-user>): only that user's items are shown, counted
   and uploaded. Texts come translated from <template id="capture-strings">.
   The Content-Security-Policy forbids inline scripts and handlers: everything is bound here. */
(function () {
  "use strict";

  var MAX_PHOTOS = 5;
  var MAX_SIDE = 1600;
  var MAX_BYTES = 400 * 1024;
  var SAVE_DELAY_MS = 300;
  var SYNC_EVERY_MS = 60 * 1000;
  var STALL_MS = 45 * 1000; // an upload with no progress for this long is abandoned (retried later)
  var LOCK_MS = 3 * 60 * 1000; // the fallback cross-tab lock expires after this
  var QUEUE_URL = "/visits/offline/queue/";
  var DATA_URL = "/visits/offline/children.json";
  var WORKLIST_URL = "/visits/";
  var FLASH_KEY = "shouwang-capture-flash";
  var SKIP = { csrfmiddlewaretoken: true };

  var body = document.body;
  var USER = (body && body.getAttribute("data-user")) || "";

  // --- Texts ---------------------------------------------------------------------------------
  var TEXTS = {};
  var stringsTemplate = document.getElementById("capture-strings");
  if (stringsTemplate && stringsTemplate.content) {
    stringsTemplate.content.querySelectorAll("[data-k]").forEach(function (el) {
      TEXTS[el.getAttribute("data-k")] = el.textContent.trim();
    });
  }
  function t(key, values) {
    var text = TEXTS[key] || key;
    if (values) {
      Object.keys(values).forEach(function (name) {
        text = text.split("{" + name + "}").join(String(values[name]));
      });
    }
    return text;
  }

  // --- IndexedDB -------------------------------------------------------------------------------
  var dbPromise = null;
  function db() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var request = indexedDB.open("shouwang", 1);
        request.onupgradeneeded = function () {
          var database = request.result;
          ["drafts", "queue"].forEach(function (name) {
            if (!database.objectStoreNames.contains(name)) {
              database.createObjectStore(name, { keyPath: "key" });
            }
          });
        };
        request.onsuccess = function () {
          var database = request.result;
          database.onversionchange = function () {
            database.close();
            dbPromise = null;
          };
          resolve(database);
        };
        request.onerror = function () {
          dbPromise = null;
          reject(request.error);
        };
      });
    }
    return dbPromise;
  }
  function store(name, mode, action) {
    return db().then(function (database) {
      return new Promise(function (resolve, reject) {
        var transaction = database.transaction(name, mode);
        var request = action(transaction.objectStore(name));
        var result;
        if (request) {
          request.onsuccess = function () {
            result = request.result;
          };
        }
        transaction.oncomplete = function () {
          resolve(result);
        };
        transaction.onerror = transaction.onabort = function () {
          reject(transaction.error);
        };
      });
    });
  }
  function idbGet(name, key) {
    return store(name, "readonly", function (s) {
      return s.get(key);
    });
  }
  function idbPut(name, value) {
    return store(name, "readwrite", function (s) {
      return s.put(value);
    });
  }
  function idbDelete(name, key) {
    return store(name, "readwrite", function (s) {
      return s.delete(key);
    });
  }
  function idbMine(name) {
    return store(name, "readonly", function (s) {
      return s.getAll();
    }).then(function (all) {
      return (all || []).filter(function (item) {
        return USER && item.user === USER;
      });
    });
  }

  // --- Small helpers ---------------------------------------------------------------------------
  function uuid4() {
    if (window.crypto && crypto.randomUUID) {
      return crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 0x100).toString(16).slice(1);
    });
    return [0, 4, 6, 8, 10]
      .map(function (start, i, starts) {
        return hex.slice(start, starts[i + 1] || 16).join("");
      })
      .join("-");
  }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") {
        node.textContent = attrs[name];
      } else if (name === "class") {
        node.className = attrs[name];
      } else if (attrs[name] !== null && attrs[name] !== undefined && attrs[name] !== false) {
        node.setAttribute(name, attrs[name] === true ? "" : attrs[name]);
      }
    });
    (children || []).forEach(function (child) {
      if (child) {
        node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
      }
    });
    return node;
  }
  function kb(bytes) {
    return Math.max(1, Math.round(bytes / 1024)) + " KB";
  }
  function broadcast() {
    if (channel) {
      channel.postMessage("changed");
    }
    refreshBadge();
    renderQueuePage();
  }
  var channel = window.BroadcastChannel ? new BroadcastChannel("shouwang-capture") : null;
  if (channel) {
    channel.onmessage = function () {
      refreshBadge();
      renderQueuePage();
    };
  }
  function pageToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }
  function showFlash(text, level) {
    var main = document.getElementById("main");
    if (!main) {
      return;
    }
    var alert = el("div", { class: "alert alert-" + (level || "info") + " sw-capture-flash", role: "status" }, [
      text,
    ]);
    main.insertBefore(alert, main.firstChild);
    window.scrollTo(0, 0);
  }

  // --- Reading and filling a form --------------------------------------------------------------
  function labelOf(form, name, element) {
    var wrapper = form.querySelector("#div_id_" + CSS.escape(name));
    var label = wrapper && wrapper.querySelector("label, legend, .form-label");
    if ((!label || wrapper.querySelector(".btn-check")) && wrapper) {
      label = wrapper.querySelector(".form-label, legend") || label;
    }
    if (!label && element && element.id) {
      label = form.querySelector("label[for=" + CSS.escape(element.id) + "]");
    }
    return label ? label.textContent.replace(/\*\s*$/, "").trim() : name;
  }
  function optionText(form, element) {
    var label = element.id && form.querySelector("label[for=" + CSS.escape(element.id) + "]");
    return label ? label.textContent.trim() : element.value;
  }
  function captured(element) {
    return (
      element.name &&
      !SKIP[element.name] &&
      !element.disabled &&
      ["file", "submit", "button", "reset", "image"].indexOf(element.type) < 0 &&
      element.tagName !== "BUTTON" &&
      element.tagName !== "FIELDSET"
    );
  }
  /* The form as pairs [name, value] (what FormData would carry, without files), the names it has,
     and for each name its label and the text of what was chosen (for the conflict screen). */
  function readForm(form) {
    var fields = [];
    var names = [];
    var labels = {};
    var displays = {};
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!captured(element)) {
        return;
      }
      var name = element.name;
      if (names.indexOf(name) < 0) {
        names.push(name);
        if (element.type !== "hidden") {
          labels[name] = labelOf(form, name, element);
        }
      }
      var shown = null;
      if (element.type === "radio" || element.type === "checkbox") {
        if (element.checked) {
          fields.push([name, element.value]);
          shown = optionText(form, element);
        }
      } else if (element.type === "select-multiple") {
        Array.prototype.forEach.call(element.selectedOptions, function (option) {
          fields.push([name, option.value]);
          displays[name] = (displays[name] ? displays[name] + "、" : "") + option.textContent.trim();
        });
      } else {
        fields.push([name, element.value]);
        if (element.tagName === "SELECT" && element.selectedOptions.length) {
          shown = element.selectedOptions[0].textContent.trim();
        } else {
          shown = element.value;
        }
      }
      if (shown !== null && element.type !== "hidden" && shown !== "") {
        displays[name] = displays[name] ? displays[name] + "、" + shown : shown;
      }
    });
    return { fields: fields, names: names, labels: labels, displays: displays };
  }
  function valuesByName(fields) {
    var map = {};
    fields.forEach(function (pair) {
      (map[pair[0]] = map[pair[0]] || []).push(pair[1]);
    });
    return map;
  }
  function fillForm(form, draft) {
    var values = valuesByName(draft.fields || []);
    var used = {};
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!captured(element) || (draft.names || []).indexOf(element.name) < 0) {
        return;
      }
      var mine = values[element.name] || [];
      if (element.type === "radio" || element.type === "checkbox") {
        element.checked = mine.indexOf(element.value) >= 0;
      } else if (element.type === "select-multiple") {
        Array.prototype.forEach.call(element.options, function (option) {
          option.selected = mine.indexOf(option.value) >= 0;
        });
      } else {
        var index = used[element.name] || 0;
        used[element.name] = index + 1;
        element.value = index < mine.length ? mine[index] : "";
      }
    });
    // Open folded details that now hold something.
    form.querySelectorAll("details").forEach(function (details) {
      var filled = Array.prototype.some.call(details.querySelectorAll("input, textarea, select"), function (x) {
        if (x.type === "radio" || x.type === "checkbox") {
          return x.checked;
        }
        return x.type !== "file" && x.type !== "hidden" && x.value;
      });
      if (filled) {
        details.open = true;
      }
    });
  }

  // --- Photos: resized on the phone --------------------------------------------------------------
  function loadImage(file) {
    // The CSP allows data: images but not blob: ones.
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () {
        var image = new Image();
        image.onload = function () {
          resolve(image);
        };
        image.onerror = reject;
        image.src = reader.result;
      };
      reader.onerror = reject;
      reader.readAsDataURL(file);
    });
  }
  function decode(file) {
    if (window.createImageBitmap) {
      return createImageBitmap(file, { imageOrientation: "from-image" }).catch(function () {
        return loadImage(file);
      });
    }
    return loadImage(file);
  }
  function toBlob(canvas, quality) {
    return new Promise(function (resolve) {
      canvas.toBlob(resolve, "image/jpeg", quality);
    });
  }
  function thumbnail(source, width, height) {
    var side = 160;
    var scale = Math.min(1, side / Math.max(width, height));
    var canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(width * scale));
    canvas.height = Math.max(1, Math.round(height * scale));
    canvas.getContext("2d").drawImage(source, 0, 0, canvas.width, canvas.height);
    return canvas.toDataURL("image/jpeg", 0.7);
  }
  /* ≤ 1600 px on the long side, JPEG, quality from 0.82 down until ≤ 400 KB (smaller if needed). */
  async function resizePhoto(file) {
    var source = await decode(file);
    var width = source.naturalWidth || source.width;
    var height = source.naturalHeight || source.height;
    var scale = Math.min(1, MAX_SIDE / Math.max(width, height));
    var blob = null;
    var canvas;
    for (var round = 0; round < 6; round++) {
      canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(width * scale));
      canvas.height = Math.max(1, Math.round(height * scale));
      var context = canvas.getContext("2d");
      context.fillStyle = "#fff";
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.drawImage(source, 0, 0, canvas.width, canvas.height);
      for (var quality = 0.82; quality >= 0.5; quality -= 0.08) {
        blob = await toBlob(canvas, quality);
        if (blob && blob.size <= MAX_BYTES) {
          break;
        }
      }
      if (blob && blob.size <= MAX_BYTES) {
        break;
      }
      scale *= 0.8;
    }
    if (source.close) {
      source.close();
    }
    var name = (file.name || "photo").replace(/\.[^.]*$/, "") + ".jpg";
    return {
      id: uuid4(),
      blob: blob,
      name: name,
      size: blob.size,
      width: canvas.width,
      height: canvas.height,
      original: file.size,
      thumb: thumbnail(canvas, canvas.width, canvas.height),
    };
  }

  // --- Sending --------------------------------------------------------------------------------
  function formData(item, token) {
    var data = new FormData();
    (item.fields || []).forEach(function (pair) {
      data.append(pair[0], pair[1]);
    });
    if (item.clientId && item.kind !== "visit_edit") {
      data.set("client_id", item.clientId);
    }
    if (item.force) {
      data.set("force", "1");
      data.set("base", item.base || "");
    }
    (item.photos || []).forEach(function (photo) {
      data.append(item.photoField || "photos", photo.blob, photo.name);
    });
    if (token) {
      data.set("csrfmiddlewaretoken", token);
    }
    return data;
  }
  /* POST the item; resolves {status, json, html} (status 0: no answer). */
  function send(item, options) {
    return new Promise(function (resolve) {
      var xhr = new XMLHttpRequest();
      var stall = null;
      var done = false;
      function finish(result) {
        if (!done) {
          done = true;
          clearTimeout(stall);
          resolve(result);
        }
      }
      function watch() {
        clearTimeout(stall);
        stall = setTimeout(function () {
          xhr.abort();
          finish({ status: 0, timeout: true });
        }, STALL_MS);
      }
      xhr.open("POST", item.url);
      xhr.setRequestHeader("X-Shouwang-Sync", "1");
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      if (options.token) {
        xhr.setRequestHeader("X-CSRFToken", options.token);
      }
      if (options.interactive) {
        xhr.setRequestHeader("X-Shouwang-Interactive", "1");
      }
      xhr.upload.onprogress = function (event) {
        watch();
        if (event.lengthComputable && options.progress) {
          options.progress(Math.min(99, Math.floor((100 * event.loaded) / event.total)));
        }
      };
      xhr.onprogress = watch;
      xhr.onload = function () {
        var json = null;
        var type = xhr.getResponseHeader("Content-Type") || "";
        if (type.indexOf("application/json") >= 0) {
          try {
            json = JSON.parse(xhr.responseText);
          } catch (error) {
            json = null;
          }
        }
        var status = xhr.status;
        if (!json && status >= 200 && status < 300 && /\/accounts\//.test(xhr.responseURL || "")) {
          status = 401; // followed a redirect to the sign-in page
        } else if (!json && status >= 200 && status < 300) {
          status = 0; // not the server's answer (a portal page of a hotel Wi-Fi…): try later
        }
        if (options.progress && status) {
          options.progress(100);
        }
        finish({ status: status, json: json });
      };
      xhr.onerror = xhr.onabort = function () {
        finish({ status: 0 });
      };
      xhr.ontimeout = function () {
        finish({ status: 0, timeout: true });
      };
      watch();
      xhr.send(formData(item, options.token));
    });
  }
  var tokenCache = "";
  /* A fresh CSRF token (and a check that the session is alive) before a sync run. */
  function freshToken() {
    return fetch(DATA_URL, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (response.status === 401 || /\/accounts\//.test(response.url)) {
          return { login: true };
        }
        return response.ok ? response.json() : {};
      })
      .then(function (data) {
        if (data && data.login) {
          return { login: true };
        }
        tokenCache = (data && data.csrf_token) || tokenCache || pageToken();
        return { token: tokenCache };
      })
      .catch(function () {
        return { token: tokenCache || pageToken() };
      });
  }
  function backoff(item, reason) {
    item.attempts = (item.attempts || 0) + 1;
    item.nextTry = Date.now() + Math.min(60 * 60 * 1000, 15 * 1000 * Math.pow(2, item.attempts - 1));
    item.status = "waiting";
    item.reason = reason || "";
  }
  /* What an answer means for a queued item. Returns "done" | "conflict" | "login" | "retry" | "invalid". */
  function settle(item, result) {
    var json = result.json || {};
    var status = result.status;
    if ((status === 200 || status === 201) && ["created", "saved", "duplicate"].indexOf(json.status) >= 0) {
      return idbDelete("queue", item.key).then(function () {
        return "done";
      });
    }
    if (status === 409 || status === 404 || status === 403) {
      var reason = status === 409 ? json.reason || "changed" : status === 404 ? "gone" : "forbidden";
      if (item.kept && (reason === "closed" || reason === "gone")) {
        // The director chose to keep it on the phone: try again later, quietly.
        backoff(item, reason);
      } else {
        item.status = "conflict";
        item.conflict = {
          reason: reason,
          message: json.message || "",
          base: json.base || "",
          server: json.server || null,
          then: json.then || null,
        };
      }
      return idbPut("queue", item).then(function () {
        return item.status === "conflict" ? "conflict" : "retry";
      });
    }
    if (status === 422 || status === 413) {
      item.status = "conflict";
      item.conflict = { reason: "invalid", errors: json.errors || {}, message: status === 413 ? t("too_big") : "" };
      return idbPut("queue", item).then(function () {
        return "invalid";
      });
    }
    if (status === 401) {
      item.status = "login";
      return idbPut("queue", item).then(function () {
        return "login";
      });
    }
    backoff(item, result.timeout ? "timeout" : status ? "http " + status : "network");
    return idbPut("queue", item).then(function () {
      return "retry";
    });
  }

  // --- The queue and the sync run ----------------------------------------------------------------
  function visitIdOf(path) {
    var match = /\/visits\/([0-9a-f-]{36})\/edit\//.exec(path);
    return match ? match[1] : "edit";
  }
  function toQueue(draft) {
    var item = Object.assign({}, draft);
    item.key = draft.kind === "visit_edit" ? visitIdOf(draft.path) + ":" + uuid4() : draft.clientId;
    item.status = "waiting";
    item.attempts = 0;
    item.nextTry = 0;
    item.queuedAt = Date.now();
    delete item.merge;
    return idbPut("queue", item)
      .then(function () {
        return idbDelete("drafts", draft.key);
      })
      .then(function () {
        broadcast();
        return item;
      });
  }
  var progressOf = {};
  function withLock(run) {
    if (navigator.locks && navigator.locks.request) {
      return navigator.locks.request("shouwang-sync", { ifAvailable: true }, function (lock) {
        return lock ? run() : null;
      });
    }
    var key = "shouwang-sync-lock";
    var now = Date.now();
    var held = 0;
    try {
      held = Number(localStorage.getItem(key)) || 0;
    } catch (error) {
      held = 0;
    }
    if (held > now) {
      return Promise.resolve(null);
    }
    try {
      localStorage.setItem(key, String(now + LOCK_MS));
    } catch (error) {
      /* private mode: run without the lock */
    }
    var release = function () {
      try {
        localStorage.removeItem(key);
      } catch (error) {
        /* ignore */
      }
    };
    return run().then(
      function (value) {
        release();
        return value;
      },
      function (error) {
        release();
        throw error;
      }
    );
  }
  var running = false;
  /* Upload what waits, oldest first, one run at a time across tabs. `now`: ignore the backoff. */
  function syncRun(now) {
    if (!USER || running || !navigator.onLine) {
      return Promise.resolve();
    }
    running = true;
    return withLock(async function () {
      var items = (await idbMine("queue")).sort(function (a, b) {
        return a.queuedAt - b.queuedAt;
      });
      var due = items.filter(function (item) {
        return (
          ["waiting", "uploading", "login"].indexOf(item.status) >= 0 &&
          (now || !item.nextTry || item.nextTry <= Date.now())
        );
      });
      if (!due.length) {
        return;
      }
      var fresh = await freshToken();
      if (fresh.login) {
        for (var j = 0; j < due.length; j++) {
          due[j].status = "login";
          await idbPut("queue", due[j]);
        }
        return;
      }
      var token = fresh.token;
      var uploaded = 0;
      for (var i = 0; i < due.length; i++) {
        var item = await idbGet("queue", due[i].key);
        if (!item) {
          continue; // discarded in another tab meanwhile
        }
        item.status = "uploading";
        await idbPut("queue", item);
        progressOf[item.key] = 0;
        broadcast();
        var key = item.key;
        var progress = function (percent) {
          progressOf[key] = percent;
          showProgress(key, percent);
        };
        var result = await send(item, { token: token, progress: progress });
        if (result.status === 403) {
          token = (await freshToken()).token;
          result = await send(item, { token: token, progress: progress });
        }
        delete progressOf[item.key];
        var outcome = await settle(item, result);
        if (outcome === "done") {
          uploaded++;
        }
        broadcast();
        if (outcome === "login" || (outcome === "retry" && !navigator.onLine)) {
          break;
        }
      }
      if (uploaded && queueRoot()) {
        showFlash(t("uploaded", { count: uploaded }), "success");
      }
    }).then(
      function () {
        running = false;
        broadcast();
        scheduleRetry();
      },
      function () {
        running = false;
        scheduleRetry();
      }
    );
  }
  var retryTimer = null;
  /* A try that failed as the signal came back (the first answers of a returning network often do)
     is tried again when its backoff ends (15 s, 30 s …), not only at the next minute's run. */
  function scheduleRetry() {
    if (!USER) {
      return;
    }
    idbMine("queue").then(function (items) {
      var soonest = Infinity;
      items.forEach(function (item) {
        if (item.status === "waiting" && item.nextTry) {
          soonest = Math.min(soonest, item.nextTry);
        }
      });
      var wait = Math.max(1000, soonest - Date.now());
      if (soonest === Infinity || wait >= SYNC_EVERY_MS) {
        return;
      }
      clearTimeout(retryTimer);
      retryTimer = setTimeout(function () {
        syncRun(false);
      }, wait);
    });
  }

  // --- The badge on every page ------------------------------------------------------------------
  function refreshBadge() {
    var badge = document.getElementById("sync-count");
    if (!badge || !USER) {
      return Promise.resolve();
    }
    return idbMine("queue").then(function (items) {
      var number = badge.querySelector("[data-sync-n]") || badge;
      number.textContent = String(items.length);
      badge.hidden = items.length === 0;
      var trouble = items.some(function (item) {
        return item.status === "conflict" || item.status === "login";
      });
      badge.classList.toggle("text-bg-danger", trouble);
      badge.classList.toggle("text-bg-warning", !trouble);
      badge.setAttribute("title", t("waiting_count", { count: items.length }));
      badge.setAttribute("aria-label", t("waiting_count", { count: items.length }));
    });
  }

  // --- A capture form ---------------------------------------------------------------------------
  function bindForm(form, reuse) {
    if (form.getAttribute("data-capture-bound")) {
      return;
    }
    form.setAttribute("data-capture-bound", "1");
    var kind = form.getAttribute("data-capture");
    var path = location.pathname;
    var url = location.pathname + location.search;
    var idInput = form.querySelector("input[name=client_id]");
    var fileInput = form.querySelector("input[type=file]");
    var submit = form.querySelector("[type=submit]");
    var progressBox = form.querySelector("[data-capture-progress]");
    var state = {
      key: null,
      clientId: kind === "visit_edit" ? "" : (idInput && idInput.value) || "",
      photos: [],
      createdAt: Date.now(),
      timer: null,
      dirty: false,
      off: false,
      busy: false,
      merge: null,
      pending: 0,
    };
    var photoBox = null;
    form.captureState = state; // showInvalid turns it off when the form is replaced

    function keyFor() {
      return path + "|" + (kind === "visit_edit" ? "edit" : state.clientId);
    }
    function ensureId() {
      if (kind !== "visit_edit" && !state.clientId) {
        state.clientId = uuid4();
      }
      if (idInput && kind !== "visit_edit") {
        idInput.value = state.clientId;
      }
      state.key = keyFor();
    }
    function record() {
      var data = readForm(form);
      var dateInput = form.querySelector("input[type=date]");
      // A form shell opened offline (static/js/offline.js) names the child in its heading.
      var heading = (document.querySelector("h1") || {}).textContent || "";
      var title = form.getAttribute("data-capture-title") || heading.split("：").pop().trim();
      return {
        key: state.key,
        user: USER,
        kind: kind,
        path: path,
        url: url,
        title: title,
        what: form.getAttribute("data-capture-what") || "",
        date: dateInput ? dateInput.value : "",
        clientId: state.clientId,
        base: (form.querySelector("input[name=base]") || {}).value || "",
        fields: data.fields,
        names: data.names,
        labels: data.labels,
        displays: data.displays,
        photoField: fileInput ? fileInput.name : "photos",
        photos: state.photos,
        merge: state.merge,
        createdAt: state.createdAt,
        updatedAt: Date.now(),
      };
    }
    function saveNow() {
      clearTimeout(state.timer);
      if (state.off || !state.dirty) {
        return Promise.resolve();
      }
      ensureId();
      return idbPut("drafts", record());
    }
    function saveSoon() {
      if (state.off) {
        return;
      }
      state.dirty = true;
      ensureId();
      clearTimeout(state.timer);
      state.timer = setTimeout(saveNow, SAVE_DELAY_MS);
    }
    function setBusy(busy) {
      state.busy = busy;
      if (submit) {
        submit.disabled = busy || state.pending > 0;
        submit.setAttribute("aria-busy", busy ? "true" : "false");
      }
      if (progressBox) {
        progressBox.hidden = !busy;
      }
    }
    function showSendProgress(percent) {
      if (!progressBox) {
        return;
      }
      var bar = progressBox.querySelector("progress");
      var text = progressBox.querySelector("[data-capture-percent]");
      if (bar) {
        bar.value = percent;
      }
      if (text) {
        text.textContent = t("sending", { percent: percent + "%" });
      }
    }

    // Photos: the limits before choosing, thumbnails after.
    function renderPhotos() {
      if (!photoBox) {
        return;
      }
      var list = photoBox.querySelector("[data-capture-thumbs]");
      list.textContent = "";
      state.photos.forEach(function (photo, index) {
        var remove = el("button", {
          type: "button",
          class: "btn btn-sm btn-outline-danger sw-thumb-remove",
          "data-remove-photo": photo.id,
          "aria-label": t("remove_photo", { number: index + 1 }),
        }, ["×"]);
        list.appendChild(
          el("li", { class: "sw-thumb" }, [
            el("img", { src: photo.thumb, alt: t("photo_n", { number: index + 1 }), width: "80", height: "80" }),
            el("span", { class: "small text-secondary d-block", text: photo.width + "×" + photo.height + " · " + kb(photo.size) }),
            remove,
          ])
        );
      });
      var count = photoBox.querySelector("[data-capture-photo-count]");
      count.textContent = state.photos.length ? t("photos_chosen", { count: state.photos.length, max: MAX_PHOTOS }) : "";
      if (fileInput) {
        fileInput.disabled = state.photos.length >= MAX_PHOTOS;
      }
    }
    function photoError(text) {
      var error = photoBox.querySelector("[data-capture-photo-error]");
      error.textContent = text || "";
      error.hidden = !text;
    }
    if (fileInput) {
      fileInput.multiple = true;
      photoBox = el("div", { class: "sw-capture-photos mt-1", "data-capture-photos": "" }, [
        el("div", { class: "form-text", "data-capture-limits": "", text: t("photo_limits", { max: MAX_PHOTOS }) }),
        el("div", { class: "invalid-feedback d-block", "data-capture-photo-error": "", role: "alert", hidden: true }),
        el("div", { class: "small", "data-capture-photo-count": "", "aria-live": "polite" }),
        el("ul", { class: "list-unstyled d-flex flex-wrap gap-2 mb-0 sw-thumbs", "data-capture-thumbs": "" }),
      ]);
      fileInput.insertAdjacentElement("afterend", photoBox);
      fileInput.addEventListener("change", async function (event) {
        event.stopPropagation();
        var files = Array.prototype.slice.call(fileInput.files || []);
        fileInput.value = "";
        if (!files.length) {
          return;
        }
        var room = MAX_PHOTOS - state.photos.length;
        photoError(files.length > room ? t("too_many_photos", { max: MAX_PHOTOS, left: Math.max(0, files.length - room) }) : "");
        files = files.slice(0, Math.max(0, room));
        state.pending += files.length;
        setBusy(state.busy);
        var note = photoBox.querySelector("[data-capture-photo-count]");
        for (var i = 0; i < files.length; i++) {
          note.textContent = t("resizing", { number: i + 1, count: files.length });
          try {
            state.photos.push(await resizePhoto(files[i]));
          } catch (error) {
            photoError(t("not_an_image", { name: files[i].name }));
          }
          state.pending--;
          renderPhotos();
          state.dirty = true;
          ensureId();
          await saveNow();
        }
        setBusy(state.busy);
      });
      photoBox.addEventListener("click", function (event) {
        var button = event.target.closest("[data-remove-photo]");
        if (button) {
          var id = button.getAttribute("data-remove-photo");
          state.photos = state.photos.filter(function (photo) {
            return photo.id !== id;
          });
          photoError("");
          renderPhotos();
          state.dirty = true;
          saveNow();
        }
      });
    }

    form.addEventListener("input", saveSoon);
    form.addEventListener("change", saveSoon);
    window.addEventListener("pagehide", saveNow);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") {
        saveNow();
      }
    });

    // The draft: restored when the form opens, with a notice and a way to drop it.
    function restoreNotice() {
      var notice = el("div", { class: "alert alert-info d-flex align-items-center gap-2 py-2 sw-draft-notice", role: "status" }, [
        el("span", { class: "flex-grow-1", text: t("draft_restored") }),
        el("button", { type: "button", class: "btn btn-sm btn-outline-secondary", "data-clear-draft": "", text: t("clear_draft") }),
      ]);
      form.parentNode.insertBefore(notice, form);
      notice.querySelector("[data-clear-draft]").addEventListener("click", function () {
        state.off = true;
        clearTimeout(state.timer);
        idbDelete("drafts", state.key).then(function () {
          form.reset();
          state.photos = [];
          state.clientId = "";
          state.dirty = false;
          state.merge = null;
          if (idInput) {
            idInput.value = "";
          }
          renderPhotos();
          notice.remove();
          var mergePanel = document.querySelector("[data-capture-merge-panel]");
          if (mergePanel) {
            mergePanel.remove();
          }
          state.off = false;
        });
      });
    }
    function showMergePanel(merge) {
      var rows = ((merge.server && merge.server.fields) || []).map(function (field) {
        return el("div", { class: "d-flex gap-2" }, [
          el("dt", { class: "fw-normal text-secondary", text: field.label }),
          el("dd", { class: "mb-0", text: field.display || "—" }),
        ]);
      });
      var panel = el("div", { class: "card card-body mb-2 py-2 border-warning sw-merge-panel", "data-capture-merge-panel": "" }, [
        el("div", { class: "fw-semibold small mb-1", text: t("file_now") + ((merge.server && merge.server.title) ? "：" + merge.server.title : "") }),
        merge.message ? el("p", { class: "small mb-1", text: merge.message }) : null,
        el("dl", { class: "small mb-0" }, rows),
      ]);
      form.parentNode.insertBefore(panel, form);
    }
    function adopt(draft, fill) {
      state.key = draft.key;
      state.clientId = draft.clientId || "";
      state.photos = draft.photos || [];
      state.createdAt = draft.createdAt || Date.now();
      state.merge = draft.merge || null;
      state.dirty = true;
      if (fill) {
        fillForm(form, draft);
      }
      if (idInput && kind !== "visit_edit") {
        idInput.value = state.clientId;
      }
      renderPhotos();
    }
    if (reuse) {
      adopt(reuse, false);
      if (state.merge) {
        showMergePanel(state.merge);
      }
    } else {
      idbMine("drafts").then(function (drafts) {
        var wanted = /[#&]draft=([^&]+)/.exec(location.hash);
        var mine = drafts
          .filter(function (draft) {
            return draft.path === path && (!wanted || draft.clientId === decodeURIComponent(wanted[1]) || draft.key === decodeURIComponent(wanted[1]));
          })
          .sort(function (a, b) {
            return b.updatedAt - a.updatedAt;
          });
        if (mine.length && !state.dirty) {
          adopt(mine[0], true);
          restoreNotice();
          if (state.merge) {
            showMergePanel(state.merge);
          }
        }
      });
    }

    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      if (state.busy || state.pending > 0) {
        return;
      }
      state.dirty = true;
      await saveNow();
      var item = record();
      if (!navigator.onLine) {
        return queued(item);
      }
      setBusy(true);
      showSendProgress(0);
      var token = pageToken();
      var result = await send(item, { interactive: true, token: token, progress: showSendProgress });
      if (result.status === 403) {
        token = (await freshToken()).token || token;
        result = await send(item, { interactive: true, token: token, progress: showSendProgress });
      }
      var json = result.json || {};
      if ((result.status === 200 || result.status === 201) && ["created", "saved", "duplicate"].indexOf(json.status) >= 0) {
        state.off = true;
        await idbDelete("drafts", item.key);
        location.assign(json.redirect || WORKLIST_URL);
        return;
      }
      setBusy(false);
      if (result.status === 422 && json.html) {
        return showInvalid(json.html, record());
      }
      if (result.status === 401) {
        await queued(item, t("login_expired"));
        return;
      }
      if ([409, 404, 403, 413].indexOf(result.status) >= 0) {
        state.off = true;
        var entry = await toQueue(item);
        await settle(entry, result);
        location.assign(QUEUE_URL + "#item=" + encodeURIComponent(entry.key));
        return;
      }
      // No answer, a cut body (400), a server error: it waits on the phone.
      await queued(item);
    });

    function queued(item, message) {
      state.off = true;
      return toQueue(item).then(function (entry) {
        if (message) {
          entry.status = "login";
          return idbPut("queue", entry);
        }
      }).then(function () {
        var text = message || t("queued");
        var go = function () {
          try {
            sessionStorage.setItem(FLASH_KEY, text);
          } catch (error) {
            /* no session storage: the message is shown here instead */
          }
          location.assign(WORKLIST_URL);
        };
        var stay = function () {
          var box = el("div", { class: "alert alert-warning sw-queued", role: "status" }, [
            el("div", { class: "fw-semibold", text: text }),
            el("a", { class: "alert-link", href: WORKLIST_URL, text: t("back_to_worklist") }),
          ]);
          form.parentNode.replaceChild(box, form);
          var notice = document.querySelector(".sw-draft-notice");
          if (notice) {
            notice.remove();
          }
          window.scrollTo(0, 0);
          refreshBadge();
        };
        // Go to the worklist when the phone can show it (online, or kept by the service worker).
        if (navigator.onLine && !message) {
          return go();
        }
        if (window.caches && caches.match) {
          return caches.match(WORKLIST_URL).then(function (hit) {
            return hit ? go() : stay();
          }, stay);
        }
        return stay();
      });
    }
  }

  /* 422: the server's page (with its error messages) replaces ours; photos come back from the draft. */
  function showInvalid(html, draft) {
    var page = new DOMParser().parseFromString(html, "text/html");
    var theirs = page.querySelector("main");
    var ours = document.getElementById("main") || document.querySelector("main");
    if (!theirs || !ours) {
      return;
    }
    ours.querySelectorAll("form[data-capture]").forEach(function (old) {
      if (old.captureState) {
        old.captureState.off = true;
      }
    });
    ours.innerHTML = theirs.innerHTML;
    ours.querySelectorAll("form[data-capture]").forEach(function (form) {
      bindForm(form, draft);
    });
    if (ours.querySelector("[data-error-summary]")) {
      // static/js/app.js moves to the first field in error and puts the cursor in it.
      document.dispatchEvent(new CustomEvent("sw:page"));
      return;
    }
    var error = ours.querySelector(".is-invalid, .invalid-feedback, .alert-danger");
    if (error && error.scrollIntoView) {
      error.scrollIntoView({ block: "center" });
    }
  }

  // --- The queue and conflict page ------------------------------------------------------------
  function queueRoot() {
    return document.querySelector("[data-capture-queue]");
  }
  function statusText(item) {
    if (item.status === "uploading" && item.key in progressOf) {
      return t("uploading", { percent: (progressOf[item.key] || 0) + "%" });
    }
    if (item.status === "login") {
      return t("login_expired");
    }
    if (item.status === "conflict") {
      return t("needs_decision");
    }
    if (item.attempts) {
      return t("failed_retry", { reason: reasonText(item.reason) });
    }
    return t("waiting");
  }
  function reasonText(reason) {
    if (reason === "closed" || reason === "gone") {
      return t("reason_" + reason);
    }
    if (reason === "timeout" || reason === "network") {
      return t("no_signal");
    }
    return reason || t("no_signal");
  }
  function showProgress(key, percent) {
    var root = queueRoot();
    var node = root && root.querySelector('[data-item="' + CSS.escape(key) + '"] [data-status]');
    if (node) {
      node.textContent = t("uploading", { percent: percent + "%" });
    }
  }
  function fieldList(fields) {
    return el(
      "dl",
      { class: "small mb-0 sw-versions" },
      fields.map(function (field) {
        return el("div", {}, [el("dt", { text: field.label }), el("dd", { text: field.display || "—" })]);
      })
    );
  }
  function mineFields(item) {
    return Object.keys(item.labels || {}).map(function (name) {
      return { name: name, label: item.labels[name], display: (item.displays || {})[name] || "" };
    }).concat((item.photos || []).length ? [{ name: "photos", label: t("photos"), display: t("photo_count", { count: item.photos.length }) }] : []);
  }
  function sameValue(mine, theirs) {
    var a = (mine || []).filter(function (v) { return v !== ""; }).slice().sort().join("\u0001");
    var b = (Array.isArray(theirs) ? theirs : theirs === null || theirs === undefined ? [] : [String(theirs)])
      .filter(function (v) { return v !== ""; }).slice().sort().join("\u0001");
    return a === b;
  }
  function conflictCard(item) {
    var c = item.conflict || {};
    var reason = c.reason || "changed";
    var parts = [];
    var said = c.message || TEXTS["reason_" + reason] || t("reason_forbidden");
    parts.push(el("p", { class: "mb-2 fw-semibold text-danger", text: said }));
    if (reason === "invalid") {
      var errors = c.errors || {};
      parts.push(el("ul", { class: "small text-danger" }, Object.keys(errors).map(function (name) {
        return el("li", { text: ((item.labels || {})[name] ? item.labels[name] + "：" : "") + errors[name].join(" ") });
      })));
    }
    var mine = mineFields(item);
    var server = (c.server && c.server.fields) || [];
    if (reason === "edited" && server.length) {
      // One row a field: mine | the server's, and where they differ a choice for the merge.
      var values = valuesByName(item.fields || []);
      var rows = server.map(function (field) {
        var differ = !sameValue(values[field.name], field.value);
        var name = "merge-" + item.key + "-" + field.name;
        return el("tr", { class: differ ? "table-warning" : "" }, [
          el("th", { scope: "row", class: "fw-normal", text: field.label }),
          el("td", {}, [
            differ ? el("label", { class: "d-flex gap-1" }, [
              el("input", { type: "radio", class: "form-check-input", name: name, value: "mine", checked: true, "data-merge-field": field.name }),
              el("span", { text: (item.displays || {})[field.name] || "—" }),
            ]) : el("span", { text: (item.displays || {})[field.name] || "—" }),
          ]),
          el("td", {}, [
            differ ? el("label", { class: "d-flex gap-1" }, [
              el("input", { type: "radio", class: "form-check-input", name: name, value: "server", "data-merge-field": field.name }),
              el("span", { text: field.display || "—" }),
            ]) : el("span", { text: field.display || "—" }),
          ]),
        ]);
      });
      parts.push(el("div", { class: "table-responsive" }, [
        el("table", { class: "table table-sm small align-top sw-merge-table" }, [
          el("thead", {}, [el("tr", {}, [el("th", { text: "" }), el("th", { text: t("mine") }), el("th", { text: t("server") })])]),
          el("tbody", {}, rows),
        ]),
      ]));
    } else if (reason !== "invalid") {
      var columns = [
        el("div", { class: "col" }, [el("div", { class: "fw-semibold small", text: t("mine") }), fieldList(mine)]),
      ];
      if (server.length) {
        columns.push(el("div", { class: "col" }, [
          el("div", { class: "fw-semibold small", text: t("server") + (c.server.title ? "：" + c.server.title : "") }),
          fieldList(server),
        ]));
      }
      if (c.then && c.then.fields && c.then.fields.length) {
        columns.push(el("div", { class: "col" }, [el("div", { class: "fw-semibold small", text: t("then") }), fieldList(c.then.fields)]));
      }
      parts.push(el("div", { class: "row row-cols-2 g-2 mb-2 sw-versions-row" }, columns));
    }
    var buttons = [];
    var button = function (action, label, style) {
      return el("button", { type: "button", class: "btn btn-sm " + style, "data-action": action, text: label });
    };
    if (reason === "changed" || reason === "edited") {
      buttons.push(button("keep", t("keep_mine"), "btn-primary"));
      buttons.push(button("merge", t("merge"), "btn-outline-primary"));
    } else if (reason === "closed" || reason === "gone") {
      buttons.push(button("keep_phone", t("keep_on_phone"), "btn-primary"));
    } else if (reason === "invalid") {
      buttons.push(button("edit", t("edit"), "btn-primary"));
    }
    buttons.push(button("discard", t("discard"), "btn-outline-danger"));
    parts.push(el("div", { class: "d-flex flex-wrap gap-2" }, buttons));
    return el("div", { class: "sw-conflict" }, parts);
  }
  var rendering = false;
  var renderAgain = false;
  function renderQueuePage() {
    var root = queueRoot();
    if (!root || !USER) {
      return;
    }
    if (rendering) {
      renderAgain = true;
      return;
    }
    rendering = true;
    idbMine("queue").then(function (items) {
      items.sort(function (a, b) {
        return a.queuedAt - b.queuedAt;
      });
      // Keep a merge in progress: do not redraw a card whose choices are being made.
      var open = {};
      root.querySelectorAll("[data-item]").forEach(function (card) {
        open[card.getAttribute("data-item")] = card;
      });
      root.textContent = "";
      var empty = document.querySelector("[data-capture-empty]");
      if (empty) {
        empty.hidden = items.length > 0;
      }
      items.forEach(function (item) {
        var old = open[item.key];
        if (old && old.getAttribute("data-status-was") === item.status && item.status === "conflict") {
          root.appendChild(old);
          return;
        }
        var head = el("div", { class: "d-flex flex-wrap justify-content-between gap-1" }, [
          el("div", { class: "fw-semibold" }, [item.title || "", " ", el("span", { class: "text-secondary fw-normal", text: item.what || "" })]),
          el("div", { class: "small text-secondary", text: item.date || "" }),
        ]);
        var status = el("div", {
          class: "small " + (item.status === "conflict" || item.status === "login" ? "text-danger" : "text-secondary"),
          "data-status": "",
          text: statusText(item),
        });
        var children = [head, status];
        if (item.status === "conflict") {
          children.push(conflictCard(item));
        } else {
          children.push(el("div", { class: "d-flex gap-2 mt-1" }, [
            el("button", { type: "button", class: "btn btn-sm btn-outline-danger", "data-action": "discard", text: t("discard") }),
          ]));
        }
        root.appendChild(el("div", {
          class: "card card-body mb-2 py-2" + (item.status === "conflict" ? " border-danger" : ""),
          "data-item": item.key,
          "data-status-was": item.status,
        }, children));
      });
    }).then(function () {
      rendering = false;
      if (renderAgain) {
        renderAgain = false;
        renderQueuePage();
      }
    }, function () {
      rendering = false;
    });
  }
  async function queueAction(card, action) {
    var key = card.getAttribute("data-item");
    var item = await idbGet("queue", key);
    if (!item || item.user !== USER) {
      return;
    }
    var c = item.conflict || {};
    if (action === "discard") {
      if (!window.confirm(t("confirm_discard"))) {
        return;
      }
      await idbDelete("queue", key);
      broadcast();
      return;
    }
    if (action === "keep" || action === "keep_phone") {
      if (action === "keep") {
        item.force = true;
        item.base = c.base || item.base;
      } else {
        item.kept = true;
      }
      item.status = "waiting";
      item.nextTry = action === "keep" ? 0 : Date.now() + 15 * 60 * 1000;
      item.attempts = 0;
      await idbPut("queue", item);
      broadcast();
      if (action === "keep") {
        syncRun(true);
      }
      return;
    }
    if (action === "merge" && c.reason === "edited") {
      var chosen = {};
      card.querySelectorAll("input[data-merge-field]:checked").forEach(function (input) {
        if (input.value === "server") {
          chosen[input.getAttribute("data-merge-field")] = true;
        }
      });
      var fields = (item.fields || []).filter(function (pair) {
        return !chosen[pair[0]];
      });
      ((c.server && c.server.fields) || []).forEach(function (field) {
        if (!chosen[field.name]) {
          return;
        }
        var list = Array.isArray(field.value) ? field.value : [field.value === null || field.value === undefined ? "" : String(field.value)];
        list.forEach(function (value) {
          fields.push([field.name, value]);
        });
        item.displays = item.displays || {};
        item.displays[field.name] = field.display;
      });
      item.fields = fields;
      item.force = true;
      item.base = c.base || item.base;
      item.status = "waiting";
      item.nextTry = 0;
      item.attempts = 0;
      await idbPut("queue", item);
      broadcast();
      syncRun(true);
      return;
    }
    if (action === "merge" || action === "edit") {
      // Back to the form, filled with mine, next to the file as it is now; sent with the new base.
      var draft = Object.assign({}, item);
      ["status", "attempts", "nextTry", "queuedAt", "conflict", "force", "kept", "reason"].forEach(function (name) {
        delete draft[name];
      });
      draft.key = item.path + "|" + (item.kind === "visit_edit" ? "edit" : item.clientId);
      if (action === "merge") {
        draft.base = c.base || item.base;
        draft.fields = (item.fields || []).filter(function (pair) {
          return pair[0] !== "base";
        }).concat([["base", draft.base]]);
        draft.merge = { server: c.server, then: c.then, message: c.message };
      }
      draft.updatedAt = Date.now();
      await idbPut("drafts", draft);
      await idbDelete("queue", key);
      broadcast();
      location.assign(item.url + "#draft=" + encodeURIComponent(item.kind === "visit_edit" ? draft.key : item.clientId));
    }
  }

  // --- Start -----------------------------------------------------------------------------------
  function start() {
    if (!window.indexedDB) {
      return;
    }
    try {
      var flash = sessionStorage.getItem(FLASH_KEY);
      if (flash) {
        sessionStorage.removeItem(FLASH_KEY);
        showFlash(flash, "warning");
      }
    } catch (error) {
      /* no session storage */
    }
    if (!USER) {
      return;
    }
    document.querySelectorAll("form[data-capture]").forEach(function (form) {
      bindForm(form, null);
    });
    refreshBadge();
    renderQueuePage();
    document.addEventListener("click", function (event) {
      if (event.target.closest("[data-sync-now]")) {
        event.preventDefault();
        syncRun(true);
        return;
      }
      var action = event.target.closest("[data-item] [data-action]");
      if (action) {
        queueAction(action.closest("[data-item]"), action.getAttribute("data-action"));
      }
    });
    window.addEventListener("online", function () {
      syncRun(true);
    });
    setInterval(function () {
      syncRun(false);
    }, SYNC_EVERY_MS);
    if (navigator.onLine) {
      syncRun(false);
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }

  // For the browser tests and the service worker's page: the few entry points.
  window.shouwangCapture = { sync: syncRun, resize: resizePhoto, refreshBadge: refreshBadge, db: db };
})();
