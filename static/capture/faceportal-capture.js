// FacePortal liveness capture SDK for the browser: records a challenge's answer from a
// <video> fed by getUserMedia, encodes it as a faceportal.liveness.v1.Capture and seals it
// into an FPLV package (see faceportal_capture/README.md). No dependencies, no build step.

export const SDK_NAME = "faceportal-capture-js";
export const SDK_VERSION = "1.0.0";
export const MAX_FRAMES = 60;
// The service's limits on frames (faceportal_capture/package.py): sides over 8 and at most
// 4000 px, and at most MAX_PACKAGE_PIXELS in all the frames of one package.
export const MIN_FRAME_SIDE = 8;
export const MAX_FRAME_SIDE = 4000;
export const MAX_PACKAGE_PIXELS = 40_000_000;

const MAGIC = [0x46, 0x50, 0x4c, 0x56]; // "FPLV"
const PACKAGE_VERSION = 1;
const NONCE_BYTES = 12;
const CAPTURE_FORMAT_VERSION = 1;
const LEAD_IN_SECONDS = 1.0;

// ---------------------------------------------------------------------------------------------
// Protobuf encoding (proto3, only the wire types this schema needs)

const WIRE_VARINT = 0;
const WIRE_BYTES = 2;
const textEncoder = new TextEncoder();

class Writer {
  constructor() {
    this.chunks = [];
    this.length = 0;
  }

