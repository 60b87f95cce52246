// Header and row menus (<details class="dropdown">) for keyboard and pointer users:
// Escape closes the open menu and returns focus to its button; opening one menu
// closes any other; focus leaving a menu closes it. Without this file the menus
// still open and close with Enter, Space or a click.
(function () {
  "use strict";
  function menus() {
    return document.querySelectorAll("details.dropdown[open]");
  }
  document.addEventListener("toggle", function (event) {
    var opened = event.target;
    if (!(opened instanceof HTMLDetailsElement) || !opened.classList.contains("dropdown") || !opened.open) return;
    menus().forEach(function (other) {
      if (other !== opened) other.open = false;
    });
  }, true);
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    menus().forEach(function (menu) {
      menu.open = false;
      var summary = menu.querySelector("summary");
      if (summary && menu.contains(document.activeElement)) summary.focus();
    });
  });
  document.addEventListener("focusin", function (event) {
    menus().forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });
})();
