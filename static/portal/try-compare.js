// Try compare (templates/portal/try_compare.html): the confidence matrix as a table whose
// row and column headers are crops of each image's faces, each cell coloured by the highest
// documented threshold it reaches, beside the documented threshold table, and a plain
// verdict ("Same person" / "Different people") at the false-accept rate the user picks.
//
// Crops are CSS backgrounds (never a canvas, so an image from another site taints nothing):
// the local file, the URL as given, or a stored image's thumbnail, which is smaller than the
// image the face boxes were measured on, hence the scale.
import {
  $,
  element,
  imageSource,
  loadImage,
  rememberStored,
  sourceUrl,
  startTryPage,
  storedImage,
  thumbnailUrl,
} from "./tryit.js";
import { offerLargestFaces } from "./tryit-faces.js";
import { setFile } from "./tryit-samples.js";

const MAX_FACES = 4; // per image (the contract)

const CROP_PX = 56; // the .crop box of tryit.css

// Documented thresholds, lowest first, from the table the server rendered (one source).
const thresholds = [...$("compare-thresholds").querySelectorAll("tbody tr")].map((row, index) => ({
  value: Number(row.dataset.threshold),
  level: index + 1,
  row,
  label: row.querySelector("td").textContent,
}));

function reached(confidence) {
  let best = null;
  for (const threshold of thresholds) if (confidence >= threshold.value) best = threshold;
  return best;
}

// How the displayed picture relates to the image the API measured: `scale` is displayed
// pixels per original pixel. A thumbnail is the stored image fitted into 1280 px.
async function displayed(source) {
  const url = sourceUrl(source);
  const loaded = await loadImage(url);
  if (!loaded) return null;
  if (source.kind !== "id") return { ...loaded, scale: 1 };
  const stored = storedImage(source.id);
  if (stored && stored.width) return { ...loaded, scale: loaded.width / stored.width };
  // An id not listed on this page: a thumbnail smaller than 1280 px is the image itself.
  return Math.max(loaded.width, loaded.height) < 1280 ? { ...loaded, scale: 1 } : null;
}

function crop(picture, face, name) {
  const box = element("span", { className: "crop", attrs: { role: "img", "aria-label": name } });
  if (!picture || !face) {
    box.classList.add("missing");
    box.textContent = "?";
    box.title = "No picture of this face here (see the raw response for its box)";
    return box;
  }
  const { left, top, width, height } = face.rect;
  const side = Math.max(width, height) * picture.scale;
  const zoom = CROP_PX / side;
  const centreX = (left + width / 2) * picture.scale;
  const centreY = (top + height / 2) * picture.scale;
  box.style.backgroundImage = `url(${JSON.stringify(picture.url)})`;
  box.style.backgroundSize = `${picture.width * zoom}px ${picture.height * zoom}px`;
  box.style.backgroundPosition = `${-(centreX - side / 2) * zoom}px ${-(centreY - side / 2) * zoom}px`;
  return box;
}

function faceHeader(picture, face, image, index, scope) {
  const name = `${image}, face ${index + 1}`;
  return element("th", { attrs: { scope } }, [
    crop(picture, face, name),
    element("span", { className: "face-index", text: `#${index + 1}` }),
  ]);
}

function matrixTable(body, pictures) {
  const facesOne = body.faces_one || [];
  const facesTwo = body.faces_two || [];
  const columns = body.confidences[0] ? body.confidences[0].length : 0;
  const head = element("tr", {}, [
    element("td", { className: "corner" }, [
      element("span", { text: "one ↓" }),
      element("span", { text: "two →" }),
    ]),
    ...Array.from({ length: columns }, (_, j) => faceHeader(pictures[1], facesTwo[j], "Image two", j, "col")),
  ]);
  const rows = body.confidences.map((row, i) =>
    element("tr", {}, [
      faceHeader(pictures[0], facesOne[i], "Image one", i, "row"),
      ...row.map((value) => {
        const level = reached(value);
        const cell = element("td", {
          className: `num cell level-${level ? level.level : 0}`,
          text: value.toFixed(4),
          attrs: { "data-value": String(value) },
        });
        cell.title = level
          ? `Reaches ${level.value}: accepts another person ${level.label} of the time`
          : `Below ${thresholds[0].value}: no documented threshold reached`;
        return cell;
      }),
    ]),
  );
  $("compare-matrix").replaceChildren(element("thead", {}, [head]), element("tbody", {}, rows));
}

function highlight(maxConfidence) {
  const level = reached(maxConfidence);
  for (const threshold of thresholds) {
    const hit = threshold === level;
    threshold.row.classList.toggle("hit", hit);
    if (hit) threshold.row.setAttribute("aria-current", "true");
    else threshold.row.removeAttribute("aria-current");
  }
  return level;
}

