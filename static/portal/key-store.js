// The secrets this browser tab keeps for the user's keys: the one place that reads and writes
// them (the dashboard's "Use this key" and the try-it pages' key picker).
//
// sessionStorage only: gone when the tab closes, never sent to the server. Each secret is kept
// under "faceportal.secret.<api_id>" (the capture page reads that name too) with the version of
// the key's secret it belongs to under "faceportal.secret_version.<api_id>". The pages know each
// key's current version (the server counts rotations); a secret kept for an older version was
// replaced by a rotation and is dropped instead of used, so no call goes out with it.

export const STORED_API_ID = "faceportal.api_id";
const SECRET_PREFIX = "faceportal.secret.";
const VERSION_PREFIX = "faceportal.secret_version.";

// sessionStorage can be switched off: the pages then simply do not remember.
export function storageGet(key) {
  try {
    return window.sessionStorage.getItem(key);
  } catch {
    return null;
  }
}

export function storageSet(key, value) {
  try {
    if (value === null) window.sessionStorage.removeItem(key);
    else window.sessionStorage.setItem(key, value);
    return true;
  } catch {
    return false;
  }
}

export function forgetSecret(apiId) {
  storageSet(SECRET_PREFIX + apiId, null);
  storageSet(VERSION_PREFIX + apiId, null);
}

// Keeps the secret of the key's version `version`; false when the browser refused to.
export function keepSecret(apiId, version, secret) {
  const kept = storageSet(SECRET_PREFIX + apiId, secret) && storageSet(VERSION_PREFIX + apiId, String(version));
  if (kept) storageSet(STORED_API_ID, apiId);
  else forgetSecret(apiId);
  return kept;
}

// What the tab has for a key whose current secret version is `version`:
// { secret } when it has that version's secret, { stale: true } when what it had was of an older
// version (dropped now), {} when it had nothing.
export function keptSecret(apiId, version) {
  const secret = storageGet(SECRET_PREFIX + apiId);
  if (!secret) return {};
  if (version !== undefined && storageGet(VERSION_PREFIX + apiId) === String(version)) return { secret };
  forgetSecret(apiId);
  return { stale: true };
}

// Whatever secret the tab kept for the key, its version not checked: for the capture page, which
// has no session to learn the key's current version from (a stale secret is refused by the API
// there, and the page says what to do).
export function savedSecret(apiId) {
  return storageGet(SECRET_PREFIX + apiId);
}

// Drops every secret kept for a key that is not among `current` (api_id -> version) at that
// version: rotated since, deleted, or another user's. Returns the api_ids dropped.
export function pruneSecrets(current) {
  const dropped = [];
  let keys = [];
  try {
    keys = Object.keys(window.sessionStorage);
  } catch {
    return dropped;
  }
  for (const key of keys) {
    if (!key.startsWith(SECRET_PREFIX)) continue;
    const apiId = key.slice(SECRET_PREFIX.length);
    if (keptSecret(apiId, current.get(apiId)).stale) dropped.push(apiId);
  }
  return dropped;
}
