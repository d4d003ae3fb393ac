/* Formwork's page behaviour. Loaded as a file (no inline scripts), after htmx. */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // Every htmx request carries the CSRF token; the server checks it on POST/PUT/PATCH/DELETE.
  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token) {
      event.detail.headers["X-CSRFToken"] = token;
    }
  });

  // Forms can ask for confirmation without inline handlers: <form data-confirm="Really?">.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });

  // Move focus to the first field with an error after a server round trip, so keyboard and
  // screen-reader users land where the problem is.
  function focusFirstError(root) {
    var invalid = (root || document).querySelector('[aria-invalid="true"]');
    if (invalid && typeof invalid.focus === "function") {
      invalid.focus();
    }
  }

  // ---- An ended session: say so, keep what was typed, sign in again in place, carry on ----
  // The server marks an in-page request refused for a missing session or a stale CSRF token
  // with this header (org/security.py); the page itself is never replaced.
  var SESSION_HEADER = "X-Formwork-Session";
  var pending = null; // what to do again once signed in: {elt, submitter}

  function setToken(token) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { meta.setAttribute("content", token); }
    document.querySelectorAll('input[name="csrf_token"]').forEach(function (input) { input.value = token; });
  }

  function sessionState() {
    return fetch("/session", { credentials: "same-origin", cache: "no-store" }).then(function (response) {
      if (!response.ok) { throw new Error("session " + response.status); }
      return response.json();
    });
  }

  function openSessionDialog() {
    var dialog = document.getElementById("session-dialog");
    if (!dialog) { return false; }
    var error = document.getElementById("session-dialog-error");
    if (error) { error.hidden = true; error.textContent = ""; }
    if (!dialog.open) {
      if (typeof dialog.showModal === "function") { dialog.showModal(); } else { dialog.setAttribute("open", ""); }
    }
    var password = document.getElementById("session-password");
    if (password) { password.value = ""; password.focus(); }
    return true;
  }

  function closeSessionDialog() {
    var dialog = document.getElementById("session-dialog");
    if (dialog && dialog.open) { dialog.close(); }
  }

  function resume() {
    var again = pending;
    pending = null;
    if (!again || !again.elt || !document.body.contains(again.elt)) { return; }
    if (again.submitter && document.body.contains(again.submitter)) {
      again.submitter.click(); // the Save or Submit that was refused, with its own name and value
    } else if (window.htmx) {
      window.htmx.trigger(again.elt, again.elt instanceof HTMLFormElement ? "submit" : "change");
    }
  }

  function showSignInError(message) {
    var error = document.getElementById("session-dialog-error");
    if (error) { error.textContent = message; error.hidden = false; }
  }

  function signInAgain(form) {
    var dialog = document.getElementById("session-dialog");
    var button = form.querySelector('button[type="submit"]');
    if (button) { button.disabled = true; }
    var done = function () { if (button) { button.disabled = false; } };
    sessionState()
      .then(function (state) {
        var body = new URLSearchParams();
        body.set("csrf_token", state.csrf_token);
        body.set("username", form.elements.username.value);
        body.set("password", form.elements.password.value);
        return fetch(form.action, { method: "POST", body: body, credentials: "same-origin", redirect: "follow" });
      })
      .then(function () { return sessionState(); })
      .then(function (state) {
        done();
        if (!state.authenticated) {
          showSignInError(dialog.dataset.wrong);
          return;
        }
        setToken(state.csrf_token);
        closeSessionDialog();
        var status = document.getElementById("session-status");
        if (status) { status.textContent = dialog.dataset.continued; }
        resume();
      })
      .catch(function () {
        done();
        showSignInError(dialog.dataset.failed);
      });
  }

  document.addEventListener("submit", function (event) {
    if (event.target && event.target.id === "session-dialog-form") {
      event.preventDefault();
      signInAgain(event.target);
    }
  });

  document.addEventListener("click", function (event) {
    if (event.target && event.target.id === "session-dialog-close") { closeSessionDialog(); }
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (!xhr || xhr.getResponseHeader(SESSION_HEADER) !== "expired") { return; }
    event.detail.shouldSwap = false;
    event.detail.isError = false; // handled here: no console error, no htmx:responseError
    var config = event.detail.requestConfig || {};
    var trigger = config.triggeringEvent;
    pending = { elt: config.elt || event.detail.elt, submitter: trigger && trigger.submitter };
    document.body.classList.add("session-expired");
    openSessionDialog();
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.status && xhr.getResponseHeader(SESSION_HEADER) !== "expired") {
      document.body.classList.remove("session-expired");
    }
  });

  // A number that will not validate is described under its input as it is typed (the server
  // swaps #live-<id> in); the input itself is never replaced while typing, so mark it here.
  function syncLiveMessages() {
    document.querySelectorAll(".field__error--live").forEach(function (message) {
      var stem = message.id.slice("live-".length);
      var input = document.getElementById("f-" + stem);
      if (!input) { return; }
      var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      var has = described.indexOf(message.id) >= 0;
      if (!message.hidden) {
        if (!has) { described.push(message.id); }
        input.setAttribute("aria-invalid", "true");
      } else {
        if (has) { described.splice(described.indexOf(message.id), 1); }
        if (!document.getElementById("e-" + stem)) { input.removeAttribute("aria-invalid"); }
      }
      if (described.length) { input.setAttribute("aria-describedby", described.join(" ")); }
      else { input.removeAttribute("aria-describedby"); }
    });
  }
  // A field that only becomes required (or optional) gets a new label from the server, never a
  // new input (that would undo typing); its input follows the label's "required" marker here.
  function syncRequired() {
    document.querySelectorAll('.form-fields label[id^="l-"]').forEach(function (label) {
      var input = document.getElementById("f-" + label.id.slice(2));
      if (!input || !/^(INPUT|SELECT|TEXTAREA)$/.test(input.tagName) || input.type === "file") { return; }
      if (label.querySelector(".field__required")) { input.setAttribute("aria-required", "true"); }
      else { input.removeAttribute("aria-required"); }
    });
  }
  document.addEventListener("htmx:afterSettle", syncRequired);

  document.addEventListener("htmx:afterSettle", syncLiveMessages);
  document.addEventListener("htmx:afterRequest", syncLiveMessages);
  document.addEventListener("DOMContentLoaded", syncLiveMessages);

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.hasAttribute && target.hasAttribute("data-focus-errors")) {
      focusFirstError(target);
    }
  });
})();
