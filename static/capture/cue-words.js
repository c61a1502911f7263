// The liveness cues (the `details` of a verbose verification) in plain words, for the capture
// page and the portal's try-it page: what each cue measured, as sentences, and, for a cue that
// failed, what the person should do differently. The cues and their fields are those of
// faceengine/liveness_cues.py (docs/liveness.md); a field or cue this file does not know is
// still shown, in the raw form of measurements.js.
import { formatMeasurement } from "./measurements.js";

const ACTION_NAMES = {
  blink: "Blink",
  turn_left: "Turn to your left",
  turn_right: "Turn to your right",
};

const num = (value, places = 2) => (typeof value === "number" && Number.isFinite(value) ? value.toFixed(places) : "–");
const seconds = (value) => (typeof value === "number" ? `${value.toFixed(1)} s` : "–");
const degrees = (value) => (typeof value === "number" ? `${Math.abs(value).toFixed(0)}°` : "–");
const share = (value) => (typeof value === "number" ? `${Math.round(value * 100)}%` : "–");
const list = (value) => (Array.isArray(value) ? value : []);

function actionWords(entry, eyeClosed, turnDegrees) {
  const name = ACTION_NAMES[entry.action] || String(entry.action);
  const prompted = typeof entry.prompted_at === "number" ? ` (asked at ${seconds(entry.prompted_at)})` : "";
  const measured = typeof entry.peak === "number";
  if (entry.action === "blink") {
    if (entry.found) {
      return `${name}: seen at ${seconds(entry.start)}${prompted}, the eyes closed to ${share(entry.peak)} of open (under ${share(eyeClosed)} needed).`;
    }
    const lowest = measured ? `the eyes never closed below ${share(entry.peak)} of open` : "no eyes measured in time";
    return `${name}: not seen${prompted}; ${lowest} (under ${share(eyeClosed)} needed).`;
  }
  // The peak is the yaw change towards the prompted side (turn_right's is negative).
  const toward = measured ? (entry.action === "turn_right" ? -entry.peak : entry.peak) : null;
  if (entry.found) {
    return `${name}: seen at ${seconds(entry.start)}${prompted}, the head turned ${degrees(toward)} (${degrees(turnDegrees)} needed).`;
  }
  const most =
    toward === null ? "no head turn measured in time" : toward > 0 ? `the head turned at most ${degrees(toward)} that way` : "the head did not turn that way";
  return `${name}: not seen${prompted}; ${most} (${degrees(turnDegrees)} needed).`;
}

// One sentence per measurement group of a cue.
const DESCRIBE = {
  faces: (e) => [
    `${Math.round((e.single_face_share ?? 0) * (e.frames ?? 0))} of ${e.frames ?? 0} frames show exactly one face (${share(e.required_share)} needed).`,
    ...(e.frames_without_face ? [`${e.frames_without_face} frames show no face.`] : []),
    ...(e.frames_with_several ? [`${e.frames_with_several} frames show more than one face.`] : []),
  ],
  timestamps: (e) => [
    `${e.frames ?? 0} frames over ${seconds(e.duration)}, ${num((e.median_interval ?? 0) * 1000, 0)} ms apart (from ${num((e.min_interval ?? 0) * 1000, 0)} to ${num((e.max_interval ?? 0) * 1000, 0)} ms).`,
    ...list(e.problems).map((problem) => `Problem: ${problem}.`),
  ],
  actions: (e) => [
    ...list(e.actions).map((entry) => actionWords(entry, e.closed_ratio, e.turn_degrees)),
    ...(typeof e.starting_yaw === "number" ? [`The capture started with the head ${degrees(e.starting_yaw)} from facing the camera.`] : []),
    // Actions not seen are said above, one by one.
    ...list(e.problems)
      .filter((problem) => !/^not performed/.test(problem))
      .map((problem) => `Problem: ${problem}.`),
  ],
  rigidity: (e) => [
    `${e.non_planar_frames ?? 0} frames moved like a head rather than a flat picture (2 needed); the second strongest moved ${num(e.evidence, 3)} (${num(e.threshold, 2)} needed).`,
  ],
  repetition: (e) => [
    `The face changed by up to ${num(e.max_chip_change, 1)} grey levels (${num(e.chip_threshold, 0)} needed) or moved ${num(e.max_landmark_change, 3)} eye distances (${num(e.landmark_threshold, 2)} needed) against the best frame.`,
  ],
  identity: (e) => [
    list(e.confidences).length
      ? `${list(e.confidences).length} frames compared with the best one: the lowest confidence of the same person was ${num(e.min_confidence, 2)} (${num(e.threshold, 1)} needed).`
      : "No frames could be compared with the best one.",
  ],
};

function adviceForActions(entry) {
  const missing = list(entry.actions).filter((action) => !action.found);
  const problems = list(entry.problems).join(" ");
  const advice = [];
  if (/started .* degrees from facing/.test(problems)) advice.push("Face the camera straight on before the first prompt.");
  if (/too few frames with one face/.test(problems)) advice.push("No face in the frame: keep your whole face in view.");
  for (const action of missing) {
    if (action.action === "blink") advice.push("We did not see a blink: blink slowly and fully once when asked.");
    else if (action.action === "turn_left") advice.push("We did not see you turn your head to the left: turn your head (not the camera) to your left, then back.");
    else if (action.action === "turn_right") advice.push("We did not see you turn your head to the right: turn your head (not the camera) to your right, then back.");
  }
  return advice.length ? advice.join(" ") : "Do each action when its prompt shows, in order.";
}

const ADVICE = {
  faces: (e) =>
    (e.frames_with_several ?? 0) > (e.frames_without_face ?? 0)
      ? "More than one face in the frame: make sure only you are in view."
      : "No face in the frame for part of the recording: keep your whole face in view, in good light.",
  timestamps: () => "The recording's timing was broken: keep this tab in front while recording and try again.",
  actions: adviceForActions,
  rigidity: () => "Your face moved like a flat picture: turn your head itself, not the phone or the camera.",
  repetition: () => "The picture hardly changed: the camera may have frozen. Try again.",
  identity: () => "The frames do not all show the same person: only you should be in view.",
};

/** Sentences saying what a cue measured. */
export function describeCue(cue, entry) {
  const describe = DESCRIBE[cue];
  if (describe && entry) {
    try {
      return describe(entry);
    } catch {
      /* an unexpected shape: shown raw below */
    }
  }
  return Object.entries(entry || {})
    .filter(([key]) => key !== "score" && key !== "passed")
    .map(([key, value]) => `${key}: ${formatMeasurement(value)}`);
}

/** What to do about a failed cue, in plain words ("" for a cue that passed). */
export function cueAdvice(cue, entry) {
  if (!entry || entry.passed) return "";
  const advise = ADVICE[cue];
  return advise ? advise(entry) : `The ${cue} check failed.`;
}

/** The advice for every failed cue, in the order of the details. */
export function adviceFor(details) {
  return Object.entries(details || {})
    .map(([cue, entry]) => cueAdvice(cue, entry))
    .filter(Boolean);
}
