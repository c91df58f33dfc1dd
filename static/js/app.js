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
