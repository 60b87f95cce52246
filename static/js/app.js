// Gatehouse progressive enhancements. Every page works without this file.
// - forms marked data-once disable their submit buttons after the first submit;
// - forms (or submit buttons) marked data-confirm="question" ask in a <dialog> before
//   submitting; data-confirm-yes / data-confirm-no name its two buttons (by default
//   the submit button's own label and "Go back"). Without JavaScript they submit at once;
// - an input marked data-check="ID" ticks the radio button with that id when typed in
//   (the custom overlap on the rotate form);
// - a checkbox marked data-select-all="PREFIX" (hidden without JavaScript) ticks or
//   clears every checkbox of its form whose name starts with PREFIX;
// - buttons marked data-copy="ID" copy the value of the element with that id;
// - a link marked data-download-json="ID" downloads the fields marked data-json-key
//   inside the element with that id as a JSON file, built here in the browser (the
//   link's own data: URL is the fallback without JavaScript).
(function () {
  "use strict";
  var confirmDialog = null;
  // One dialog, built on first use: a question, a safe "no" (focused) and a verb "yes".
  function askFirst(form, submitter, question) {
    if (!window.HTMLDialogElement) return false;
    if (!confirmDialog) {
      confirmDialog = document.createElement("dialog");
      confirmDialog.className = "confirm-dialog";
      confirmDialog.setAttribute("aria-labelledby", "confirm-dialog-question");
      var article = document.createElement("article");
      var text = document.createElement("p");
      text.id = "confirm-dialog-question";
      var footer = document.createElement("footer");
      var no = document.createElement("button");
      no.type = "button";
      no.className = "secondary";
      no.setAttribute("data-confirm-answer", "no");
      var yes = document.createElement("button");
      yes.type = "button";
      yes.setAttribute("data-confirm-answer", "yes");
      footer.append(no, yes);
      article.append(text, footer);
      confirmDialog.append(article);
      document.body.append(confirmDialog);
    }
    var holder = submitter && submitter.hasAttribute("data-confirm") ? submitter : form;
    var label = function (name, fallback) {
      return holder.getAttribute(name) || form.getAttribute(name) || fallback;
    };
    confirmDialog.querySelector("p").textContent = question;
    var noButton = confirmDialog.querySelector("[data-confirm-answer=no]");
    var yesButton = confirmDialog.querySelector("[data-confirm-answer=yes]");
    noButton.textContent = label("data-confirm-no", "Go back");
    yesButton.textContent = label("data-confirm-yes", (submitter && submitter.textContent.trim()) || "Continue");
    yesButton.className = submitter && submitter.classList.contains("danger") ? "danger" : "";
    var answer = function (yes) {
      noButton.onclick = yesButton.onclick = null;
      confirmDialog.close();
      if (yes) {
        form.dataset.confirmed = "1";
        if (form.requestSubmit) {
          form.requestSubmit(submitter || undefined);
        } else {
          form.submit();
        }
      } else if (submitter) {
        submitter.focus();
      }
    };
    noButton.onclick = function () { answer(false); };
    yesButton.onclick = function () { answer(true); };
    confirmDialog.oncancel = function () { answer(false); };
    confirmDialog.showModal();
    noButton.focus();
    return true;
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter || null;
    var question = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (question && form.dataset.confirmed !== "1" && askFirst(form, submitter, question)) {
      event.preventDefault();
      return;
    }
    delete form.dataset.confirmed;
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
  document.querySelectorAll("[data-select-all]").forEach(function (all) {
    var form = all.form;
    if (!form) return;
    var prefix = all.getAttribute("data-select-all");
    var boxes = function () {
      return Array.prototype.filter.call(form.querySelectorAll("input[type=checkbox]"), function (b) {
        return b !== all && b.name.indexOf(prefix) === 0;
      });
    };
    var sync = function () {
      var list = boxes();
      var ticked = list.filter(function (b) { return b.checked; }).length;
      all.checked = list.length > 0 && ticked === list.length;
      all.indeterminate = ticked > 0 && ticked < list.length;
    };
    all.hidden = false;
    all.addEventListener("change", function () {
      boxes().forEach(function (b) { b.checked = all.checked; });
      all.indeterminate = false;
    });
    form.addEventListener("change", function (event) {
      if (event.target !== all) sync();
    });
    sync();
  });
  document.addEventListener("input", function (event) {
    var id = event.target.getAttribute && event.target.getAttribute("data-check");
    var radio = id && document.getElementById(id);
    if (radio) radio.checked = true;
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
      // A button named by aria-label ("Copy the curl command") says "Copied" too.
      var label = button.textContent;
      var named = button.getAttribute("aria-label");
      button.textContent = "Copied";
      if (named) button.setAttribute("aria-label", "Copied");
      setTimeout(function () {
        button.textContent = label;
        if (named) button.setAttribute("aria-label", named);
      }, 1500);
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
