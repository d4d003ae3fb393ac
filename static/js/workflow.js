/* Approval pages: one decision per click, "already decided" shown in place. Loaded as a file, after htmx. */
(function () {
  "use strict";

  // A plain (non-htmx) decision form: disable its buttons once it is on its way, so a double
  // click sends one decision. The timeout lets the clicked button's name/value go with the form.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-submit-once") || event.defaultPrevented) {
      return;
    }
    if (form.getAttribute("data-in-flight") === "true") {
      event.preventDefault();
      return;
    }
    form.setAttribute("data-in-flight", "true");
    window.setTimeout(function () {
      form.querySelectorAll("button").forEach(function (button) { button.disabled = true; });
    }, 0);
  });

  // The server answers a decision on a closed task with 409 and 422 for bad input, each with
  // the panel to show; htmx leaves 4xx responses unswapped unless told otherwise.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr && event.detail.xhr.status;
    var target = event.detail.target;
    if ((status === 409 || status === 422) && target && target.hasAttribute("data-decision-panel")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
