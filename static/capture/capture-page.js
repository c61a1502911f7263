// The liveness capture page (templates/liveness/capture.html): camera -> challenge -> capture
// -> upload -> verification, all against this service's own API.
import { captureLiveness } from "./faceportal-capture.js";
import { formatMeasurement } from "./measurements.js";

const API = {
  challenge: "/resources/liveness_challenge",
  upload: "/resources/upload_liveness_data",
  verify: "/identity/liveness_selfie_verification",
};
const HACK_THRESHOLD = 0.9;
const VERIFY_THRESHOLD = 0.7;
const PROMPTS = {
  blink: "Blink",
  turn_left: "Turn your head to your left",
  turn_right: "Turn your head to your right",
};

const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  constructor(step, httpStatus, body) {
    const code = (body && body.status) || `HTTP ${httpStatus}`;
    const reason = body && body.reason ? `: ${body.reason}` : "";
    const image = body && body.image ? ` (${body.image})` : "";
    super(`${code}${image}${reason}`);
    this.step = step;
    this.httpStatus = httpStatus;
    this.body = body;
  }
}

function setStep(step, state) {
  const item = document.querySelector(`#steps li[data-step="${step}"]`);
  if (item) item.dataset.state = state;
}

function resetSteps() {
  for (const item of document.querySelectorAll("#steps li")) delete item.dataset.state;
}

function status(text) {
  $("status").textContent = text;
}

function showError(title, detail) {
  const box = $("error");
  box.replaceChildren();
  const strong = document.createElement("strong");
  strong.textContent = title;
  box.append(strong);
  if (detail) {
    const p = document.createElement("p");
    p.textContent = detail;
    box.append(p);
  }
  box.hidden = false;
}

async function callApi(step, path, credentials, fields) {
  const form = new FormData();
  form.append("api_id", credentials.apiId);
  form.append("api_secret", credentials.apiSecret);
  for (const [name, value] of fields) {
    if (Array.isArray(value)) form.append(name, value[0], value[1]);
    else form.append(name, value);
  }
  let response;
  try {
    response = await fetch(path, { method: "POST", body: form, credentials: "omit", cache: "no-store" });
  } catch (error) {
    throw new ApiError(step, 0, { status: "NETWORK_ERROR", reason: String(error.message || error) });
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok || !body || body.status !== "OK") throw new ApiError(step, response.status, body);
  return body;
}

async function openCamera() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new Error("This browser cannot use the camera here (it needs HTTPS or localhost).");
  }
  const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
  const video = $("camera");
  video.srcObject = stream;
  await video.play();
  if (!video.videoWidth) {
    await new Promise((resolve) => video.addEventListener("loadedmetadata", resolve, { once: true }));
  }
  $("camera-idle").hidden = true;
  return stream;
}

function showIdle(text) {
  const idle = $("camera-idle");
  idle.textContent = text;
  idle.hidden = false;
}

function formatScore(value) {
  return typeof value === "number" ? value.toFixed(3) : "–";
}

function verdict(element, good, text) {
  element.textContent = text;
  element.className = good ? "good" : "bad";
}

function showResult(body, selfieBlob) {
  const hack = body.hack_score;
  const verify = body.verify_score;
  $("hack-score").textContent = formatScore(hack);
  $("verify-score").textContent = formatScore(verify);
  verdict($("hack-verdict"), hack < HACK_THRESHOLD, hack < HACK_THRESHOLD ? "Live" : "Attack suspected");
  verdict(
    $("verify-verdict"),
    verify >= VERIFY_THRESHOLD,
    verify >= VERIFY_THRESHOLD ? "Same person as the selfie" : "Not matched to the selfie",
  );

  const rows = [];
  const details = body.details || {};
  const entries = Array.isArray(details)
    ? details.map((entry, i) => [entry.cue || entry.name || String(i), entry])
    : Object.entries(details);
  for (const [cue, entry] of entries) {
    const tr = document.createElement("tr");
    const name = document.createElement("th");
    name.scope = "row";
    name.textContent = cue;
    const score = document.createElement("td");
    score.className = "num";
    score.textContent = formatScore(entry && entry.score);
    const passed = document.createElement("td");
    const ok = Boolean(entry && entry.passed);
    passed.textContent = ok ? "yes" : "no";
    passed.className = ok ? "good" : "bad";
    const measures = document.createElement("td");
    const list = document.createElement("ul");
    for (const [key, value] of Object.entries(entry || {})) {
      if (key === "score" || key === "passed") continue;
      const item = document.createElement("li");
      const label = document.createElement("b");
      label.textContent = `${key}: `;
      item.append(label, formatMeasurement(value));
      list.append(item);
    }
    measures.append(list);
    tr.append(name, score, passed, measures);
    rows.push(tr);
  }
  $("details-body").replaceChildren(...rows);
  $("raw-json").textContent = JSON.stringify(body, null, 2);
  if (selfieBlob) $("selfie").src = URL.createObjectURL(selfieBlob);
  $("result").hidden = false;
  $("result").scrollIntoView({ behavior: "smooth", block: "start" });
}

