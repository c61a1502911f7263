// Try liveness verification (templates/portal/try_liveness.html): hack_score and verify_score
// read against their documented thresholds, the selfie, and one row per liveness cue.
import { adviceFor, cueAdvice, describeCue } from "../capture/cue-words.js";
import { $, element, formatNumber, imageSource, rememberStored, sourceUrl, startTryPage } from "./tryit.js";

const visual = $("liveness-visual");
const HACK_THRESHOLD = Number(visual.dataset.hackThreshold);
const SAME_PERSON = Number(visual.dataset.samePerson);

function verdict(target, good, text) {
  target.replaceChildren(element("span", { className: `badge ${good ? "ok" : "err"}`, text }));
}

function cueRow([cue, entry]) {
  const passed = Boolean(entry && entry.passed);
  // What was measured, in sentences, and for a failed cue what to do differently.
  const measurements = element(
    "ul",
    { className: "measures" },
    describeCue(cue, entry).map((sentence) => element("li", { text: sentence })),
  );
  const advice = cueAdvice(cue, entry);
  return element("tr", { attrs: { "data-cue": cue } }, [
    element("th", { attrs: { scope: "row" } }, [element("code", { text: cue })]),
    element("td", { className: "num", text: formatNumber(entry && entry.score, 3) }),
    element("td", {}, [element("span", { className: `badge ${passed ? "ok" : "err"}`, text: passed ? "passed" : "failed" })]),
    element("td", {}, advice ? [measurements, element("p", { className: "cue-advice", text: advice })] : [measurements]),
  ]);
}

function showIds(body) {
  const items = [];
  for (const name of ["liveness_data_id", "image_id"]) {
    if (body[name]) items.push(element("dt", { text: name }), element("dd", { className: "mono", text: body[name] }));
  }
  $("liveness-ids").replaceChildren(...items);
}

let shownUrl = "";

const page = startTryPage({
  prepare() {
    return { apiId: page.apiId(), selfie: imageSource("selfie") };
  },
  reset() {
    visual.hidden = true;
  },
  async render(result, context) {
    const body = result.json;
    const hack = body.hack_score;
    const verify = body.verify_score;
    $("liveness-hack").textContent = formatNumber(hack, 3);
    $("liveness-verify").textContent = formatNumber(verify, 3);
    const live = hack < HACK_THRESHOLD;
    const same = verify >= SAME_PERSON;
    verdict($("liveness-hack-verdict"), live, live ? "live: every cue passed" : "attack suspected");
    verdict($("liveness-verify-verdict"), same, same ? "same person as the selfie" : "not the selfie's person");
    if (shownUrl.startsWith("blob:")) URL.revokeObjectURL(shownUrl);
    shownUrl = sourceUrl(context.selfie);
    $("liveness-selfie").src = shownUrl;
    showIds(body);
    const cues = Object.entries(body.details || {});
    $("liveness-cues").querySelector("tbody").replaceChildren(...cues.map(cueRow));
    const advice = live ? [] : adviceFor(body.details);
    const adviceBox = $("liveness-advice");
    adviceBox.querySelector("ul").replaceChildren(...advice.map((text) => element("li", { text })));
    adviceBox.hidden = advice.length === 0;
    // The package and the selfie are stored now: offer their ids for the next call.
    rememberStored("packages", { id: body.liveness_data_id, api_id: context.apiId, label: "stored just now" });
    rememberStored("images", { id: body.image_id, api_id: context.apiId, label: "selfie stored just now" });
    visual.hidden = false;
    const failed = cues.filter(([, entry]) => !(entry && entry.passed)).map(([cue]) => cue);
    const cueText = failed.length ? `Failed cues: ${failed.join(", ")}.` : "Every cue passed.";
    return `hack_score ${formatNumber(hack, 3)} (${live ? "live" : "attack suspected"}), `
      + `verify_score ${formatNumber(verify, 3)} (${same ? "same person" : "not the same person"}). ${cueText}`;
  },
});

// The capture page records, uploads and verifies with the key chosen here.
const captureLink = $("capture-link");
const keySelect = $("try-api-id");
function updateCaptureLink() {
  const url = new URL(captureLink.dataset.captureUrl, window.location.origin);
  url.searchParams.set("api_id", keySelect.value);
  captureLink.href = url.pathname + url.search;
}
keySelect.addEventListener("change", updateCaptureLink);
updateCaptureLink();

// -- a sample package, for trying without a camera -------------------------------------------

const sample = $("sample");

function base64Bytes(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

// Puts `file` into a slot's file input, as if chosen by hand.
function useFile(slot, file) {
  const fieldset = document.querySelector(`[data-image-slot="${slot}"]`);
  const radio = fieldset.querySelector('input[type="radio"][value="file"]');
  radio.checked = true;
  radio.dispatchEvent(new Event("change", { bubbles: true }));
  const input = fieldset.querySelector('[data-source="file"] input[type="file"]');
  const files = new DataTransfer();
  files.items.add(file);
  input.files = files.files;
  input.dispatchEvent(new Event("change", { bubbles: true }));
}

async function fetchSample() {
  const say = (text) => {
    $("sample-status").textContent = text;
  };
  const secret = $("try-secret").value;
  if (!secret) {
    say("Type the selected key's secret first: the challenge is asked for with it.");
    $("try-secret").focus();
    return;
  }
  const button = $("sample-button");
  button.disabled = true;
  try {
    say("Asking the API for a challenge…");
    const ask = new FormData();
    ask.append("api_id", keySelect.value);
    ask.append("api_secret", secret);
    const asked = await fetch(sample.dataset.challengeUrl, { method: "POST", body: ask, credentials: "omit", cache: "no-store" });
    const challenge = await asked.json().catch(() => ({}));
    if (!asked.ok || challenge.status !== "OK") {
      say(`The challenge was refused: ${challenge.status || `HTTP ${asked.status}`}${challenge.reason ? ` (${challenge.reason})` : ""}.`);
      return;
    }
    say("Building the sample package…");
    const build = new FormData();
    build.append("challenge_id", challenge.challenge_id);
    build.append("csrfmiddlewaretoken", sample.querySelector("[name=csrfmiddlewaretoken]").value);
    const built = await fetch(sample.dataset.sampleUrl, { method: "POST", body: build, credentials: "same-origin" });
    const answer = await built.json().catch(() => ({}));
    if (!built.ok || !answer.package) {
      say(answer.error || `The sample could not be built (HTTP ${built.status}).`);
      return;
    }
    useFile("liveness_data", new File([base64Bytes(answer.package)], "sample.fplv", { type: "application/octet-stream" }));
    useFile("selfie", new File([base64Bytes(answer.selfie)], "sample-selfie.jpg", { type: "image/jpeg" }));
    say(`Sample ready for challenge ${answer.challenge_id} (${answer.actions.join(", ")}): press Verify.`);
  } catch (error) {
    say(`The sample failed: ${String((error && error.message) || error)}.`);
  } finally {
    button.disabled = false;
  }
}

if (sample) $("sample-button").addEventListener("click", fetchSample);
