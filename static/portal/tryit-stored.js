// The stored-image pickers of the try-it pages (templates/portal/try_stored_picker.html): the
// picked key's stored images as thumbnails, a page at a time (portal/tryit_stored.py), instead
// of typing 32 hex characters. Picking one fills in the slot's id field.

const $ = (id) => document.getElementById(id);

function thumb(image, chosen, onPick) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "try-stored-item";
  button.setAttribute("aria-pressed", String(image.id === chosen));
  button.title = `${image.label} · ${image.id}`;
  const picture = document.createElement("img");
  picture.src = `${image.thumbnail}?size=160`;
  picture.alt = `Stored image ${image.label}`;
  picture.loading = "lazy";
  picture.decoding = "async";
  picture.width = 72;
  picture.height = 72;
  const caption = document.createElement("span");
  caption.className = "mono";
  caption.textContent = image.id.slice(0, 8);
  button.append(picture, caption);
  button.addEventListener("click", () => onPick(image));
  const item = document.createElement("li");
  item.append(button);
  return item;
}

// apiId(): the key picked on the page; picked(entry): told of every image picked.
export function setupStoredPickers({ apiId, picked }) {
  const url = $("try-form").dataset.storedUrl;
  const pickers = [...document.querySelectorAll("[data-stored-picker]")];
  for (const picker of pickers) {
    const input = document.getElementById(picker.dataset.target);
    const list = picker.querySelector("[data-stored-list]");
    const status = picker.querySelector("[data-stored-status]");
    const newer = picker.querySelector('[data-stored-page="newer"]');
    const older = picker.querySelector('[data-stored-page="older"]');
    const pager = newer.parentElement;
    let page = 1;
    let loadedFor = null;

    const pick = (image) => {
      input.value = image.id;
      picked(image);
      for (const button of list.querySelectorAll("button")) {
        button.setAttribute("aria-pressed", String(button.title.endsWith(image.id)));
      }
      input.dispatchEvent(new Event("input", { bubbles: true }));
      input.dispatchEvent(new Event("change", { bubbles: true }));
      status.textContent = `Picked ${image.id}.`;
    };

    const load = async (wanted) => {
      const key = apiId();
      status.textContent = "Loading…";
      newer.disabled = older.disabled = true;
      try {
        const query = new URLSearchParams({ api_id: key, page: String(wanted) });
        const response = await fetch(`${url}?${query}`, { credentials: "same-origin", cache: "no-store" });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const data = await response.json();
        if (key !== apiId()) return; // the key changed while this page was on its way
        page = data.page;
        loadedFor = key;
        list.replaceChildren(...data.images.map((image) => thumb(image, input.value.trim(), pick)));
        status.textContent = data.total
          ? `Page ${data.page} of ${data.pages}: ${data.total} stored image${data.total === 1 ? "" : "s"} of this key, newest first.`
          : "This key has stored no image yet: each image sent by file or URL is stored and gets an id.";
        newer.disabled = data.page <= 1;
        older.disabled = data.page >= data.pages;
        pager.hidden = data.pages <= 1;
      } catch (error) {
        status.textContent = `The stored images could not be listed (${error.message}).`;
      }
    };

    picker.addEventListener("toggle", () => {
      if (picker.open && loadedFor !== apiId()) load(1);
    });
    newer.addEventListener("click", () => load(page - 1));
    older.addEventListener("click", () => load(page + 1));
    $("try-api-id").addEventListener("change", () => {
      loadedFor = null;
      list.replaceChildren();
      if (picker.open) load(1);
    });
  }
}
