// Group photos on the compare and mask pages: when the API answers TOO_MANY_FACES, how many
// faces there are, and a crop that keeps only the faces the endpoint can take.
//
// Why a detect call from the page: the contract's error body carries exactly the vendor's
// keys (status, request_id, image; /work/shared/API.md: "Response bodies carry exactly the
// documented keys"), and the vendor's TOO_MANY_FACES has no count, so the count is not added
// there. Detect runs the very pipeline compare and mask do (identity/api/base.py: analyze,
// with no face limit), so it finds the same faces, and it gives their boxes, which the crop
// needs anyway. It is an ordinary call with the same key: in the history, one call of quota,
// and the page says so. Detect takes a file only (FaceID style, the body at most 2 MB), so:
// a file goes as it is (re-encoded at the same size in pixels when it is over the limit), a
// stored image as its 1280 px thumbnail, and a URL only if its site lets the browser read it.

const DETECT_BODY_LIMIT = 2 * 1024 * 1024 - 64 * 1024; // room for the form's other fields
const THUMBNAIL_SIDE = 1280;

async function canvasOf(blob) {
  const bitmap = await createImageBitmap(blob);
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  canvas.getContext("2d").drawImage(bitmap, 0, 0);
  bitmap.close();
  return canvas;
}

const toBlob = (canvas, type = "image/jpeg", quality = 0.92) =>
  new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("the image could not be encoded"))), type, quality);
  });

// The pixels of what was sent, as a Blob the page may read, and what they are.
export async function sourceBlob(source, thumbnailUrl) {
  if (source.kind === "file") return { blob: source.file, note: "" };
  const url = source.kind === "id" ? thumbnailUrl(source.id, THUMBNAIL_SIDE) : source.url;
  let response;
  try {
    response = await fetch(url, { credentials: source.kind === "id" ? "same-origin" : "omit", mode: "cors" });
  } catch {
    throw new Error("the page cannot read an image from that site (it does not allow it): upload the file instead");
  }
  if (!response.ok) throw new Error(`the image could not be read (HTTP ${response.status})`);
  const note = source.kind === "id" ? " (on its thumbnail, at most 1280 px)" : "";
  return { blob: await response.blob(), note };
}

// The faces detect finds in the image, largest first: [{rect: {left, top, width, height}}]
// as fractions of the image. Throws an Error whose message says why not.
export async function detectFaces({ detectUrl, apiId, secret, blob, rotate }) {
  let upload = blob;
  if (upload.size > DETECT_BODY_LIMIT) upload = await toBlob(await canvasOf(blob), "image/jpeg", 0.9);
  const body = new FormData();
  body.append("api_key", apiId);
  body.append("api_secret", secret);
  body.append("image", upload, "count.jpg");
  body.append("multi_oriented_detection", rotate ? "1" : "0");
  const response = await fetch(detectUrl, { method: "POST", body, credentials: "omit", cache: "no-store" });
  let answer = null;
  try {
    answer = await response.json();
  } catch {
    answer = null;
  }
  if (!response.ok || !answer || answer.error) {
    const code = (answer && answer.error) || `HTTP ${response.status}`;
    const why = String(code).startsWith("AUTHORIZATION_ERROR:NO_PERMISSION")
      ? "this key may not call detect"
      : `detect answered ${code}`;
    throw new Error(why);
  }
  return { faces: answer.faces || [], requestId: response.headers.get("X-Request-Id") || answer.request_id || "" };
}

function pixelsOf(rect, width, height, grow) {
  const side = Math.max(rect.width * width, rect.height * height);
  const margin = side * grow;
  return {
    x: rect.left * width - margin,
    y: rect.top * height - margin,
    w: rect.width * width + 2 * margin,
    h: rect.height * height + 2 * margin,
  };
}

function clip(box, width, height) {
  const x = Math.max(0, Math.floor(box.x));
  const y = Math.max(0, Math.floor(box.y));
  return { x, y, w: Math.min(width, Math.ceil(box.x + box.w)) - x, h: Math.min(height, Math.ceil(box.y + box.h)) - y };
}

