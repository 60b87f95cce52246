// Gatehouse progressive enhancements. Every page works without this file.
// - forms marked data-once disable their submit buttons after the first submit;
// - forms marked data-confirm ask before submitting;
// - buttons marked data-copy="ID" copy the value of the element with that id;
// - a link marked data-download-json="ID" downloads the fields marked data-json-key
//   inside the element with that id as a JSON file, built here in the browser (the
//   link's own data: URL is the fallback without JavaScript).
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    if (form.hasAttribute("data-once")) {
      if (form.dataset.submitted === "1") {
        event.preventDefault();
        return;
      }
      form.dataset.submitted = "1";
      form.querySelectorAll("button[type=submit], input[type=submit]").forEach(function (b) {
        b.disabled = true;
        b.setAttribute("aria-busy", "true");
      });
    }
  });
  document.addEventListener("click", function (event) {
    var download = event.target.closest("[data-download-json]");
    if (download && window.Blob && window.URL && URL.createObjectURL) {
      var scope = document.getElementById(download.getAttribute("data-download-json"));
      if (scope) {
        var data = {};
        scope.querySelectorAll("[data-json-key]").forEach(function (el) {
          data[el.getAttribute("data-json-key")] = el.value !== undefined ? el.value : el.textContent;
        });
        var url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: "application/json" }));
        var a = document.createElement("a");
        a.href = url;
        a.download = download.getAttribute("download") || "credentials.json";
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
        event.preventDefault();
        return;
      }
    }
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.value !== undefined ? source.value : source.textContent;
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, function () { source.select && source.select(); });
    } else if (source.select) {
      source.select();
      document.execCommand("copy");
      done();
    }
  });
  // A page that revealed a secret must not come back from the back/forward cache:
  // take the secret out of the page as it is left.
  window.addEventListener("pagehide", function () {
    var reveal = document.getElementById("reveal");
    if (!reveal) return;
    reveal.querySelectorAll("input").forEach(function (el) { el.value = ""; });
    reveal.querySelectorAll("a[href^='data:']").forEach(function (el) { el.removeAttribute("href"); });
    var note = document.createElement("p");
    note.textContent = "This secret is no longer shown. To get a new one, rotate the credential.";
    reveal.replaceChildren(note);
  });
})();
