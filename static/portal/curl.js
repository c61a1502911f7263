// The curl command equivalent to a try-it call, safe to paste into a POSIX shell.
//
// Text values go through --form-string, which curl never reads as "@file" or "<file", and
// every argument is single-quoted. The secret is not printed unless the user asked for it
// (`secret`): the command expands $API_SECRET, the only double-quoted argument. This is the
// curl language of snippets.js, where the other languages are made too.

export function shellQuote(text) {
  return `'${String(text).replaceAll("'", `'\\''`)}'`;
}

// In -F name=@file, curl itself splits on ';' and ',' and reads '"': a file name with any
// of those is put in curl's own double quotes (backslash escapes), "-" alone means stdin.
export function curlFileName(name) {
  const plain = name === "-" ? "./-" : name;
  return /[;,"\\]/.test(plain) ? `"${plain.replace(/[\\"]/g, (c) => `\\${c}`)}"` : plain;
}

// fields: [{name, value} | {name, file: {name}}], in the order they are sent.
export function curlCommand({ url, idField, apiId, fields, output, secret = null }) {
  const lines = [
    `curl -sS ${shellQuote(url)}`,
    `--form-string ${shellQuote(`${idField}=${apiId}`)}`,
    secret === null ? `--form-string "api_secret=$API_SECRET"` : `--form-string ${shellQuote(`api_secret=${secret}`)}`,
  ];
  for (const field of fields) {
    if (field.file) lines.push(`-F ${shellQuote(`${field.name}=@${curlFileName(field.file.name)}`)}`);
    else lines.push(`--form-string ${shellQuote(`${field.name}=${field.value}`)}`);
  }
  if (output) lines.push(`-o ${shellQuote(output)}`);
  return lines.join(" \\\n  ");
}
