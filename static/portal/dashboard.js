// The dashboard's key helpers: drop the secrets this tab kept for keys rotated or deleted since,
// "Use this key on the try-it pages" for a secret just shown, and its Copy buttons.
// The secrets' storage is static/portal/key-store.js.
import { keepSecret, pruneSecrets } from "./key-store.js";

const cards = document.querySelectorAll(".key-card[data-api-id]");
const current = new Map([...cards].map((card) => [card.dataset.apiId, card.dataset.secretVersion]));
const dropped = pruneSecrets(current);

const button = document.getElementById("use-key");
const status = document.getElementById("use-key-status");
if (button) {
  const apiId = button.dataset.apiId;
  const keep = (message) => {
    status.textContent = keepSecret(apiId, button.dataset.version, button.dataset.secret)
      ? message
      : "This browser refused to keep the key: paste it on the try-it pages.";
  };
  button.hidden = false;
  button.addEventListener("click", () =>
    keep("Saved in this browser tab: the try-it pages will use this key until you close the tab."),
  );
  // The tab was using this key's old secret: it moves to the new one, as the user had chosen.
  if (dropped.includes(apiId)) {
    keep("This tab kept the old secret of this key: the try-it pages now use the new one.");
  }
}

const copyStatus = document.getElementById("copy-status");
for (const copy of document.querySelectorAll("button.copy[data-copy]")) {
  const target = document.getElementById(copy.dataset.copy);
  if (!target) continue;
  copy.hidden = false;
  copy.addEventListener("click", async () => {
    const what = copy.dataset.copy === "new-secret" ? "The api_secret" : "The api_id";
    try {
      await navigator.clipboard.writeText(target.textContent.trim());
      copyStatus.textContent = `${what} is copied.`;
    } catch {
      window.getSelection().selectAllChildren(target);
      copyStatus.textContent = `${what} is selected: press Ctrl+C (or Cmd+C) to copy it.`;
    }
  });
}
