// The "same call in code" panel of the try-it pages (templates/portal/try_base.html): one tab
// per language of snippets.js, each sample following the form, a Copy button for the tab on
// show, and the "show my secret" box, off on every page load: until it is ticked no sample
// holds the secret, and unticking it takes the secret out again.
import { LANGUAGES, snippets } from "./snippets.js";

const $ = (id) => document.getElementById(id);

function registryEntry() {
  try {
    return JSON.parse($("try-endpoint").textContent);
  } catch {
    return null;
  }
}

function buildTabs() {
  const tabs = $("try-code-tabs");
  const panels = $("try-code-panels");
  const curl = $("try-curl");
  const all = LANGUAGES.map((language, index) => {
    const panel = index === 0 ? curl : document.createElement("pre");
    if (index > 0) {
      panel.className = "code try-code";
      panel.id = `try-code-${language.id}`;
      panel.tabIndex = 0;
      panels.append(panel);
    }
    panel.dataset.language = language.id;
    panel.setAttribute("role", "tabpanel");
    panel.removeAttribute("aria-label"); // named by its tab
    const tab = document.createElement("button");
    tab.type = "button";
    tab.className = "try-tab";
    tab.id = `try-tab-${language.id}`;
    tab.textContent = language.name;
    tab.setAttribute("role", "tab");
    tab.setAttribute("aria-controls", panel.id);
    panel.setAttribute("aria-labelledby", tab.id);
    tabs.append(tab);
    return { language, tab, panel };
  });
  const select = (chosen, focus) => {
    for (const item of all) {
      const on = item === chosen;
      item.tab.setAttribute("aria-selected", String(on));
      item.tab.tabIndex = on ? 0 : -1;
      item.panel.hidden = !on;
    }
    if (focus) chosen.tab.focus();
  };
  all.forEach((item, index) => {
    item.tab.addEventListener("click", () => select(item, false));
    // Arrow keys move between tabs, as the ARIA tabs pattern has it.
    item.tab.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      event.preventDefault();
      select(all[(index + step + all.length) % all.length], true);
    });
  });
  select(all[0], false);
  return all;
}

// call(): { url, apiId, fields, output } as the form would send it now; secret(): the typed secret.
export function setupCodePanel(call, secret) {
  const endpoint = registryEntry();
  const all = buildTabs();
  const reveal = $("try-reveal");
  reveal.checked = false; // a reload or the back button never brings the secret back on show
  const refresh = () => {
    if (!endpoint) return;
    const values = { ...call(), secret: reveal.checked ? secret() : null };
    const texts = snippets(endpoint, values);
    for (const item of all) item.panel.textContent = texts[item.language.id];
  };
  reveal.addEventListener("change", refresh);
  $("try-copy").addEventListener("click", async () => {
    const shown = all.find((item) => !item.panel.hidden).panel;
    try {
      await navigator.clipboard.writeText(shown.textContent);
      $("try-copied").textContent = "Copied.";
    } catch {
      window.getSelection().selectAllChildren(shown);
      $("try-copied").textContent = "Selected: press Ctrl+C (or Cmd+C) to copy.";
    }
  });
  return refresh;
}
