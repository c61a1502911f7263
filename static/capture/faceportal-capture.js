// FacePortal liveness capture SDK for the browser: records a challenge's answer from a
// <video> fed by getUserMedia, encodes it as a faceportal.liveness.v1.Capture and seals it
// into an FPLV package (see faceportal_capture/README.md). No dependencies, no build step.

export const SDK_NAME = "faceportal-capture-js";
export const SDK_VERSION = "1.1.0";
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
// Camera frames: only new ones, with the time the camera took them

// The service's timestamps cue (faceengine/liveness_cues.py, docs/liveness.md): frame times
// strictly increasing, every interval at least 1/120 s and at most 1 s. The SDK keeps to it:
// it records only frames the camera has newly delivered, stamped with the camera's own clock,
// never two within MIN_FRAME_INTERVAL_MS, and stops with an error when the camera delivers
// nothing for MAX_FRAME_GAP_MS (a hidden tab, a camera that froze).
export const MIN_FRAME_INTERVAL_MS = 1000 / 120;
export const MAX_FRAME_GAP_MS = 1000;

/**
 * Calls `onFrame({time, frame})` for every new frame the <video> presents until `stop()`:
 * `time` is when the camera captured it, in performance.now() milliseconds, read the same way
 * for every frame of a capture (requestVideoFrameCallback's metadata.captureTime when the
 * browser gives it, else metadata.mediaTime mapped once onto performance.now(), else the
 * callback's own time; without requestVideoFrameCallback, the time a new frame was first
 * seen, found by polling the video's presented-frame count or its currentTime). `frame`
 * counts the frames the video presented: a frame is new when it grew, so a skipped camera
 * frame shows as a gap, never as a repeat. The caller drops a frame whose time is not after
 * the last one it kept (a media time that did not advance).
 */
