/* Nothing typed is lost: every form submission is kept in this tab's sessionStorage until
   the next page shows. If that page is the sign-in page (idle timeout, stale security token)
   the entries stay; once signed in again the server sends the user back to the form's page
   with #restore-form and they are put back as typed, for the user to check and submit.
   Passwords and security tokens are never kept. Served from the app: no CDN, no inline code. */
(function () {
  "use strict";
  var KEY = "pharmacy.pending-form";
  var SKIP_TYPES = { password: 1, file: 1, submit: 1, button: 1, image: 1, reset: 1 };

  function bare(url) { return String(url).split("#")[0]; }

  function whoIsSignedIn() {
    var el = document.querySelector("[data-username]");
    return el ? el.getAttribute("data-username") : "";
  }

  function keep(form) {
    if (form.hasAttribute("data-no-restore")) return;
    var fields = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name === "csrf_token" || SKIP_TYPES[el.type]) return;
      if (el.type === "checkbox" || el.type === "radio") {
        fields.push({ name: el.name, value: el.value, checked: el.checked });
      } else if (el.tagName === "SELECT" && el.multiple) {
        var vals = Array.prototype.filter.call(el.options, function (o) { return o.selected; })
          .map(function (o) { return o.value; });
        fields.push({ name: el.name, values: vals });
      } else {
        fields.push({ name: el.name, value: el.value });
      }
    });
    try {
      sessionStorage.setItem(KEY, JSON.stringify({
        page: location.pathname + location.search, action: bare(form.action), fields: fields,
        user: whoIsSignedIn()
      }));
    } catch (e) { /* storage full or disabled: the server-side checks still apply */ }
  }

  function put(form, fields) {
    var seen = {};
    fields.forEach(function (f) {
      var els = form.querySelectorAll('[name="' + f.name.replace(/"/g, '\\"') + '"]');
      if (!els.length) return;
      var first = els[0];
      if (first.type === "checkbox" || first.type === "radio") {
        Array.prototype.forEach.call(els, function (el) {
          if (el.value === f.value) el.checked = f.checked;
        });
      } else if (f.values) {
        Array.prototype.forEach.call(first.options, function (o) {
          o.selected = f.values.indexOf(o.value) !== -1;
        });
      } else {
        var i = seen[f.name] || 0;  // repeated names (rows of weights) keep their order
        seen[f.name] = i + 1;
        if (els[i]) els[i].value = f.value;
      }
    });
  }

  function restore() {
    var raw = sessionStorage.getItem(KEY);
    if (!raw) return;
    var onLogin = !!document.querySelector("[data-page=login]");
    if (onLogin) {
      var note = document.querySelector("[data-testid=kept-form]");
      if (note) note.hidden = false;
      return;
    }
    sessionStorage.removeItem(KEY);
    if (location.hash !== "#restore-form") return;
    var pending;
    try { pending = JSON.parse(raw); } catch (e) { return; }
    // Only the person who typed it gets it back (a shared counter terminal).
    if (pending.user && pending.user !== whoIsSignedIn()) return;
    var form = Array.prototype.filter.call(document.forms, function (f) {
      return bare(f.action) === pending.action;
    })[0];
    if (!form) return;
    put(form, pending.fields);
    var banner = document.createElement("div");
    banner.className = "flash flash-warning";
    banner.setAttribute("role", "status");
    banner.setAttribute("data-testid", "form-restored");
    banner.textContent = "What you typed has been put back. Check it and submit again.";
    form.parentNode.insertBefore(banner, form);
    form.scrollIntoView({ block: "center" });
    history.replaceState(null, "", location.pathname + location.search);
  }

  /* Every error at once: the server checks the whole form and lists all problems, so the
     browser's one-bubble-at-a-time checks are switched off. */
  function allErrorsAtOnce() {
    Array.prototype.forEach.call(document.forms, function (f) { f.noValidate = true; });
    var summary = document.querySelector("[data-testid=error-summary]");
    if (summary) summary.focus();
  }

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if ((form.method || "").toLowerCase() === "post") keep(form);
  }, true);
  function ready() { allErrorsAtOnce(); restore(); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
