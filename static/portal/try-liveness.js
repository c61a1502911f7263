// Try liveness verification (templates/portal/try_liveness.html): hack_score and verify_score
// read against their documented thresholds, the selfie, and one row per liveness cue.
import { formatMeasurement } from "../capture/measurements.js";
import { $, element, formatNumber, imageSource, rememberStored, sourceUrl, startTryPage } from "./tryit.js";

const visual = $("liveness-visual");
const HACK_THRESHOLD = Number(visual.dataset.hackThreshold);
const SAME_PERSON = Number(visual.dataset.samePerson);

function verdict(target, good, text) {
  target.replaceChildren(element("span", { className: `badge ${good ? "ok" : "err"}`, text }));
}

function cueRow([cue, entry]) {
  const passed = Boolean(entry && entry.passed);
  const measurements = element(
    "ul",
    { className: "measures" },
    Object.entries(entry || {})
      .filter(([key]) => key !== "score" && key !== "passed")
      .map(([key, value]) => element("li", {}, [element("b", { text: `${key}: ` }), formatMeasurement(value)])),
  );
  return element("tr", { attrs: { "data-cue": cue } }, [
    element("th", { attrs: { scope: "row" } }, [element("code", { text: cue })]),
    element("td", { className: "num", text: formatNumber(entry && entry.score, 3) }),
    element("td", {}, [element("span", { className: `badge ${passed ? "ok" : "err"}`, text: passed ? "passed" : "failed" })]),
    element("td", {}, [measurements]),
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
