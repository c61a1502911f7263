// The call list: a click anywhere on a row opens its call, as its request id link does. The
// link stays the way in for keyboards and screen readers (and middle-click, new tab); this is
// a convenience for the mouse, and never steals a click from a link or a text selection.
(function () {
  "use strict";
  for (const row of document.querySelectorAll("tr[data-href]")) {
    const link = row.querySelector("a[href]");
    if (!link) continue;
    row.addEventListener("click", (event) => {
      if (event.target.closest("a, button, input, select, textarea, label")) return;
      if (String(window.getSelection() || "").length) return;
      if (event.ctrlKey || event.metaKey || event.shiftKey) {
        window.open(link.href, "_blank", "noopener");
        return;
      }
      window.location.assign(link.href);
    });
  }
})();
