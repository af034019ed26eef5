/* Small page helpers, served from the app (no CDN, no inline code):
   - [data-refresh=N]: the region reloads itself every N seconds while nobody is typing in it;
   - long <select> lists (patients, prescribers, formulas, lots, orders) get a type-to-filter box;
   - [data-live-search]: a search box that shows matches as you type. */
(function () {
  "use strict";

  function refresh(region) {
    var seconds = parseInt(region.getAttribute("data-refresh"), 10) || 60;
    var dirty = false;
    region.addEventListener("input", function () { dirty = true; });
    setInterval(function () {
      if (document.hidden || dirty || region.contains(document.activeElement)) return;
      fetch(location.href, { credentials: "same-origin", headers: { "X-Refresh": "1" } })
        .then(function (r) { return r.ok && !r.redirected ? r.text() : null; })
        .then(function (html) {
          if (!html) return;
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.querySelector("[data-refresh]");
          if (fresh) {
            region.innerHTML = fresh.innerHTML;
            region.setAttribute("data-refreshed-at", new Date().toISOString());
          }
        })
        .catch(function () { /* offline for a moment: try again next time */ });
    }, seconds * 1000);
  }

  var MIN_OPTIONS = 8;
  var PICKERS = /(formula|prescriber|patient|lot|order|ingredient|balance)/;  // from 3 choices

  function norm(s) { return s.toLowerCase().replace(/\s+/g, " ").trim(); }

  function typeahead(select) {
    var min = PICKERS.test(select.name || "") ? 3 : MIN_OPTIONS;
    var real = Array.prototype.filter.call(select.options, function (o) { return o.value && o.value !== "0"; });
    if (real.length < min || select.dataset.typeahead === "off") return;
    var box = document.createElement("input");
    box.type = "search";
    box.className = "typeahead";
    box.placeholder = "Type to filter…";
    box.setAttribute("aria-label", "Filter " + (select.labels && select.labels[0] ? select.labels[0].textContent : "the list"));
    box.setAttribute("data-typeahead-for", select.id || select.name);
    box.setAttribute("autocomplete", "off");
    select.parentNode.insertBefore(box, select);
    box.addEventListener("input", function () {
      var words = norm(box.value).split(" ").filter(Boolean);
      var first = null;
      Array.prototype.forEach.call(select.options, function (o) {
        var text = norm(o.textContent);
        var hit = !o.value || o.value === "0" || words.every(function (w) { return text.indexOf(w) !== -1; });
        o.hidden = !hit;
        if (hit && o.value && o.value !== "0" && first === null && words.length) first = o;
      });
      var current = select.selectedOptions[0];
      if (!select.multiple && first &&
          (!current || current.hidden || !current.value || current.value === "0")) {
        select.value = first.value;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
    box.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") { ev.preventDefault(); select.focus(); }
    });
  }

  /* A long list of checkboxes (orders a batch serves) filters the same way; ticks are kept. */
  function checklistFilter(list) {
    var items = list.querySelectorAll("li");
    if (items.length < MIN_OPTIONS) return;
    var box = document.createElement("input");
    box.type = "search";
    box.className = "typeahead";
    box.placeholder = "Type to filter…";
    box.setAttribute("aria-label", "Filter the list");
    list.parentNode.insertBefore(box, list);
    box.addEventListener("input", function () {
      var words = norm(box.value).split(" ").filter(Boolean);
      Array.prototype.forEach.call(items, function (li) {
        var text = norm(li.textContent);
        li.hidden = !words.every(function (w) { return text.indexOf(w) !== -1; });
      });
    });
    box.addEventListener("keydown", function (ev) { if (ev.key === "Enter") ev.preventDefault(); });
  }

  function liveSearch(input) {
    var target = document.querySelector(input.getAttribute("data-live-search"));
    var timer = null;
    if (!target) return;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var url = new URL(input.form.action || location.href, location.href);
        url.searchParams.set(input.name, input.value);
        fetch(url, { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.text() : null; })
          .then(function (html) {
            if (html === null) return;
            var doc = new DOMParser().parseFromString(html, "text/html");
            var fresh = doc.querySelector(input.getAttribute("data-live-search"));
            target.innerHTML = fresh ? fresh.innerHTML : "";
          });
      }, 250);
    });
  }

  /* On a tablet or phone the navigation folds behind a Menu button (see style.css). */
  function menu(button) {
    var bar = button.closest(".topbar");
    button.addEventListener("click", function () {
      var open = bar.classList.toggle("nav-open");
      button.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  function ready() {
    Array.prototype.forEach.call(document.querySelectorAll(".navtoggle"), menu);
    Array.prototype.forEach.call(document.querySelectorAll("[data-refresh]"), refresh);
    Array.prototype.forEach.call(document.querySelectorAll("main select"), typeahead);
    Array.prototype.forEach.call(document.querySelectorAll("main .field > ul"), checklistFilter);
    Array.prototype.forEach.call(document.querySelectorAll("[data-live-search]"), liveSearch);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
