// The liveness capture page (templates/liveness/capture.html): camera -> challenge -> capture
// -> verification (which uploads the package), all against this service's own API.
import { adviceFor, cueAdvice, describeCue } from "./cue-words.js";
import { captureLiveness } from "./faceportal-capture.js";
import { savedSecret, STORED_API_ID, storageGet } from "../portal/key-store.js";

const API = {
  challenge: "/resources/liveness_challenge",
  verify: "/identity/liveness_selfie_verification",
  detect: "/faceid/v1/detect",
};
// Before recording: how often to look for the face, and for how long.
const FACE_CHECK_TRIES = 5;
const FACE_CHECK_PAUSE_MS = 1500;
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

// The error box: a title, what to do in plain words, and the API's answer folded away (a long
// JSON line must not widen the page: it wraps inside its own box).
function showError(title, advice, raw) {
  const box = $("error");
  box.replaceChildren();
  const strong = document.createElement("strong");
  strong.textContent = title;
  box.append(strong);
  if (advice) {
    const p = document.createElement("p");
    p.textContent = advice;
    box.append(p);
  }
  if (raw) {
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = "The API's answer";
    const pre = document.createElement("pre");
    pre.textContent = raw;
    details.append(summary, pre);
    box.append(details);
  }
  box.hidden = false;
  box.scrollIntoView({ behavior: "smooth", block: "center" });
}

// What a refused call means for the person at the camera.
function adviceForApiError(error) {
  const code = String((error.body && (error.body.status || error.body.error)) || "");
  if (/^(UNAUTHORIZED|AUTHORIZATION_ERROR)$/.test(code)) {
    return "The API refused this API id and secret. If the key's secret was rotated, paste the new secret and press Start again.";
  }
  if (code === "KEY_EXPIRED") return "This key has expired: ask the operator to extend it, or use another key.";
  if (/QUOTA|LIMIT/.test(code)) return "This key has no calls left or is busy: wait a moment, or use another key.";
  if (code === "NETWORK_ERROR") return "The service could not be reached: check the connection and press Start again.";
  if (code === "WRONG_LIVENESS_DATA") return "The recording was refused: press Start to record it again.";
  return "Press Start to try again.";
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

// One still of the camera as a small JPEG: enough to find a face, light to send.
function still(video, maxSide = 480) {
  const scale = Math.min(1, maxSide / Math.max(video.videoWidth, video.videoHeight));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * scale);
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
}

// How many faces the service finds on one still (the API's detect, with the same key), or
// null when it cannot tell: the key may not call detect, or the call failed. Then the check
// is skipped and the cues judge the recording as always.
async function facesInView(credentials) {
  const form = new FormData();
  form.append("api_key", credentials.apiId);
  form.append("api_secret", credentials.apiSecret);
  form.append("image", await still($("camera")), "still.jpg");
  try {
    const response = await fetch(API.detect, { method: "POST", body: form, credentials: "omit", cache: "no-store" });
    const body = await response.json();
    return response.ok && Array.isArray(body.faces) ? body.faces.length : null;
  } catch {
    return null;
  }
}