  push(bytes) {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  // An unsigned varint; accepts a number (safe integer) or a BigInt. Negative values are
  // written as their 64-bit two's complement, as protobuf does for int64.
  varint(value) {
    let n = typeof value === "bigint" ? value : BigInt(Math.trunc(value));
    n = BigInt.asUintN(64, n);
    const out = [];
    while (n > 0x7fn) {
      out.push(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    out.push(Number(n));
    this.push(Uint8Array.from(out));
  }

  tag(field, wire) {
    this.varint((field << 3) | wire);
  }

  // Fields holding the proto3 default (0, "", empty bytes) are omitted, as protobuf does.
  uintField(field, value) {
    if (value === undefined || value === null || BigInt(value) === 0n) return;
    this.tag(field, WIRE_VARINT);
    this.varint(value);
  }

  bytesField(field, bytes, always = false) {
    if (!always && (!bytes || bytes.length === 0)) return;
    this.tag(field, WIRE_BYTES);
    this.varint(bytes.length);
    this.push(bytes);
  }

  stringField(field, text) {
    if (!text) return;
    this.bytesField(field, textEncoder.encode(String(text)));
  }

  // A nested message is written even when empty (its presence is meaningful).
  messageField(field, encodeInto) {
    const inner = new Writer();
    encodeInto(inner);
    this.bytesField(field, inner.finish(), true);
  }

  finish() {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}

function toBytes(data) {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError("expected bytes (Uint8Array or ArrayBuffer)");
}

/**
 * Serializes a Capture:
 * {formatVersion?, challengeId, actions: [string], frames: [{jpeg, timestampUs}],
 *  marks: [{action, promptedAtUs}], device: {sdk, sdkVersion, platform, userAgent, width, height},
 *  startedAtUnixMs}. Integers may be numbers or BigInts.
 */
export function encodeCapture(capture) {
  const w = new Writer();
  w.uintField(1, capture.formatVersion ?? CAPTURE_FORMAT_VERSION);
  w.stringField(2, capture.challengeId);
  for (const action of capture.actions ?? []) {
    // Repeated strings keep empty entries: positions matter.
    w.bytesField(3, textEncoder.encode(String(action)), true);
  }
  for (const frame of capture.frames ?? []) {
    w.messageField(4, (m) => {
      m.bytesField(1, toBytes(frame.jpeg));
      m.uintField(2, frame.timestampUs);
    });
  }
  for (const mark of capture.marks ?? []) {
    w.messageField(5, (m) => {
      m.stringField(1, mark.action);
      m.uintField(2, mark.promptedAtUs);
    });
  }
  if (capture.device) {
    const d = capture.device;
    w.messageField(6, (m) => {
      m.stringField(1, d.sdk);
      m.stringField(2, d.sdkVersion);
      m.stringField(3, d.platform);
      m.stringField(4, d.userAgent);
      m.uintField(5, d.width);
      m.uintField(6, d.height);
    });
  }
  w.uintField(7, capture.startedAtUnixMs);
  return w.finish();
}

// ---------------------------------------------------------------------------------------------
// Sealing: "FPLV" | 1 | N | key id | nonce | AES-256-GCM(ciphertext + tag), header as AAD

export async function seal(captureBytes, keyBytes, challengeId) {
  const key = toBytes(keyBytes);
  if (key.length !== 32) throw new Error("the package key must be 32 bytes");
  const id = String(challengeId);
  if (!/^[\x21-\x7e]{1,64}$/.test(id)) {
    throw new Error("the challenge id must be 1 to 64 printable ASCII characters");
  }
  const idBytes = textEncoder.encode(id);
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const header = new Uint8Array(6 + idBytes.length + NONCE_BYTES);
  header.set(MAGIC, 0);
  header[4] = PACKAGE_VERSION;
  header[5] = idBytes.length;
  header.set(idBytes, 6);
  header.set(nonce, 6 + idBytes.length);

  const cryptoKey = await crypto.subtle.importKey("raw", key, "AES-GCM", false, ["encrypt"]);
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: nonce, additionalData: header, tagLength: 128 },
      cryptoKey,
      toBytes(captureBytes),
    ),
  );
  const out = new Uint8Array(header.length + sealed.length);
  out.set(header, 0);
  out.set(sealed, header.length);
  return out;
}

export function base64ToBytes(text) {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Capture from a playing <video>

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

function platformName() {
  const hints = navigator.userAgentData;
  if (hints && hints.platform) return hints.platform;
  return navigator.platform || "";
}

function toJpeg(canvas, quality) {
  return new Promise((resolve, reject) => {
    canvas.toBlob(
      (blob) => (blob ? resolve(blob) : reject(new Error("the browser could not encode a JPEG frame"))),
      "image/jpeg",
      quality,
    );
  });
}

/**
 * Records the user answering `challenge` ({challenge_id, actions, key} as the API returns it).
 * `onPrompt(action)` is called with null for the lead-in, then with each action in order, then
 * with undefined when recording ends. Resolves to {packageBytes, frames: [{jpeg, blob,
 * timestampUs}], capture}.
 */
export async function captureLiveness({
  video,
  challenge,
  onPrompt = () => {},
  fps = 10,
  secondsPerAction = 2.5,
  maxSide = 640,
  quality = 0.9,
}) {
  if (!video || !video.videoWidth || !video.videoHeight) {
    throw new Error("the camera video is not playing yet");
  }
  const actions = Array.from(challenge.actions ?? []);
  const key = typeof challenge.key === "string" ? base64ToBytes(challenge.key) : toBytes(challenge.key);

  const width = video.videoWidth;
  const height = video.videoHeight;
  const totalMs = (LEAD_IN_SECONDS + secondsPerAction * actions.length) * 1000;
  // Never more than MAX_FRAMES: stretch the interval when the recording is long.
  const intervalMs = Math.max(1000 / fps, totalMs / MAX_FRAMES);
  const frameCount = Math.min(MAX_FRAMES, Math.max(1, Math.floor(totalMs / intervalMs)));

  // Frames within the service's limits: the longer side at most maxSide (and 4000 px), and
  // small enough that all of them hold at most MAX_PACKAGE_PIXELS.
  const scale = Math.min(
    1,
    Math.min(maxSide, MAX_FRAME_SIDE) / Math.max(width, height),
    Math.sqrt(MAX_PACKAGE_PIXELS / (frameCount * width * height)),
  );
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.floor(width * scale));
  canvas.height = Math.max(1, Math.floor(height * scale));
  if (Math.min(canvas.width, canvas.height) <= MIN_FRAME_SIDE) {
    throw new Error(`frames of ${canvas.width}x${canvas.height} are too small: sides must be over ${MIN_FRAME_SIDE} px`);
  }
  const context = canvas.getContext("2d");
  const promptAtMs = actions.map((_, i) => (LEAD_IN_SECONDS + secondsPerAction * i) * 1000);

  const marks = [];
  const grabbed = []; // {timestampUs, blob: Promise<Blob>}
  const startedAtUnixMs = Date.now();
  const start = performance.now();
  const sinceStartUs = () => Math.round((performance.now() - start) * 1000);
  let nextPrompt = 0;
  onPrompt(null);

  for (let i = 0; i < frameCount; i++) {
    await sleep(start + i * intervalMs - performance.now());
    while (nextPrompt < actions.length && performance.now() - start >= promptAtMs[nextPrompt]) {
      marks.push({ action: actions[nextPrompt], promptedAtUs: sinceStartUs() });
      onPrompt(actions[nextPrompt]);
      nextPrompt++;
    }
    let timestampUs = sinceStartUs();
    const previous = grabbed[grabbed.length - 1];
    if (previous && timestampUs <= previous.timestampUs) timestampUs = previous.timestampUs + 1;
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    grabbed.push({ timestampUs, blob: toJpeg(canvas, quality) });
  }
  // Any prompt not reached (a very short recording) is still shown and marked.
  while (nextPrompt < actions.length) {
    marks.push({ action: actions[nextPrompt], promptedAtUs: sinceStartUs() });
    onPrompt(actions[nextPrompt]);
    nextPrompt++;
  }
  await sleep(start + totalMs - performance.now());
  onPrompt(undefined);

  const frames = [];
  for (const item of grabbed) {
    const blob = await item.blob;
    frames.push({ jpeg: new Uint8Array(await blob.arrayBuffer()), blob, timestampUs: item.timestampUs });
  }
  const capture = {
    formatVersion: CAPTURE_FORMAT_VERSION,
    challengeId: challenge.challenge_id,
    actions,
    frames,
    marks,
    device: {
      sdk: SDK_NAME,
      sdkVersion: SDK_VERSION,
      platform: platformName(),
      userAgent: navigator.userAgent,
      width,
      height,
    },
    startedAtUnixMs,
  };
  const packageBytes = await seal(encodeCapture(capture), key, challenge.challenge_id);
  return { packageBytes, frames, capture };
}