async function run(credentials) {
  let stream = null;
  let step = "camera";
  try {
    setStep(step, "active");
    status("Opening the camera…");
    stream = await openCamera();
    setStep(step, "done");

    step = "challenge";
    setStep(step, "active");
    status("Asking for a challenge…");
    const challenge = await callApi(step, API.challenge, credentials, []);
    setStep(step, "done");

    step = "capture";
    setStep(step, "active");
    status("Recording: follow the prompts.");
    const prompt = $("prompt");
    const { packageBytes, frames } = await captureLiveness({
      video: $("camera"),
      challenge,
      onPrompt: (action) => {
        if (action === null) prompt.textContent = "Look straight at the camera";
        else if (action === undefined) prompt.textContent = "";
        else prompt.textContent = PROMPTS[action] || action;
      },
    });
    stream.getTracks().forEach((track) => track.stop());
    stream = null;
    $("camera").srcObject = null;
    showIdle(`Recorded ${frames.length} frames. The camera is off.`);
    setStep(step, "done");

    step = "upload";
    setStep(step, "active");
    status(`Uploading ${frames.length} frames (${Math.round(packageBytes.length / 1024)} KiB)…`);
    const packageBlob = new Blob([packageBytes], { type: "application/octet-stream" });
    const uploaded = await callApi(step, API.upload, credentials, [["file", [packageBlob, "capture.fplv"]]]);
    setStep(step, "done");

    step = "verify";
    setStep(step, "active");
    status("Verifying…");
    const selfie = frames[0].blob;
    const result = await callApi(step, API.verify, credentials, [
      ["liveness_data_id", uploaded.liveness_data_id],
      ["verbose", "true"],
      ["selfie_file", [selfie, "selfie.jpg"]],
    ]);
    setStep(step, "done");
    status("Done.");
    showResult(result, selfie);
  } catch (error) {
    setStep(step, "failed");
    $("prompt").textContent = "";
    if (error instanceof ApiError) {
      showError(`The ${step} call failed: ${error.message}`, error.body ? JSON.stringify(error.body) : "");
    } else if (error && error.name === "NotAllowedError") {
      showError("Camera permission was refused.", "Allow the camera for this page and press Start again.");
    } else if (error && error.name === "NotFoundError") {
      showError("No camera was found.", "Connect a camera and press Start again.");
    } else {
      showError(`The ${step} step failed.`, String((error && error.message) || error));
    }
    status("Stopped.");
  } finally {
    if (stream) {
      stream.getTracks().forEach((track) => track.stop());
      $("camera").srcObject = null;
      showIdle("The camera is off. Press Start to try again.");
    }
  }
}

// sessionStorage can be switched off; the fields then simply start empty.
function storedValue(key) {
  try {
    return window.sessionStorage.getItem(key);
  } catch {
    return null;
  }
}

// The portal links here with ?api_id=, and its dashboard keeps the chosen key and its secret in
// this tab's sessionStorage ("faceportal.api_id", "faceportal.secret.<api_id>"): fill them in.
// The secret itself never travels in a URL.
function prefillKey() {
  const apiId = $("api_id");
  const secret = $("api_secret");
  const fromLink = new URLSearchParams(window.location.search).get("api_id");
  const wanted = (fromLink || storedValue("faceportal.api_id") || "").trim();
  if (!apiId.value && wanted) apiId.value = wanted;
  const fillSecret = () => {
    const known = storedValue(`faceportal.secret.${apiId.value.trim()}`);
    if (known && !secret.value) secret.value = known;
  };
  fillSecret();
  apiId.addEventListener("change", fillSecret);
}

function init() {
  prefillKey();
  const form = $("capture-form");
  const start = $("start");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    const credentials = { apiId: $("api_id").value.trim(), apiSecret: $("api_secret").value };
    start.disabled = true;
    start.textContent = "Running…";
    $("error").hidden = true;
    $("result").hidden = true;
    resetSteps();
    try {
      await run(credentials);
    } finally {
      start.disabled = false;
      start.textContent = "Start again";
    }
  });
}

init();
