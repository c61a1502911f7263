// Renders /openapi.json with Swagger UI (drf-spectacular-sidecar's swagger-ui-dist), with what it
// lacks for assistive technology added to what it draws (it redraws as operations open).
"use strict";

// Swagger UI's "Try it out" fields carry no label: each is named after its parameter's row.
function labelParameterFields(root) {
  for (const field of root.querySelectorAll("tr[data-param-name] input, tr[data-param-name] select, tr[data-param-name] textarea, tr[data-property-name] input, tr[data-property-name] select, tr[data-property-name] textarea")) {
    if (field.labels.length || field.getAttribute("aria-label")) continue;
    const row = field.closest("tr");
    const name = row.dataset.propertyName || row.dataset.paramName;
    if (name) field.setAttribute("aria-label", name);
  }
  // Examples and answers that scroll sideways must be reachable by keyboard to be scrolled.
  for (const block of root.querySelectorAll(".highlight-code pre:not([tabindex])")) {
    block.setAttribute("tabindex", "0");
  }
}

window.addEventListener("load", () => {
  const root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.schemaUrl,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // Deep links put an <a> inside each operation's toggle <button>: nested controls that a
    // keyboard or a screen reader cannot tell apart (axe's nested-interactive).
    deepLinking: false,
    tryItOutEnabled: false,
  });
  let pending = false;
  new MutationObserver(() => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      labelParameterFields(root);
    });
  }).observe(root, { childList: true, subtree: true });
});
