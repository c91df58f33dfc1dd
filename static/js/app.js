/* Shouwang page behaviour. The Content-Security-Policy forbids inline scripts and on…= attributes,
   so templates mark elements with data- attributes and this file binds them. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-print]");
    if (button) {
      event.preventDefault();
      window.print();
    }
  });
  // <select data-autosubmit> sends its form as soon as another value is chosen.
  document.addEventListener("change", function (event) {
    var field = event.target.closest("[data-autosubmit]");
    if (field && field.form) {
      field.form.requestSubmit ? field.form.requestSubmit() : field.form.submit();
    }
  });
})();

/* --- Navbar menu, user dropdown, closing alerts ------------------------------------------------
   What the pages used of Bootstrap's 81 KB JavaScript bundle, in a few lines (the markup is still
   Bootstrap's): data-bs-toggle="collapse" data-bs-target="#id" opens and closes the navbar menu,
   data-bs-toggle="dropdown" a .dropdown-menu next to it (Escape, a click elsewhere or focus moving
   away closes it; arrow keys move through its items), data-bs-dismiss="alert" removes its .alert.
   Nothing else of Bootstrap's JavaScript is here: no modal, tooltip or tab. */
(function () {
  "use strict";

  // The classes Bootstrap's own script sets: .show on what opens (and on a dropdown's toggle),
  // .collapsed on a collapse toggle while closed.
  function setOpen(toggle, target, open) {
    target.classList.toggle("show", open);
    if (toggle.getAttribute("data-bs-toggle") === "dropdown") {
      toggle.classList.toggle("show", open);
    } else {
      toggle.classList.toggle("collapsed", !open);
    }
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  }

  function menuOf(toggle) {
    return toggle.parentElement.querySelector(".dropdown-menu");
  }

  function items(menu) {
    return Array.prototype.filter.call(
      menu.querySelectorAll(".dropdown-item:not(.disabled):not(:disabled)"),
      function (item) { return item.offsetParent !== null; }
    );
  }

  function closeDropdowns(except) {
    document.querySelectorAll('[data-bs-toggle="dropdown"][aria-expanded="true"]').forEach(function (toggle) {
      if (toggle !== except && menuOf(toggle)) setOpen(toggle, menuOf(toggle), false);
    });
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-bs-toggle]");
    if (toggle && toggle.getAttribute("data-bs-toggle") === "collapse") {
      event.preventDefault();
      var target = document.querySelector(toggle.getAttribute("data-bs-target"));
      if (target) setOpen(toggle, target, !target.classList.contains("show"));
      return;
    }
    if (toggle && toggle.getAttribute("data-bs-toggle") === "dropdown") {
      event.preventDefault();
      var menu = menuOf(toggle);
      closeDropdowns(toggle);
      if (menu) setOpen(toggle, menu, !menu.classList.contains("show"));
      return;
    }
    if (!event.target.closest(".dropdown-menu")) closeDropdowns(null);
    var dismiss = event.target.closest('[data-bs-dismiss="alert"]');
    if (dismiss && dismiss.closest(".alert")) {
      dismiss.closest(".alert").remove();
    }
  });

  document.addEventListener("keydown", function (event) {
    var dropdown = event.target.closest(".dropdown");
    var toggle = dropdown && dropdown.querySelector('[data-bs-toggle="dropdown"]');
    var menu = toggle && menuOf(toggle);
    if (!menu) return;
    var open = menu.classList.contains("show");
    if (event.key === "Escape" && open) {
      event.preventDefault();
      setOpen(toggle, menu, false);
      toggle.focus();
    } else if (event.key === " " && event.target === toggle) {
      event.preventDefault(); // a link acting as a button answers the space bar too
      toggle.click();
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!open) setOpen(toggle, menu, true);
      var list = items(menu);
      if (!list.length) return;
      var index = list.indexOf(document.activeElement);
      var step = event.key === "ArrowDown" ? 1 : -1;
      index = index < 0 ? (step > 0 ? 0 : list.length - 1) : (index + step + list.length) % list.length;
      list[index].focus();
    }
  });

  // Tabbing out of an open dropdown closes it.
  document.addEventListener("focusout", function (event) {
    var dropdown = event.target.closest(".dropdown");
    if (dropdown && event.relatedTarget && !dropdown.contains(event.relatedTarget)) {
      var toggle = dropdown.querySelector('[data-bs-toggle="dropdown"][aria-expanded="true"]');
      if (toggle && menuOf(toggle)) setOpen(toggle, menuOf(toggle), false);
    }
  });
})();

/* After a failed save: the error summary (templates/partials/form_errors.html) is at the top of
   the form; the page moves to the first field in error and puts the cursor in it. A summary link
   does the same for its field. Also run when a script puts a new page in place ("sw:page"). */
(function () {
  "use strict";
  function focusField(wrapper) {
    if (!wrapper) return;
    var input = wrapper.querySelector("input:not([type=hidden]), select, textarea") || wrapper;
    wrapper.scrollIntoView({ block: "center" });
    try { input.focus({ preventScroll: true }); } catch (e) { input.focus(); }
  }
  function firstError(root) {
    var summary = root.querySelector("[data-error-summary]");
    if (!summary) return;
    var invalid = root.querySelector(".is-invalid, .invalid-feedback");
    var wrapper = invalid && (invalid.closest("[id^=div_]") || invalid.parentElement);
    if (wrapper) {
      focusField(wrapper);
    } else {
      summary.scrollIntoView({ block: "start" });
      summary.focus();
    }
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-error-link]");
    if (!link) return;
    var wrapper = document.getElementById("div_" + link.getAttribute("data-error-link"));
    if (wrapper) {
      event.preventDefault();
      focusField(wrapper);
    }
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { firstError(document); });
  } else {
    firstError(document);
  }
  document.addEventListener("sw:page", function () { firstError(document); });
})();

/* A place typed by name or code (accounts.forms.AreaField): without a script the form's submit
   looks the name up on the server (and lists the places a name fits). With one, a field whose
   choice is too long to list (data-area-search: /areas/search.json?levels=…) fills its
   <datalist> with the places that match what is typed, at most 20, a quarter second after the
   last key. */
(function () {
  "use strict";
  var CODE = /(^|[^0-9])[0-9]{12}([^0-9]|$)/;

  function suggest(input) {
    var text = input.value.trim();
    var list = document.getElementById(input.getAttribute("list"));
    if (!list || !text || text.length > 100 || CODE.test(text) || input.swAsked === text) return;
    input.swAsked = text;
    var url = input.getAttribute("data-area-search") + "&q=" + encodeURIComponent(text);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data || input.value.trim() !== text) return;  // typed on since: a newer answer comes
        while (list.firstChild) list.removeChild(list.firstChild);
        data.results.forEach(function (place) {
          var option = document.createElement("option");
          option.value = place.value;
          option.textContent = place.label;
          list.appendChild(option);
        });
      })
      .catch(function () { /* no signal: the submit searches */ });
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("input[data-area-search]")) return;
    clearTimeout(input.swTimer);
    input.swTimer = setTimeout(function () { suggest(input); }, 250);
  });
})();
