// How a liveness cue's measurements read on a page (the capture page and the portal's try-it
// page): numbers to 4 places, long lists shortened, objects as (key=value ...).
const MAX_LISTED = 8;

export function formatMeasurement(value) {
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : String(+value.toFixed(4));
  if (typeof value === "string") return value;
  if (typeof value === "boolean" || value === null || value === undefined) return String(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return "none";
    const shown = value.slice(0, MAX_LISTED).map(formatMeasurement).join(", ");
    return value.length > MAX_LISTED ? `[${shown}, … ${value.length} in all]` : `[${shown}]`;
  }
  const parts = Object.entries(value).map(([key, item]) => `${key}=${formatMeasurement(item)}`);
  return `(${parts.join(" ")})`;
}
