// What Django's admin scripts draw without the names assistive technology needs. Run after them:
// they draw on the window's load event (or earlier), so this waits one turn past it.
//  - SelectFilter2.js (the two-box picker of groups and permissions) puts aria-label on a bare
//    <span> (the magnifier beside its filter box), where it is not allowed; as an image it is.
//  - Select2 (autocomplete fields, such as an API account's user) names its combobox after the
//    text chosen, which is empty until something is: both take the field's label as well.
"use strict";

function nameAdminWidgets() {
  for (const icon of document.querySelectorAll("span.help-tooltip[aria-label]:not([role])")) {
    icon.setAttribute("role", "img");
  }
  for (const box of document.querySelectorAll(".select2-selection[role='combobox']:not([aria-label])")) {
    const select = box.closest(".select2")?.previousElementSibling;
    const label = select?.id ? document.querySelector(`label[for="${select.id}"]`) : null;
    if (!label) continue;
    const name = label.textContent.trim().replace(/:$/, "");
    box.setAttribute("aria-label", name);
    // And the read-only "textbox" inside it, which shows the choice (empty until there is one).
    box.querySelector(".select2-selection__rendered[role='textbox']")?.setAttribute("aria-label", name);
  }
}

window.addEventListener("load", () => setTimeout(nameAdminWidgets));
