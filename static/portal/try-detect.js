// Try detect (templates/portal/try_detect.html): the photo with each face's box, landmarks
// and a label drawn over it, and a table of the faces.
//
// Every coordinate in the answer (rect, landmarks) is a fraction of the photo as uploaded,
// after its EXIF orientation, which is also how the browser shows it. With
// multi_oriented_detection the service searches turned copies but maps faces back, so boxes
// are drawn straight onto the photo; the orientation only says which side of the box the
// top of the head is on, drawn as a thicker edge.
import { $, element, formatNumber, loadImage, startTryPage } from "./tryit.js";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
}

// The box edge on the head's side: orientation is the face's clockwise turn.
function headEdge(x, y, w, h, orientation) {
  const edges = {
    0: [x, y, x + w, y],
    90: [x + w, y, x + w, y + h],
    180: [x, y + h, x + w, y + h],
    270: [x, y, x, y + h],
  };
  const [x1, y1, x2, y2] = edges[orientation] || edges[0];
  return svg("line", { class: "face-head", x1, y1, x2, y2 });
}

function qualityOk(face) {
  return face.quality >= face.quality_threshold;
}

// "#1" and the rest apart: on a small photo only the number shows (the table has the rest).
function labelParts(face, index) {
  const verdict = qualityOk(face) ? "ok" : "low";
  const turn = typeof face.orientation === "number" ? ` · ${face.orientation}°` : "";
  return [`#${index + 1}`, ` quality ${formatNumber(face.quality, 1)} (≥${face.quality_threshold} ${verdict})${turn}`];
}

function draw(faces, width, height) {
  const overlay = $("detect-overlay");
  overlay.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const groups = [];
  const labels = [];
  faces.forEach((face, index) => {
    const { left, top, width: w, height: h } = face.rect;
    const [x, y, bw, bh] = [left * width, top * height, w * width, h * height];
    const group = svg("g", { class: `face ${qualityOk(face) ? "ok" : "low"}`, "data-face": index + 1 });
    group.append(svg("rect", { class: "face-box", x, y, width: bw, height: bh }));
    if (typeof face.orientation === "number") group.append(headEdge(x, y, bw, bh, face.orientation));
    const dot = Math.max(1.5, 0.035 * Math.min(bw, bh)); // in proportion to the face it marks
    for (const [name, point] of Object.entries(face.landmarks || {})) {
      const mark = svg("circle", { class: "landmark", cx: point.x * width, cy: point.y * height, r: dot });
      mark.append(Object.assign(document.createElementNS(SVG, "title"), { textContent: name }));
      group.append(mark);
    }
    groups.push(group);
    const [number, rest] = labelParts(face, index);
    const label = element("span", { className: `face-label ${qualityOk(face) ? "ok" : "low"}` }, [
      number,
      element("span", { className: "more", text: rest }),
    ]);
    // Anchored on the box's side nearer the photo's middle, so it never runs off the photo.
    if (left + w / 2 > 0.5) {
      label.style.right = `${(1 - left - w) * 100}%`;
      label.classList.add("from-right");
    } else {
      label.style.left = `${left * 100}%`;
    }
    label.style.top = `${top * 100}%`;
    // Above the box when there is room, else just inside its top edge.
    if (top > 0.06) label.classList.add("above");
    labels.push(label);
  });
  overlay.replaceChildren(...groups);
  $("detect-labels").replaceChildren(...labels);
}

function degrees(value) {
  return `${formatNumber(value, 1)}°`;
}

function percent(value) {
  return `${formatNumber(value * 100, 1)}%`;
}

function faceRow(face, index) {
  const ok = qualityOk(face);
  const quality = element("td", {}, [
    `${formatNumber(face.quality, 1)} `,
    element("span", { className: `badge ${ok ? "ok" : "warn"}`, text: `${ok ? "≥" : "<"} ${face.quality_threshold} ${ok ? "ok" : "low"}` }),
  ]);
  const orientation = typeof face.orientation === "number" ? `${face.orientation}°` : "not asked";
  const { left, top, width, height } = face.rect;
  const lines = (texts) => texts.map((text) => element("span", { className: "line", text }));
  const pose = face.pose
    ? lines([`yaw ${degrees(face.pose.yaw)}`, `pitch ${degrees(face.pose.pitch)}`, `roll ${degrees(face.pose.roll)}`])
    : ["–"];
  return element("tr", {}, [
    element("th", { text: `#${index + 1}`, attrs: { scope: "row" } }),
    quality,
    element("td", { text: orientation }),
    element("td", {}, lines([`at ${percent(left)}, ${percent(top)}`, `size ${percent(width)} × ${percent(height)}`])),
    element("td", {}, pose),
  ]);
}

let shownUrl = "";

async function showPhoto(url, caption) {
  const photo = $("detect-photo");
  if (shownUrl && shownUrl !== url) URL.revokeObjectURL(shownUrl);
  shownUrl = url;
  const loaded = await loadImage(url);
  photo.src = url;
  $("detect-visual").hidden = false;
  $("detect-caption").textContent = caption;
  return loaded;
}

function clearDrawing() {
  $("detect-overlay").replaceChildren();
  $("detect-labels").replaceChildren();
  $("detect-faces").hidden = true;
}

const fileInput = $("detect-file");

startTryPage({
  prepare() {
    const file = fileInput.files[0];
    return { file, url: file ? URL.createObjectURL(file) : "" };
  },
  reset() {
    clearDrawing();
    const file = fileInput.files[0];
    if (file) $("detect-caption").textContent = `${file.name}: no faces to draw, the call was refused.`;
  },
  async render(result, context) {
    const faces = result.json.faces || [];
    const loaded = await showPhoto(context.url, `${context.file.name}: ${faces.length} face${faces.length === 1 ? "" : "s"} found.`);
    $("detect-photo").alt = `${context.file.name} with ${faces.length} face${faces.length === 1 ? "" : "s"} outlined`;
    clearDrawing();
    if (loaded) draw(faces, loaded.width, loaded.height);
    const body = $("detect-faces").querySelector("tbody");
    body.replaceChildren(...faces.map(faceRow));
    $("detect-faces").hidden = faces.length === 0;
    if (!faces.length) return "No face found: an empty list, which is an answer, not an error.";
    const fit = faces.filter(qualityOk).length;
    return `${faces.length} face${faces.length === 1 ? "" : "s"} found, ${fit} fit for comparison.`;
  },
});

fileInput.addEventListener("change", async () => {
  clearDrawing();
  const file = fileInput.files[0];
  if (!file) {
    $("detect-visual").hidden = true;
    return;
  }
  const loaded = await showPhoto(URL.createObjectURL(file), `${file.name}: not sent yet.`);
  $("detect-photo").alt = `Preview of ${file.name}`;
  if (!loaded) $("detect-caption").textContent = `${file.name}: this browser cannot show it, the API may still read it.`;
});
