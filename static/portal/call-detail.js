// The call detail's "Copy as curl": the command is on the page already (it holds no secret,
// only $API_SECRET); the button copies it, or selects it where the clipboard is refused.
(function () {
  "use strict";
  for (const button of document.querySelectorAll("button[data-copy]")) {
    const source = document.getElementById(button.dataset.copy);
    const status = document.getElementById("replay-copied");
    if (!source) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(source.textContent);
        status.textContent = "Copied.";
      } catch {
        window.getSelection().selectAllChildren(source);
        status.textContent = "Selected: press Ctrl+C (or Cmd+C) to copy.";
      }
    });
  }
})();
