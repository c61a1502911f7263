// Try compare (templates/portal/try_compare.html): the confidence matrix as a table whose
// row and column headers are crops of each image's faces, each cell coloured by the highest
// documented threshold it reaches, beside the documented threshold table.
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
} from "./tryit.js";

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

function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

// Object URLs of the local files on show, released when the next answer replaces them.
let shown = [];

const page = startTryPage({
  prepare() {
    return { apiId: page.apiId(), sources: [imageSource("image_one"), imageSource("image_two")] };
  },
  reset() {
    $("compare-visual").hidden = true;
    highlight(-1);
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
    const rows = body.confidences.length;
    const columns = rows ? body.confidences[0].length : 0;
    const reach = level
      ? `it reaches ${level.value}, where another person is accepted ${level.label} of the time`
      : `it reaches no documented threshold`;
    return `${plural(rows, "face")} in image one, ${plural(columns, "face")} in image two. `
      + `Highest confidence ${body.max_confidence.toFixed(4)}: ${reach}.`;
  },
});