export function watchFrames(video, onFrame) {
  let stopped = false;
  if (typeof video.requestVideoFrameCallback === "function") {
    let clock = null; // "capture", "media" or "callback": chosen on the first frame and kept
    let mediaOffset = 0;
    let lastPresented = -Infinity;
    let handle = 0;
    const onVideoFrame = (now, metadata) => {
      if (stopped) return;
      const media = Number(metadata.mediaTime);
      const capture = Number(metadata.captureTime);
      if (clock === null) {
        clock = Number.isFinite(capture) && capture > 0 ? "capture" : Number.isFinite(media) ? "media" : "callback";
        mediaOffset = now - media * 1000;
      }
      const time = clock === "capture" ? capture : clock === "media" ? media * 1000 + mediaOffset : now;
      // presentedFrames counts every frame the video has shown: a frame is new when it grew.
      const presented = Number(metadata.presentedFrames);
      const fresh = Number.isFinite(presented) ? presented > lastPresented : true;
      if (fresh && Number.isFinite(time)) {
        if (Number.isFinite(presented)) lastPresented = presented;
        onFrame({ time, frame: presented });
      }
      handle = video.requestVideoFrameCallback(onVideoFrame);
    };
    handle = video.requestVideoFrameCallback(onVideoFrame);
    return () => {
      stopped = true;
      video.cancelVideoFrameCallback?.(handle);
    };
  }
  // Fallback: poll at twice a fast camera's rate and take a frame when the video shows a new one.
  const presented = () => {
    const quality = typeof video.getVideoPlaybackQuality === "function" ? video.getVideoPlaybackQuality() : null;
    return quality && quality.totalVideoFrames > 0 ? quality.totalVideoFrames : video.currentTime;
  };
  let last = presented();
  const timer = setInterval(() => {
    if (stopped) return;
    const seen = presented();
    if (seen !== last) {
      last = seen;
      onFrame({ time: performance.now(), frame: seen });
    }
  }, 8);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
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
 *
 * Frames are new camera frames only, about `fps` a second (never more than MAX_FRAMES), each
 * stamped with its capture time; prompts are stamped on the same clock. The capture's zero is
 * when recording started, or the first frame's capture time if the camera took it earlier.
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
  // One frame per slot of intervalMs at most: never more than MAX_FRAMES in the recording.
  const intervalMs = Math.max(1000 / fps, totalMs / (MAX_FRAMES - 1));
  const expectedFrames = Math.min(MAX_FRAMES, Math.floor(totalMs / intervalMs) + 1);

  // Frames within the service's limits: the longer side at most maxSide (and 4000 px), and
  // small enough that all of them hold at most MAX_PACKAGE_PIXELS.
  const scale = Math.min(
    1,
    Math.min(maxSide, MAX_FRAME_SIDE) / Math.max(width, height),
    Math.sqrt(MAX_PACKAGE_PIXELS / (expectedFrames * width * height)),
  );
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.floor(width * scale));
  canvas.height = Math.max(1, Math.floor(height * scale));
  if (Math.min(canvas.width, canvas.height) <= MIN_FRAME_SIDE) {
    throw new Error(`frames of ${canvas.width}x${canvas.height} are too small: sides must be over ${MIN_FRAME_SIDE} px`);
  }
  const context = canvas.getContext("2d");
  const promptAtMs = actions.map((_, i) => (LEAD_IN_SECONDS + secondsPerAction * i) * 1000);

  const marks = []; // {action, at}: performance.now() milliseconds
  const grabbed = []; // {time, blob: Promise<Blob>}
  const startedAtUnixMs = Date.now();
  const start = performance.now();
  let nextSlot = start;
  let lastFrameSeenAt = start;
  let nextPrompt = 0;
  onPrompt(null);

  const stop = watchFrames(video, ({ time }) => {
    lastFrameSeenAt = performance.now();
    const previous = grabbed[grabbed.length - 1];
    if (grabbed.length >= MAX_FRAMES || time < nextSlot - intervalMs / 2) return;
    if (previous && time - previous.time < Math.max(MIN_FRAME_INTERVAL_MS, intervalMs / 2)) return;
    // Drawn inside the frame's own callback: the canvas gets the frame that was just presented.
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    grabbed.push({ time, blob: toJpeg(canvas, quality) });
    while (nextSlot <= time + intervalMs / 2) nextSlot += intervalMs;
  });
  try {
    while (performance.now() - start < totalMs) {
      while (nextPrompt < actions.length && performance.now() - start >= promptAtMs[nextPrompt]) {
        marks.push({ action: actions[nextPrompt], at: performance.now() });
        onPrompt(actions[nextPrompt]);
        nextPrompt++;
      }
      if (performance.now() - lastFrameSeenAt > MAX_FRAME_GAP_MS) {
        throw new Error("the camera stopped sending pictures (keep this tab in front while recording)");
      }
      await sleep(Math.min(50, start + totalMs - performance.now()));
    }
  } finally {
    stop();
  }
  // Any prompt not reached (a very short recording) is still shown and marked.
  while (nextPrompt < actions.length) {
    marks.push({ action: actions[nextPrompt], at: performance.now() });
    onPrompt(actions[nextPrompt]);
    nextPrompt++;
  }
  onPrompt(undefined);
  if (grabbed.length < 2) throw new Error("the camera sent fewer than two pictures");

  const zero = Math.min(start, grabbed[0].time);
  const micros = (at) => Math.round((at - zero) * 1000);
  const frames = [];
  for (const item of grabbed) {
    const blob = await item.blob;
    frames.push({ jpeg: new Uint8Array(await blob.arrayBuffer()), blob, timestampUs: micros(item.time) });
  }
  const capture = {
    formatVersion: CAPTURE_FORMAT_VERSION,
    challengeId: challenge.challenge_id,
    actions,
    frames,
    marks: marks.map((mark) => ({ action: mark.action, promptedAtUs: micros(mark.at) })),
    device: {
      sdk: SDK_NAME,
      sdkVersion: SDK_VERSION,
      platform: platformName(),
      userAgent: navigator.userAgent,
      width,
      height,
    },
    startedAtUnixMs: Math.round(startedAtUnixMs - (start - zero)),
  };
  const packageBytes = await seal(encodeCapture(capture), key, challenge.challenge_id);
  return { packageBytes, frames, capture };
}
