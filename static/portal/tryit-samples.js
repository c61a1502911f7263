// Files for the try-it pages' file inputs without a file dialog: the built-in sample photos
// (templates/portal/try_samples.html, served by portal/samples.py) and drag-and-drop.
// Reusable by any page: setupSamplePickers() and setupDropTargets() look for their markup in
// the document. Both end in setFile(), which makes the file the input's own, so the form,
// the preview and the code samples see it exactly as a file picked by hand.

// The image slot an input belongs to, switched to "file" so that the file is what is sent.
function chooseFileSource(input) {
  const radio = input.closest("[data-image-slot]")?.querySelector('input[type="radio"][value="file"]');
  if (radio && !radio.checked) {
    radio.checked = true;
    radio.dispatchEvent(new Event("change", { bubbles: true }));
  }
}

export function setFile(input, file) {
  const transfer = new DataTransfer();
  transfer.items.add(file);
  chooseFileSource(input);
  input.files = transfer.files;
  input.dispatchEvent(new Event("input", { bubbles: true }));
  input.dispatchEvent(new Event("change", { bubbles: true }));
}

function markChosen(picker, button) {
  for (const other of picker.querySelectorAll("[data-sample-url]")) {
    other.setAttribute("aria-pressed", String(other === button));
  }
}

export function setupSamplePickers(root = document) {
  for (const picker of root.querySelectorAll("[data-sample-picker]")) {
    const input = document.getElementById(picker.dataset.target);
    if (!input) continue;
    for (const button of picker.querySelectorAll("[data-sample-url]")) {
      button.addEventListener("click", async () => {
        button.disabled = true;
        try {
          const response = await fetch(button.dataset.sampleUrl, { credentials: "same-origin" });
          if (!response.ok) throw new Error(`HTTP ${response.status}`);
          const blob = await response.blob();
          setFile(input, new File([blob], button.dataset.sampleName, { type: blob.type }));
          markChosen(picker, button);
        } catch (error) {
          button.title = `This sample could not be loaded (${error.message}).`;
        } finally {
          button.disabled = false;
        }
      });
    }
    // A file picked by hand or dropped is no longer the sample.
    input.addEventListener("change", () => {
      const name = input.files[0]?.name;
      for (const button of picker.querySelectorAll("[data-sample-url]")) {
        if (button.getAttribute("aria-pressed") === "true" && button.dataset.sampleName !== name) {
          button.setAttribute("aria-pressed", "false");
        }
      }
    });
  }
}

// The box a file may be dropped on: the image slot, else the input's fieldset or field.
function dropZone(input) {
  return input.closest("[data-image-slot]") || input.closest("fieldset") || input.closest(".field") || input;
}

function carriesFiles(event) {
  return [...(event.dataTransfer?.types || [])].includes("Files");
}

export function setupDropTargets(root = document) {
  for (const input of root.querySelectorAll('input[type="file"]')) {
    const zone = dropZone(input);
    if (zone.dataset.dropReady) continue;
    zone.dataset.dropReady = "true";
    zone.classList.add("try-drop-zone");
    let depth = 0; // dragenter/dragleave fire for every child crossed
    zone.addEventListener("dragenter", (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      depth += 1;
      zone.classList.add("drop-over");
    });
    zone.addEventListener("dragover", (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
    });
    zone.addEventListener("dragleave", () => {
      depth = Math.max(0, depth - 1);
      if (!depth) zone.classList.remove("drop-over");
    });
    zone.addEventListener("drop", (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      depth = 0;
      zone.classList.remove("drop-over");
      const file = event.dataTransfer.files[0];
      if (file) setFile(input, file);
    });
  }
}
