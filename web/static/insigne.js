// Insigne: progressive enhancement only. Every page works without it.
(function () {
  "use strict";

  // A bulk award's or an attestation batch's progress: poll the job (GET
  // /api/v1/jobs/{id}, /api/v1/attestations/batches/{id}) and move the
  // <progress> bar; without script the page refreshes itself.
  function followJob(box) {
    var bar = document.getElementById("job-progress");
    var percent = document.getElementById("job-percent");
    var count = document.getElementById("job-count");
    var state = document.getElementById("job-state");
    var done = document.getElementById("job-done");
    var failed = document.getElementById("job-failed");
    function tick() {
      fetch(box.getAttribute("data-job"), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(function (j) {
          var processed = j.done + j.failed;
          bar.max = j.total;
          bar.value = processed;
          var pct = j.total > 0 ? Math.floor(100 * processed / j.total) : 100;
          bar.textContent = pct + " %";
          percent.textContent = pct;
          count.textContent = processed;
          done.textContent = j.done;
          failed.textContent = j.failed;
          if (j.state === "done" || j.state === "failed") {
            state.textContent = box.getAttribute(j.state === "done" ? "data-done-text" : "data-failed-text");
            box.setAttribute("data-finished", "true");
            // The server shows the errors (and an attestation batch's
            // downloads) once the work is over.
            if ((j.errors && j.errors.length) || box.hasAttribute("data-reload")) { window.location.reload(); }
            return;
          }
          state.textContent = box.getAttribute("data-running-text");
          setTimeout(tick, 400);
        })
        .catch(function () { setTimeout(tick, 2000); });
    }
    tick();
  }

  // Forms that undo something ask first.
  function confirmForms() {
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (e) {
        if (!window.confirm(f.getAttribute("data-confirm"))) { e.preventDefault(); }
      });
    });
  }

  // The verify page: files dropped on the zone go into its file input;
  // the input itself works without script.
  function dropzone(zone) {
    var input = zone.querySelector("input[type=file]");
    var list = zone.querySelector("[data-dropzone-files]");
    function show() {
      var names = [];
      for (var i = 0; i < input.files.length; i++) { names.push(input.files[i].name); }
      list.textContent = names.join(", ");
    }
    ["dragenter", "dragover"].forEach(function (t) {
      zone.addEventListener(t, function (e) { e.preventDefault(); zone.classList.add("dragover"); });
    });
    ["dragleave", "drop"].forEach(function (t) {
      zone.addEventListener(t, function () { zone.classList.remove("dragover"); });
    });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      if (e.dataTransfer && e.dataTransfer.files.length) { input.files = e.dataTransfer.files; show(); }
    });
    input.addEventListener("change", show);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-dropzone]").forEach(dropzone);
    document.querySelectorAll("[data-print]").forEach(function (b) {
      b.hidden = false;
      b.addEventListener("click", function () { window.print(); });
    });
    var box = document.querySelector("[data-job]");
    if (box && box.getAttribute("data-finished") !== "true") { followJob(box); }
    confirmForms();
  });
})();