// Before anything is recorded: is exactly one face in view? Tells the person while it waits.
// Resolves to "one face", "no face", "several faces" or "not checked".
async function waitForOneFace(credentials) {
  const prompt = $("prompt");
  let seen = null;
  for (let attempt = 0; attempt < FACE_CHECK_TRIES; attempt++) {
    status("Looking for your face…");
    seen = await facesInView(credentials);
    if (seen === null) {
      status("The face check was skipped: the key could not call detect.");
      prompt.textContent = "";
      return "not checked";
    }
    if (seen === 1) {
      prompt.textContent = "";
      return "one face";
    }
    prompt.textContent = seen === 0 ? "No face in the frame: face the camera" : "Only you should be in view";
    await new Promise((resolve) => setTimeout(resolve, FACE_CHECK_PAUSE_MS));
  }
  prompt.textContent = "";
  return seen === 0 ? "no face" : "several faces";
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
  for (const [cue, entry] of Object.entries(details)) {
    const tr = document.createElement("tr");
    tr.dataset.cue = cue;
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
    for (const sentence of describeCue(cue, entry)) {
      const item = document.createElement("li");
      item.textContent = sentence;
      list.append(item);
    }
    measures.append(list);
    const advice = cueAdvice(cue, entry);
    if (advice) {
      const p = document.createElement("p");
      p.className = "advice";
      p.textContent = advice;
      measures.append(p);
    }
    tr.append(name, score, passed, measures);
    rows.push(tr);
  }
  $("details-body").replaceChildren(...rows);
  const advice = adviceFor(details);
  const adviceList = $("advice");
  adviceList.replaceChildren(
    ...advice.map((text) => {
      const item = document.createElement("li");
      item.textContent = text;
      return item;
    }),
  );
  $("advice-box").hidden = advice.length === 0 || hack < HACK_THRESHOLD;
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

    $("camera-stage").scrollIntoView({ behavior: "smooth", block: "start" });
    step = "face";
    setStep(step, "active");
    const faceCheck = await waitForOneFace(credentials);
    if (faceCheck === "no face" || faceCheck === "several faces") {
      setStep(step, "failed");
      const title = faceCheck === "no face" ? "No face in the frame." : "More than one face in the frame.";
      showError(
        title,
        faceCheck === "no face"
          ? "Face the camera in good light, with your whole face in view, and press Start again. Nothing was recorded."
          : "Only you should be in view: press Start again when you are alone in the picture. Nothing was recorded.",
      );
      status("Stopped before recording.");
      return;
    }
    setStep(step, faceCheck === "not checked" ? "skipped" : "done");

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

    // One call uploads the package and verifies it (the verification stores it, as an upload
    // would): one round trip, and the frames are decoded once, not at upload and again.
    step = "verify";
    setStep(step, "active");
    status(`Uploading ${frames.length} frames (${Math.round(packageBytes.length / 1024)} KiB) and verifying…`);
    const packageBlob = new Blob([packageBytes], { type: "application/octet-stream" });
    const selfie = frames[0].blob;
    const result = await callApi(step, API.verify, credentials, [
      ["liveness_data_file", [packageBlob, "capture.fplv"]],
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
      showError(
        `The ${step} call failed: ${error.message}`,
        adviceForApiError(error),
        error.body ? JSON.stringify(error.body, null, 2) : "",
      );
    } else if (error && error.name === "NotAllowedError") {
      showError("Camera permission was refused.", "Allow the camera for this page and press Start again.");
    } else if (error && error.name === "NotFoundError") {
      showError("No camera was found.", "Connect a camera and press Start again.");
    } else {
      showError(`The ${step} step failed: ${String((error && error.message) || error)}.`, "Press Start to try again.");
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

// The portal links here with ?api_id=, and its dashboard keeps the chosen key and its secret in
// this tab's sessionStorage ("faceportal.api_id", "faceportal.secret.<api_id>"): fill them in.
// The secret itself never travels in a URL. A linked key whose secret this tab does not have
// (a newer key, or one rotated in another tab) gives way to the key whose secret it has, and
// the page says so; the linked key can still be typed in with its secret.
function prefillKey() {
  const apiId = $("api_id");
  const secret = $("api_secret");
  const note = $("key-note");
  const fromLink = (new URLSearchParams(window.location.search).get("api_id") || "").trim();
  const saved = (storageGet(STORED_API_ID) || "").trim();
  const secretOf = (id) => (id ? savedSecret(id) : null);
  let wanted = fromLink || saved;
  if (fromLink && !secretOf(fromLink) && saved && secretOf(saved)) {
    wanted = saved;
    note.textContent = `This tab has no secret for ${fromLink}: the key saved in this tab (${saved}) is filled in instead. To use ${fromLink}, type its id and secret.`;
    note.hidden = false;
  } else if (wanted && !secretOf(wanted)) {
    note.textContent = `Type the secret of ${wanted}: this tab does not have it (the portal shows a secret only once, when a key is made or rotated).`;
    note.hidden = false;
  }
  if (!apiId.value && wanted) apiId.value = wanted;
  const fillSecret = () => {
    const known = secretOf(apiId.value.trim());
    if (known) secret.value = known;
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
