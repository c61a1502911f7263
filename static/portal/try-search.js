// Try search (templates/portal/try_search.html): the set picker follows the chosen key (sets
// belong to one key), and the answer is drawn as the photo searched with beside its matches,
// each with the crop of its enrolled face (the portal's crop view) and its score.
import { $, element, formatNumber, imageSource, sourceUrl, startTryPage } from "./tryit.js";

const sets = JSON.parse($("search-sets").textContent || "[]");
const setPicker = $("search-set");
const visual = $("search-visual");

function cropUrl(faceId) {
  return visual.dataset.cropUrl.replace("/0/crop/", `/${encodeURIComponent(faceId)}/crop/`);
}

// The chosen key's sets; the one asked for in the URL (or chosen before) stays chosen.
function fillSets(apiId) {
  const wanted = setPicker.value || setPicker.dataset.selected || "";
  const own = sets.filter((item) => item.api_id === apiId);
  if (!own.length) {
    // An empty required choice: the form asks for a set rather than sending none.
    setPicker.replaceChildren(element("option", { text: "This key has no face sets", attrs: { value: "" } }));
    return;
  }
  setPicker.replaceChildren(
    ...own.map((item) =>
      element("option", {
        text: `${item.name} (${item.faces.toLocaleString("en")} face${item.faces === 1 ? "" : "s"})`,
        attrs: { value: item.name },
      }),
    ),
  );
  if (own.some((item) => item.name === wanted)) setPicker.value = wanted;
}

let shown = "";

function release() {
  if (shown.startsWith("blob:")) URL.revokeObjectURL(shown);
  shown = "";
}

function describeSource(source) {
  if (source.kind === "file") return source.file ? source.file.name : "the file";
  if (source.kind === "url") return source.url;
  return `stored image ${source.id}`;
}

function when(unixSeconds) {
  if (typeof unixSeconds !== "number") return "–";
  return new Date(unixSeconds * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

// The documented thresholds of the page's table, lowest first: a score is read against the
// highest one it reaches (how often one given other person scores that high).
const DOCUMENTED = [...document.querySelectorAll("#search-thresholds tr[data-threshold]")]
  .map((row) => ({ threshold: Number(row.dataset.threshold), rate: row.querySelector("td").textContent }))
  .sort((a, b) => a.threshold - b.threshold);

function documentedBand(score) {
  if (typeof score !== "number") return null;
  return DOCUMENTED.filter((band) => score >= band.threshold).pop() || null;
}

function matchCard(match, index) {
  const crop = element("img", {
    className: "face-crop",
    attrs: {
      src: cropUrl(match.face_id),
      width: "128",
      height: "128",
      alt: `Enrolled face ${match.face_id}, person ${match.person_id}`,
    },
  });
  // A face outlives its photo (retention): the crop is then gone, the match is not.
  crop.addEventListener("error", () => {
    crop.replaceWith(element("div", { className: "face-crop gone", text: "photo removed by retention" }));
  });
  const band = documentedBand(match.score);
  return element("li", { className: "match", attrs: { "data-face-id": String(match.face_id) } }, [
    crop,
    element("span", { className: "score", text: `#${index + 1} · ${formatNumber(match.score, 3)}` }),
    element("span", {
      className: `badge ${band ? "ok" : "warn"}`,
      text: band ? `≥ ${band.threshold}: ${band.rate}` : `below ${DOCUMENTED[0]?.threshold ?? ""}`,
      attrs: { title: "How often one other person reaches this score (one comparison)" },
    }),
    element("dl", { className: "face-facts" }, [
      element("dt", { text: "Person" }),
      element("dd", { className: "mono person-id", text: String(match.person_id) }),
      element("dt", { text: "Face id" }),
      element("dd", { className: "mono face-id", text: String(match.face_id) }),
      element("dt", { text: "Enrolled" }),
      element("dd", { text: when(match.create_time) }),
    ]),
  ]);
}

const page = startTryPage({
  prepare(fields) {
    const threshold = Number((fields.find((field) => field.name === "threshold") || {}).value ?? 0.8);
    const name = (fields.find((field) => field.name === "name") || {}).value || "";
    return { source: imageSource("image"), threshold, name };
  },
  reset() {
    visual.hidden = true;
    $("search-matches").replaceChildren();
    release();
  },
  async render(result, context) {
    release();
    shown = sourceUrl(context.source);
    const query = $("search-query");
    query.src = shown;
    query.alt = `The photo searched with: ${describeSource(context.source)}`;
    $("search-query-caption").textContent = `Searched with ${describeSource(context.source)} in “${context.name}”.`;
    const matches = Array.isArray(result.json.result) ? result.json.result : [];
    $("search-matches").replaceChildren(...matches.map(matchCard));
    $("search-none").hidden = matches.length > 0;
    visual.hidden = false;
    if (!matches.length) return `No face in “${context.name}” reaches ${context.threshold}.`;
    const best = matches[0];
    return `${matches.length} match${matches.length === 1 ? "" : "es"} in “${context.name}”; the best is person ${best.person_id} (face ${best.face_id}) at ${formatNumber(best.score, 3)}.`;
  },
});

const keyPicker = $("try-api-id");
keyPicker.addEventListener("change", () => fillSets(keyPicker.value));
fillSets(page.apiId());
// The curl command was drawn before the sets were filled in.
page.form.dispatchEvent(new Event("change"));
