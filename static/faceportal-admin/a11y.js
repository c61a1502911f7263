// What Django's admin scripts draw with ARIA that browsers may not honour: SelectFilter2.js (the
// two-box picker of groups and permissions) puts aria-label on a bare <span> (the magnifier
// beside its filter box); as an image it may carry that name. Run after the admin's own scripts,
// which draw on the window's load event too.
"use strict";

window.addEventListener("load", () => {
  setTimeout(() => {
    for (const icon of document.querySelectorAll("span.help-tooltip[aria-label]:not([role])")) {
      icon.setAttribute("role", "img");
    }
  });
});
