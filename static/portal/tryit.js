// What every try-it page shares (templates/portal/try_base.html): the key picker, the image
// sources, the call itself, the raw answer and the call in code (tryit-code.js). Each page's
// own module (try-detect.js, ...) passes in how to draw its result.
//
// The secret typed here goes only into the API call's form and, if the user keeps it, into
// this tab's sessionStorage with the version of the key's secret (static/portal/key-store.js);
// never into a URL, and into the page only when the user ticks "show my secret" in the code
// panel (tryit-code.js).
import { forgetSecret, keepSecret, keptSecret, STORED_API_ID, storageGet, storageSet } from "./key-store.js";
import { setupCodePanel } from "./tryit-code.js";
import { setupDropTargets, setupSamplePickers } from "./tryit-samples.js";
import { setupStoredPickers } from "./tryit-stored.js";
import { prefillFromQuery } from "./replay.js";

const THUMBNAIL_SIZE = 1280;

export const $ = (id) => document.getElementById(id);

export function element(tag, { className, text, attrs } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function jsonData(id) {
  const node = $(id);
  if (!node) return [];
  try {
    const data = JSON.parse(node.textContent);
    return Array.isArray(data) ? data : [];
  } catch {
    return [];
  }
}

// -- the user's stored images and packages, suggested for reuse by id ----------------------

const recent = { images: jsonData("try-stored-images"), packages: jsonData("try-packages") };

// An id a call just returned: suggested from now on, for the key that stored it.
export function rememberStored(kind, entry) {
  if (!entry.id || recent[kind].some((item) => item.id === entry.id)) return;
  recent[kind].unshift(entry);
  const apiId = $("try-api-id").value;
  for (const fieldset of document.querySelectorAll("[data-image-slot]")) fillSuggestions(fieldset, apiId);
}

export function storedImage(id) {
  return recent.images.find((item) => item.id === id) || null;
}

function fillSuggestions(fieldset, apiId) {
  const list = fieldset.querySelector("datalist");
  const items = recent[fieldset.dataset.recent] || [];
  const own = items.filter((item) => item.api_id === apiId);
  list.replaceChildren(...own.map((item) => element("option", { attrs: { value: item.id, label: item.label } })));
  const count = fieldset.querySelector("[data-recent-count]");
  if (count) {
    count.textContent = own.length
      ? `${own.length} recent one${own.length === 1 ? "" : "s"} of this key ${own.length === 1 ? "is" : "are"} suggested.`
      : "This key has stored none yet.";
  }
}

// -- image sources: file, URL or stored id -------------------------------------------------

export function thumbnailUrl(id, size = THUMBNAIL_SIZE) {
  const template = $("try-form").dataset.thumbnailUrl;
  return `${template.replace("__id__", encodeURIComponent(id))}?size=${size}`;
}

// What the user chose for one image slot, as it will be sent.
export function imageSource(slot) {
  const fieldset = document.querySelector(`[data-image-slot="${slot}"]`);
  const kind = fieldset.querySelector('input[type="radio"]:checked').value;
  const input = fieldset.querySelector(`[data-source="${kind}"] input[data-api]`);
  if (kind === "file") return { kind, file: input.files[0] || null };
  return { kind, [kind]: input.value.trim() };
}

// A URL the page can show the source with: the file itself, the URL as given (the browser
// loads it, so no canvas ever reads it), or the stored image's thumbnail.
export function sourceUrl(source) {
  if (source.kind === "file") return source.file ? URL.createObjectURL(source.file) : "";
  if (source.kind === "url") return source.url;
  return source.id ? thumbnailUrl(source.id) : "";
}

export function loadImage(url) {
  return new Promise((resolve) => {
    if (!url) {
      resolve(null);
      return;
    }
    const image = new Image();
    image.decoding = "async";
    image.onload = () => resolve({ url, width: image.naturalWidth, height: image.naturalHeight });
    image.onerror = () => resolve(null);
    image.src = url;
  });
}

function setupImageSlot(fieldset, changed) {
  const preview = fieldset.querySelector("[data-preview]");
  let previewUrl = "";
  const showPreview = () => {
    if (!preview) return;
    if (previewUrl.startsWith("blob:")) URL.revokeObjectURL(previewUrl);
    const source = imageSource(fieldset.dataset.imageSlot);
    const valid = source.kind !== "id" || /^[0-9a-f]{32}$/.test(source.id);
    previewUrl = valid ? (source.kind === "id" ? thumbnailUrl(source.id, 160) : sourceUrl(source)) : "";
    preview.hidden = !previewUrl;
    if (previewUrl) preview.src = previewUrl;
    else preview.removeAttribute("src");
  };
  if (preview) preview.addEventListener("error", () => (preview.hidden = true));
  const choose = () => {
    const chosen = fieldset.querySelector('input[type="radio"]:checked').value;
    for (const box of fieldset.querySelectorAll("[data-source]")) {
      const active = box.dataset.source === chosen;
      box.hidden = !active;
      // Disabled inputs are neither validated nor sent: only the chosen source goes.
      for (const input of box.querySelectorAll("input[data-api]")) {
        input.disabled = !active;
        input.required = active;
      }
    }
    showPreview();
    changed();
  };
  for (const radio of fieldset.querySelectorAll('input[type="radio"]')) radio.addEventListener("change", choose);
  for (const input of fieldset.querySelectorAll("[data-source] input")) input.addEventListener("change", showPreview);
  choose();
}

// -- the key picker -------------------------------------------------------------------------

// Which key the picker starts on: the one a link asked for; else the last one used, if this tab
// has its current secret; else the first (newest) key whose current secret it has; else the
// last one used or the newest, and the page asks for the secret (never a stale one: a secret
// kept from before a rotation is dropped as it is read).
function startingKey(select, options) {
  if ("preselected" in select.dataset) return select.value;
  const have = options.filter((option) => keptSecret(option.value, option.dataset.version).secret);
  const remembered = storageGet(STORED_API_ID);
  const pick =
    have.find((option) => option.value === remembered) ||
    have.find((option) => !option.dataset.problem) ||
    have[0] ||
    options.find((option) => option.value === remembered);
  return pick ? pick.value : select.value;
}

function setupKeyPicker(changed) {
  const select = $("try-api-id");
  const secret = $("try-secret");
  const problem = $("try-key-problem");
  const missing = $("try-secret-missing");
  const options = [...select.options];
  // Read before startingKey, which drops what is stale: said once, for the key it was.
  const stale = new Set(
    options.filter((option) => keptSecret(option.value, option.dataset.version).stale).map((option) => option.value),
  );
  select.value = startingKey(select, options);
  const keyChanged = () => {
    const option = select.selectedOptions[0];
    const kept = option ? keptSecret(option.value, option.dataset.version) : {};
    secret.value = kept.secret || "";
    const name = option ? option.dataset.name || option.value : "";
    showMissing(missing, name, !kept.secret && option ? (stale.has(option.value) ? "rotated" : "none") : "");
    const reason = option?.dataset.problem || "";
    problem.hidden = !reason;
    problem.textContent = reason ? `The API will refuse this key: ${reason}. The refusal is shown as it comes.` : "";
    for (const fieldset of document.querySelectorAll("[data-image-slot]")) fillSuggestions(fieldset, select.value);
    changed();
  };
  select.addEventListener("change", () => {
    storageSet(STORED_API_ID, select.value);
    keyChanged();
  });
  secret.addEventListener("input", () => {
    if (secret.value) showMissing(missing, "", "");
  });
  keyChanged();
  return select;
}

// Says why the secret field is empty (why: "none", "rotated" or "refused"; "" hides it).
function showMissing(box, name, why) {
  box.hidden = !why;
  if (!why) {
    box.textContent = "";
    return;
  }
  const where =
    "Paste it below: the dashboard shows a secret once, when the key is created or its secret rotated. " +
    "Lost it? Rotate the secret on the dashboard.";
  const said = {
    none: `This browser tab does not have the secret of “${name}”.`,
    rotated: `The secret of “${name}” was rotated: the one this tab kept is no longer used.`,
    refused: `The API refused the secret of “${name}”: this tab no longer keeps it.`,
  }[why];
  box.textContent = `${said} ${where}`;
}

function rememberSecret(option, secret) {
  storageSet(STORED_API_ID, option.value);
  if ($("try-remember").checked) keepSecret(option.value, option.dataset.version, secret);
  else forgetSecret(option.value);
}

// The API's answer to a secret it does not take (LinkFace, FaceID): that secret is not kept.
const SECRET_REFUSED = new Set(["UNAUTHORIZED", "AUTHORIZATION_ERROR"]);

function secretRefused(result) {
  const body = result.json;
  return Boolean(body && typeof body === "object" && SECRET_REFUSED.has(body.status || body.error));
}

// -- the form's fields, as sent --------------------------------------------------------------

export function collectFields(form) {
  const fields = [];
  for (const input of form.querySelectorAll("[data-api]")) {
    if (input.disabled) continue;
    if (input.type === "file") {
      if (input.files.length) fields.push({ name: input.name, file: input.files[0] });
    } else if (input.type === "checkbox") {
      fields.push({ name: input.name, value: input.checked ? input.value : input.dataset.off });
    } else if (input.value.trim() !== "") {
      fields.push({ name: input.name, value: input.value.trim() });
    }
  }
  return fields;
}

// -- the call -------------------------------------------------------------------------------

async function callApi(url, idField, apiId, secret, fields) {
  const body = new FormData();
  body.append(idField, apiId);
  body.append("api_secret", secret);
  for (const field of fields) {
    if (field.file) body.append(field.name, field.file, field.file.name);
    else body.append(field.name, field.value);
  }
  const started = performance.now();
  // No cookies: the API authenticates by key only, exactly as an integrator's server would.
  const response = await fetch(url, { method: "POST", body, credentials: "omit", cache: "no-store" });
  const contentType = response.headers.get("Content-Type") || "";
  const result = {
    httpStatus: response.status,
    contentType,
    requestId: response.headers.get("X-Request-Id") || "",
    json: null,
    blob: null,
    text: "",
    ms: 0,
  };
  if (contentType.startsWith("image/")) {
    result.blob = await response.blob();
  } else {
    result.text = await response.text();
    if (contentType.startsWith("application/json")) {
      try {
        result.json = JSON.parse(result.text);
      } catch {
        result.json = null;
      }
    }
  }
  result.ms = Math.round(performance.now() - started);
  if (!result.requestId && result.json) result.requestId = result.json.request_id || "";
  return result;
}

// LinkFace answers status "OK", FaceID answers without an "error", mask answers an image.
export function succeeded(result) {
  if (result.httpStatus !== 200) return false;
  if (result.blob) return true;
  if (!result.json || typeof result.json !== "object") return false;
  if ("error" in result.json) return false;
  return result.json.status === undefined || result.json.status === "OK";
}

const HINTS = {
  UNAUTHORIZED: "Check the secret: the dashboard shows it once, when the key is created or rotated.",
  AUTHORIZATION_ERROR: "Check the secret: the dashboard shows it once, when the key is created or rotated.",
  KEY_EXPIRED: "This key has expired: ask the operator to extend it, or use another key.",
  NO_PERMISSION: "This key may not call this endpoint: ask the operator, or use another key.",
  OUT_OF_QUOTA: "This key's quota is used up: ask the operator to top it up.",
  RATE_LIMIT_EXCEEDED: "Too many calls per second for this key: wait a moment and try again.",
  CONCURRENCY_LIMIT_EXCEEDED: "Too many calls at once for this key: wait a moment and try again.",
  NO_FACE_DETECTED: "No face was found. If the photo is turned, tick the option to try turned images.",
  TOO_MANY_FACES: "Too many faces in the image for this endpoint.",
  IMAGE_ID_NOT_EXIST: "Stored ids belong to the key that stored them: pick the same key.",
  DOWNLOAD_ERROR: "The server could not fetch that URL: it must be public http(s).",
  DOWNLOAD_TIMEOUT: "The URL took longer than 5 s to download.",
  WRONG_LIVENESS_DATA: "The package is refused: each is accepted once, for its own key, before its challenge expires.",
};

// pageHints: a page's own words for a code (mask's TOO_MANY_FACES is not compare's).
export function errorSummary(result, pageHints = {}) {
  const body = result.json;
  if (body && typeof body === "object") {
    const code = body.status || body.error || `HTTP ${result.httpStatus}`;
    const image = body.image ? ` (${body.image})` : "";
    const reason = body.reason ? `: ${body.reason}` : "";
    const bare = String(code).split(":")[0];
    const hints = { ...HINTS, ...pageHints };
    return { message: `${code}${image}${reason}`, hint: hints[code] || hints[bare] || "" };
  }
  const text = (result.text || "").trim().slice(0, 200);
  return { message: text || `HTTP ${result.httpStatus}`, hint: "" };
}

function rawText(result) {
  if (result.blob) return `[${result.contentType}, ${result.blob.size.toLocaleString("en")} bytes: the image itself]`;
  if (result.json !== null) return JSON.stringify(result.json, null, 2);
  return result.text || "(empty body)";
}

// Refusals answered before the key is known: the service records them under no account, so
// they are not in the user's call history (nobody can write into another's history).
const BEFORE_THE_KEY = new Set([
  "UNAUTHORIZED",
  "KEY_EXPIRED",
  "ENCODING_ERROR",
  "AUTHORIZATION_ERROR",
  "AUTHORIZATION_ERROR:KEY_EXPIRED",
  "MISSING_ARGUMENTS:api_key",
  "MISSING_ARGUMENTS:api_secret",
  "BAD_ARGUMENTS:api_key",
  "BAD_ARGUMENTS:api_secret",
  "BAD_ARGUMENTS:body",
]);

function inHistory(result) {
  const body = result.json;
  const code = body && typeof body === "object" ? body.status || body.error : null;
  const wholeBody = body && typeof body.reason === "string" && body.reason.startsWith("request body over");
  return !(code && BEFORE_THE_KEY.has(code)) && !wholeBody && result.httpStatus !== 413;
}

function showFacts(result, ok) {
  $("try-facts").hidden = false;
  const badge = element("span", { className: `badge ${ok ? "ok" : "err"}`, text: String(result.httpStatus) });
  $("try-http").replaceChildren(badge, ` ${result.contentType || "no content type"}`);
  const id = result.requestId;
  if (id && !inHistory(result)) {
    $("try-request-id").replaceChildren(
      element("span", { className: "mono", text: id }),
      element("span", { className: "note", text: " (not in your call history: refused before the key was recognised)" }),
    );
  } else if (id) {
    const href = $("try-form").dataset.callUrl.replace("__id__", encodeURIComponent(id));
    $("try-request-id").replaceChildren(
      element("a", { text: id, attrs: { href, title: "This call in your call history" } }),
    );
  } else {
    $("try-request-id").textContent = "none";
  }
  $("try-time").textContent = `${result.ms} ms`;
}

function showError(title, detail, hint) {
  const box = $("try-error");
  const parts = [element("p", {}, [element("strong", { text: title })])];
  if (detail) parts.push(element("p", { className: "mono", text: detail }));
  if (hint) parts.push(element("p", { text: hint }));
  box.replaceChildren(...parts);
  box.hidden = false;
}

function announce(text) {
  $("try-status").textContent = text;
}

// Stacked on a phone, the result is below the whole form; beside it on a desktop, it is above
// the viewport once the user has scrolled down to the button. Either way, bring it into view
// once answered, and move the focus there so that a screen reader goes on from the result.
function revealResult() {
  const panel = $("try-result");
  const top = panel.getBoundingClientRect().top;
  if (top < 0 || top > window.innerHeight * 0.6) {
    const still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    panel.scrollIntoView({ block: "start", behavior: still ? "auto" : "smooth" });
  }
  panel.focus({ preventScroll: true });
}

// page: { render(result, context) -> summary text, prepare(fields) -> context, reset(), output(fields),
//   hints: {code: text}, refused(result, context): after a refusal is shown (e.g. to offer a fix) }
export function startTryPage(page) {
  const form = $("try-form");
  const submit = $("try-submit");
  const apiUrl = new URL(form.dataset.apiUrl, window.location.origin).href;
  const idField = form.dataset.idField;
  let select = null;

  const refreshCode = setupCodePanel(
    () => {
      const fields = collectFields(form);
      const output = page.output ? page.output(fields) : "";
      return { origin: window.location.origin, apiId: select.value, fields, output };
    },
    () => $("try-secret").value,
  );
  const refreshCurl = () => {
    if (select) refreshCode();
  };
  prefillFromQuery(form); // a replayed call's parameters, before the sources are set up
  setupSamplePickers();
  setupDropTargets();
  for (const fieldset of document.querySelectorAll("[data-image-slot]")) setupImageSlot(fieldset, refreshCurl);
  select = setupKeyPicker(refreshCurl);
  setupStoredPickers({ apiId: () => select.value, picked: (image) => rememberStored("images", image) });
  form.addEventListener("input", refreshCurl);
  form.addEventListener("change", refreshCurl);
  refreshCurl();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    const option = select.selectedOptions[0];
    const apiId = select.value;
    const secret = $("try-secret").value;
    const fields = collectFields(form);
    const context = page.prepare ? page.prepare(fields) : {};
    submit.disabled = true;
    form.setAttribute("aria-busy", "true");
    $("try-error").hidden = true;
    announce("Calling the API…");
    try {
      let result;
      try {
        result = await callApi(apiUrl, idField, apiId, secret, fields);
      } catch (error) {
        page.reset?.();
        showError("The call did not reach the API.", String((error && error.message) || error), "");
        announce("The call did not reach the API.");
        return;
      }
      if (secretRefused(result)) {
        forgetSecret(apiId);
        showMissing($("try-secret-missing"), option.dataset.name || apiId, "refused");
      } else {
        rememberSecret(option, secret);
      }
      const ok = succeeded(result);
      showFacts(result, ok);
      $("try-raw").textContent = rawText(result);
      if (!ok) {
        page.reset?.();
        const { message, hint } = errorSummary(result, page.hints);
        showError(`The API refused the call (HTTP ${result.httpStatus}).`, message, hint);
        announce(`Refused: ${message}`);
        page.refused?.(result, context);
        return;
      }
      try {
        announce(await page.render(result, context));
      } catch (error) {
        showError("The answer came back but could not be drawn.", String((error && error.message) || error), "");
        announce("The answer came back (see the raw response) but could not be drawn.");
      }
    } finally {
      submit.disabled = false;
      form.removeAttribute("aria-busy");
      revealResult();
    }
  });
  submit.disabled = false;
  return { form, apiId: () => select.value };
}

export function formatNumber(value, digits) {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "–";
}
