// Try mask (templates/portal/try_mask.html): the selfie sent and the image answered, side by
// side, and a link to download the answer. Success is the image itself; only a refusal is JSON.
import { $, imageSource, sourceUrl, startTryPage, thumbnailUrl } from "./tryit.js";
import { offerLargestFaces } from "./tryit-faces.js";
import { setFile } from "./tryit-samples.js";

const ONE_FACE = "Mask needs exactly one face in the photo.";

const EXTENSIONS = { "image/png": "png", "image/jpeg": "jpg" };

let shown = [];

function release() {
  for (const url of shown) if (url.startsWith("blob:")) URL.revokeObjectURL(url);
  shown = [];
}

// PNG comes back PNG, everything else JPEG (the contract): the curl output is named to match.
function outputName(fields) {
  const file = fields.find((field) => field.file);
  return file && /\.png$/i.test(file.file.name) ? "masked.png" : "masked.jpg";
}

function kilobytes(size) {
  return `${Math.max(1, Math.round(size / 1024)).toLocaleString("en")} KB`;
}

function describeSource(source) {
  if (source.kind === "file") return source.file.name;
  if (source.kind === "url") return source.url;
  return `stored image ${source.id} (its thumbnail)`;
}

const page = startTryPage({
  output: outputName,
  hints: { TOO_MANY_FACES: ONE_FACE },
  prepare(fields) {
    const source = imageSource("selfie");
    const masked = fields.some((field) => field.name === "mask_eye" && field.value === "true");
    const rotate = fields.some((field) => field.name === "auto_rotate" && field.value === "true");
    return { source, masked, rotate, apiId: page.apiId(), secret: $("try-secret").value };
  },
  refused(result, context) {
    if ((result.json || {}).status !== "TOO_MANY_FACES") return;
    offerLargestFaces({
      box: $("try-error"),
      slot: "the selfie",
      source: context.source,
      keep: 1,
      limit: ONE_FACE,
      apiId: context.apiId,
      secret: context.secret,
      rotate: context.rotate,
      thumbnailUrl,
      use(file) {
        setFile($("selfie-file"), file);
        $("try-form").requestSubmit();
      },
    });
  },
  reset() {
    $("mask-visual").hidden = true;
    release();
  },
  async render(result, context) {
    release();
    const originalUrl = sourceUrl(context.source);
    const resultUrl = URL.createObjectURL(result.blob);
    shown = [originalUrl, resultUrl];
    const original = $("mask-original");
    original.src = originalUrl;
    $("mask-original-caption").textContent = `Sent: ${describeSource(context.source)}`;
    const answered = $("mask-result");
    answered.src = resultUrl;
    answered.alt = context.masked ? "The selfie as answered, with the eyes covered" : "The selfie as answered";
    const kind = result.contentType.split(";")[0];
    $("mask-result-caption").textContent = `Answered: ${kind}, ${kilobytes(result.blob.size)}`
      + (context.masked ? ", eyes covered." : ", unchanged apart from orientation (mask_eye=false).");
    const download = $("mask-download");
    download.href = resultUrl;
    download.download = `masked.${EXTENSIONS[kind] || "jpg"}`;
    $("mask-visual").hidden = false;
    await Promise.all(
      [original, answered].map((image) => (image.complete ? null : image.decode().catch(() => null))),
    );
    return `The answer is the image itself (${kind}, ${kilobytes(result.blob.size)}), shown beside the selfie sent.`;
  },
});
