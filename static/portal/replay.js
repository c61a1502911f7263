// "Replay in try-it" (the call detail's link): the try-it form filled in from the query
// string, as the call was made. Only the form's own API fields are filled, never a secret
// (the history never has one) and never a file (a page cannot choose one); a stored id also
// picks its image's "Stored id" source, so that the id is what is sent.
const TRUE_WORDS = new Set(["1", "true", "yes", "on"]);

export function prefillFromQuery(form, search = window.location.search) {
  const query = new URLSearchParams(search);
  let filled = 0;
  for (const input of form.querySelectorAll("[data-api]")) {
    if (!query.has(input.name) || /secret/i.test(input.name)) continue;
    const value = query.get(input.name);
    if (input.type === "file" || input.type === "hidden") continue;
    if (input.type === "checkbox") {
      input.checked = TRUE_WORDS.has(value.trim().toLowerCase());
    } else {
      input.value = value;
      const box = input.closest("[data-source]");
      const fieldset = input.closest("[data-image-slot]");
      if (box && fieldset) {
        const radio = fieldset.querySelector(`input[type="radio"][value="${box.dataset.source}"]`);
        if (radio) radio.checked = true;
      }
    }
    filled += 1;
  }
  return filled;
}