function showIds(body, pictures, context) {
  const list = $("compare-ids");
  const items = [];
  [
    ["image_one", 0],
    ["image_two", 1],
  ].forEach(([name, index]) => {
    const id = body[name] && body[name][`${name}_id`];
    if (!id) return;
    const picture = pictures[index];
    if (picture && picture.scale === 1) {
      rememberStored("images", {
        id,
        api_id: context.apiId,
        width: picture.width,
        height: picture.height,
        label: "stored just now",
      });
    }
    items.push(element("dt", { text: `${name}_id` }), element("dd", { className: "mono", text: id }));
  });
  list.replaceChildren(...items);
  list.hidden = items.length === 0;
  $("compare-ids-note").hidden = items.length === 0;
}

// -- the verdict ----------------------------------------------------------------------------

const farSelect = $("compare-far");
let lastBody = null;

// The pair with the highest confidence: [row, column, value].
function bestPair(confidences) {
  let best = [0, 0, -1];
  confidences.forEach((row, i) => row.forEach((value, j) => {
    if (value > best[2]) best = [i, j, value];
  }));
  return best;
}

function showVerdict(body) {
  const option = farSelect.selectedOptions[0];
  const threshold = Number(option.value);
  const rate = option.dataset.words;
  const [i, j, value] = bestPair(body.confidences);
  const same = value >= threshold;
  const several = body.confidences.length > 1 || body.confidences[0].length > 1;
  const pair = several ? `face #${i + 1} of image one and face #${j + 1} of image two` : "the two faces";
  $("compare-verdict-badge").className = `badge ${same ? "ok" : "warn"}`;
  $("compare-verdict-badge").textContent = same ? "match" : "no match";
  $("compare-verdict-text").textContent = same
    ? several ? `Same person: ${pair}` : "Same person"
    : "Different people";
  const setting = `At this setting, a photo of someone else is taken for the same person about ${rate} times.`;
  $("compare-verdict-why").textContent = same
    ? `The confidence of ${pair} is ${value.toFixed(4)}, at least ${threshold}. ${setting}`
    : `No pair of faces reaches ${threshold}: the highest${several ? `, ${pair},` : ""} is ${value.toFixed(4)}. ${setting}`;
  $("compare-verdict").hidden = false;
  for (const cell of document.querySelectorAll("#compare-matrix td.cell")) {
    cell.classList.toggle("match", Number(cell.dataset.value) >= threshold);
  }
  return { same, text: $("compare-verdict-text").textContent, rate };
}

farSelect.addEventListener("change", () => {
  if (lastBody) $("try-status").textContent = summary(lastBody, highlight(lastBody.max_confidence), showVerdict(lastBody));
});

function summary(body, level, verdict) {
  const rows = body.confidences.length;
  const columns = rows ? body.confidences[0].length : 0;
  const reach = level
    ? `it reaches ${level.value}, where another person is accepted ${level.label} of the time`
    : `it reaches no documented threshold`;
  return `${verdict.text} (read at ${verdict.rate}). `
    + `${plural(rows, "face")} in image one, ${plural(columns, "face")} in image two. `
    + `Highest confidence ${body.max_confidence.toFixed(4)}: ${reach}.`;
}

function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

// Object URLs of the local files on show, released when the next answer replaces them.
let shown = [];

const page = startTryPage({
  hints: {
    TOO_MANY_FACES: `Compare takes at most ${MAX_FACES} faces in each image (the largest first in the answer).`,
  },
  prepare() {
    return {
      apiId: page.apiId(),
      secret: $("try-secret").value,
      sources: [imageSource("image_one"), imageSource("image_two")],
      rotate: ["image_one", "image_two"].map((slot) => document.querySelector(`[name="${slot}_auto_rotate"]`).checked),
    };
  },
  reset() {
    $("compare-visual").hidden = true;
    $("compare-verdict").hidden = true;
    lastBody = null;
    highlight(-1);
  },
  refused(result, context) {
    const body = result.json || {};
    const index = { image_one: 0, image_two: 1 }[body.image];
    if (body.status !== "TOO_MANY_FACES" || index === undefined) return;
    offerLargestFaces({
      box: $("try-error"),
      slot: body.image,
      source: context.sources[index],
      keep: MAX_FACES,
      limit: `Compare takes at most ${MAX_FACES} faces in each image.`,
      apiId: context.apiId,
      secret: context.secret,
      rotate: context.rotate[index],
      thumbnailUrl,
      use(file) {
        setFile($(`${body.image}-file`), file);
        $("try-form").requestSubmit();
      },
    });
  },
  async render(result, context) {
    const body = result.json;
    const pictures = await Promise.all(context.sources.map(displayed));
    for (const url of shown) URL.revokeObjectURL(url);
    shown = pictures.filter((picture) => picture && picture.url.startsWith("blob:")).map((picture) => picture.url);
    matrixTable(body, pictures);
    const level = highlight(body.max_confidence);
    showIds(body, pictures, context);
    $("compare-visual").hidden = false;
    lastBody = body;
    return summary(body, level, showVerdict(body));
  },
});