// A JPEG of the smallest box around the `keep` largest faces (with room around each for the
// landmarks), every other face in it painted over so that the endpoint finds only those.
export async function cropToLargest(blob, faces, keep, name) {
  const source = await canvasOf(blob);
  const { width, height } = source;
  const kept = faces.slice(0, keep).map((face) => pixelsOf(face.rect, width, height, 0.45));
  const others = faces.slice(keep).map((face) => pixelsOf(face.rect, width, height, 0.2));
  const union = clip(
    kept.reduce((all, box) => ({
      x: Math.min(all.x, box.x),
      y: Math.min(all.y, box.y),
      w: Math.max(all.x + all.w, box.x + box.w) - Math.min(all.x, box.x),
      h: Math.max(all.y + all.h, box.y + box.h) - Math.min(all.y, box.y),
    })),
    width,
    height,
  );
  const canvas = document.createElement("canvas");
  canvas.width = union.w;
  canvas.height = union.h;
  const context = canvas.getContext("2d");
  context.drawImage(source, union.x, union.y, union.w, union.h, 0, 0, union.w, union.h);
  context.fillStyle = "#8a8a8a";
  for (const box of others) context.fillRect(box.x - union.x, box.y - union.y, box.w, box.h);
  // A painted box may reach into a kept face: the kept faces themselves are drawn again on top.
  for (const face of faces.slice(0, keep)) {
    const box = clip(pixelsOf(face.rect, width, height, 0.05), width, height);
    context.drawImage(source, box.x, box.y, box.w, box.h, box.x - union.x, box.y - union.y, box.w, box.h);
  }
  const base = String(name || "photo").replace(/\.[^.]*$/, "");
  return new File([await toBlob(canvas)], `${base}-largest-${keep}.jpg`, { type: "image/jpeg" });
}

export function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

// After TOO_MANY_FACES: count the faces of the refused image (one detect call), say how many,
// and offer a crop to the `keep` largest; picking it puts the crop in the slot's file input
// and calls the API again. slot: the image slot's name (the error's `image`), source: what
// was sent for it (tryit.js imageSource), limit: the endpoint's rule in words.
export async function offerLargestFaces({ box, slot, source, keep, limit, apiId, secret, rotate, thumbnailUrl, use }) {
  const form = document.getElementById("try-form");
  const line = document.createElement("p");
  line.className = "try-faces-count";
  line.setAttribute("role", "status");
  line.textContent = "Counting the faces with one detect call (it takes one call of this key's quota)…";
  box.append(line);
  let found;
  let pixels;
  try {
    pixels = await sourceBlob(source, thumbnailUrl);
    found = await detectFaces({ detectUrl: form.dataset.detectUrl, apiId, secret, blob: pixels.blob, rotate });
  } catch (error) {
    line.textContent = `The faces could not be counted here: ${error.message}. ${limit}`;
    return null;
  }
  const count = found.faces.length;
  line.textContent = `Detect found ${plural(count, "face")} in ${slot.replace("_", " ")}${pixels.note}. ${limit}`;
  if (count <= keep) return { count };
  const button = document.createElement("button");
  button.type = "button";
  button.className = "btn secondary try-crop";
  button.textContent = keep === 1 ? "Crop to the largest face and try again" : `Crop to the largest ${keep} faces and try again`;
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const name = source.kind === "file" ? source.file.name : "photo";
      use(await cropToLargest(pixels.blob, found.faces, keep, name));
    } catch (error) {
      line.textContent = `The photo could not be cropped here: ${error.message}.`;
      button.disabled = false;
    }
  });
  const note = document.createElement("p");
  note.className = "note";
  note.textContent = `The crop keeps the ${keep === 1 ? "largest face" : `${keep} largest faces`} with some room around`
    + " them and paints over any other face inside; it is made in this browser and sent as a file.";
  box.append(button, note);
  return { count };
}
