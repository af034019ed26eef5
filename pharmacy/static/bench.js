// Bench devices on the weights page: a keyboard-wedge scanner types the container's barcode
// and Enter (checked at once, never submitting the form), and "Read balance" takes a stable
// weight from the balance. A weight typed over a captured one counts as typed again.
(function () {
  "use strict";
  const form = document.querySelector("form[data-bench]");
  if (!form) return;
  const csrf = form.querySelector("input[name=csrf_token]").value;

  function post(url, data) {
    const body = new URLSearchParams(data);
    body.set("csrf_token", csrf);
    return fetch(url, { method: "POST", body: body, credentials: "same-origin",
                        headers: { "X-CSRFToken": csrf } })
      .then((r) => r.json().then((json) => ({ ok: r.ok, json: json })));
  }

  function show(el, ok, text) {
    el.textContent = text;
    el.className = ok ? "scan-ok" : "error";
  }

  form.querySelectorAll("input[data-scan-url]").forEach((input) => {
    const out = document.getElementById(input.id + "-result");
    input.addEventListener("keydown", (event) => {
      if (event.key !== "Enter") return;
      event.preventDefault();
      post(input.dataset.scanUrl, { code: input.value }).then((res) => {
        show(out, res.ok, res.ok ? res.json.message : res.json.errors.map((e) => e.message).join("; "));
      });
    });
  });

  form.querySelectorAll("button[data-read-url]").forEach((button) => {
    const line = button.dataset.line;
    const weight = document.getElementById("actual_" + line);
    const token = document.getElementById("capture_" + line);
    const balance = document.getElementById("balance_" + line);
    const out = document.getElementById("read-" + line + "-result");
    button.addEventListener("click", () => {
      show(out, true, "Reading…");
      post(button.dataset.readUrl, { balance_id: balance ? balance.value : "" }).then((res) => {
        if (!res.ok) {
          show(out, false, res.json.errors.map((e) => e.message).join("; "));
          return;
        }
        weight.value = res.json.value;
        token.value = res.json.token;
        show(out, true, "Captured from the balance: " + res.json.value + " " + res.json.unit);
      });
    });
    weight.addEventListener("input", () => {
      token.value = "";
      show(out, true, "Typed");
    });
  });
})();
