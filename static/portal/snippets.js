// The one place the try-it pages' code samples are made: the same call as the form would
// make, in curl and in the languages the vendor documents (Python requests, JavaScript fetch,
// Java java.net.http, PHP curl, C# HttpClient).
//
// Input: the endpoint's registry entry (faceportal/endpoints.py, as portal/tryit.py's
// endpoint_entry embeds it in the page) and the form's values. Every text value becomes a
// string literal of the language, escaped by that language's own rules (quote() below), so a
// value can never end a string early. The secret is read from the environment variable
// API_SECRET unless the caller passes `secret` (the user ticked "show my secret"): a page
// shows none by default. tests/portal/test_snippets.py compiles or parses what this makes.
import { curlCommand } from "./curl.js";

const ENV = "API_SECRET";

// JSON's string syntax is valid in Python and JavaScript (ES2019 allows U+2028 in strings).
const jsonQuote = (text) => JSON.stringify(String(text));

function hex4(code) {
  return code.toString(16).padStart(4, "0");
}

// Java translates \uXXXX before it reads the source, so \u000a or \u0022 would end the literal:
// control characters are octal escapes, other non-ASCII characters \uXXXX (none of those is
// a quote, a backslash or a line end).
function javaQuote(text) {
  let out = '"';
  for (const char of String(text)) {
    const code = char.codePointAt(0);
    if (char === '"' || char === "\\") out += `\\${char}`;
    else if (char === "\n") out += "\\n";
    else if (char === "\r") out += "\\r";
    else if (char === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += `\\${code.toString(8).padStart(3, "0")}`;
    else if (code > 0xffff) out += [...char].map((unit) => `\\u${hex4(unit.charCodeAt(0))}`).join("");
    else if (code > 0x7e) out += `\\u${hex4(code)}`;
    else out += char;
  }
  return `${out}"`;
}

function csharpQuote(text) {
  let out = '"';
  for (let i = 0; i < String(text).length; i += 1) {
    const char = String(text)[i];
    const code = char.charCodeAt(0);
    if (char === '"' || char === "\\") out += `\\${char}`;
    else if (char === "\n") out += "\\n";
    else if (char === "\r") out += "\\r";
    else if (char === "\t") out += "\\t";
    else if (code < 0x20 || code > 0x7e) out += `\\u${hex4(code)}`;
    else out += char;
  }
  return `${out}"`;
}

// PHP single-quoted strings know only two escapes.
const phpQuote = (text) => `'${String(text).replace(/[\\']/g, (c) => `\\${c}`)}'`;

// -- the call, whatever the language ---------------------------------------------------------

// values: { origin (the server, e.g. "https://faces.example.com"), apiId,
//   fields: [{name, value} | {name, file: {name}}] in the order sent, output (a file name for
//   an endpoint that answers an image), secret (null: read from the environment) }
function parts(endpoint, values) {
  const idField = endpoint.id_field;
  const texts = [{ name: idField, value: values.apiId }];
  const files = [];
  for (const field of values.fields) {
    if (field.file) files.push({ name: field.name, path: field.file.name || "photo.jpg" });
    else texts.push({ name: field.name, value: field.value });
  }
  const url = new URL(endpoint.url, values.origin).href; // the path is the registry's
  return { idField, texts, files, secret: values.secret ?? null, output: values.output || "", url };
}

function python(call) {
  const q = jsonQuote;
  const lines = ["import os", "", "import requests", "", `url = ${q(call.url)}`, "data = {"];
  for (const text of call.texts) lines.push(`    ${q(text.name)}: ${q(text.value)},`);
  lines.push(`    "api_secret": ${call.secret === null ? `os.environ[${q(ENV)}]` : q(call.secret)},`, "}");
  lines.push("files = {");
  for (const file of call.files) lines.push(`    ${q(file.name)}: (${q(file.path)}, open(${q(file.path)}, "rb")),`);
  lines.push("}", "response = requests.post(url, data=data, files=files, timeout=30)");
  lines.push('print(response.status_code, response.headers.get("X-Request-Id"))');
  if (call.output) {
    lines.push("if response.ok:", `    with open(${q(call.output)}, "wb") as out:`, "        out.write(response.content)");
    lines.push("else:", "    print(response.json())");
  } else {
    lines.push("print(response.json())");
  }
  return lines.join("\n");
}

function javascript(call) {
  const q = jsonQuote;
  const lines = [
    "// Node.js 18 or later, as an ES module (e.g. call.mjs); in a browser, take the files from an <input type=file>.",
    'import { readFile, writeFile } from "node:fs/promises";',
    "",
    "const form = new FormData();",
  ];
  for (const text of call.texts) lines.push(`form.append(${q(text.name)}, ${q(text.value)});`);
  lines.push(`form.append("api_secret", ${call.secret === null ? `process.env.${ENV}` : q(call.secret)});`);
  for (const file of call.files) {
    lines.push(`form.append(${q(file.name)}, new Blob([await readFile(${q(file.path)})]), ${q(file.path)});`);
  }
  lines.push(`const response = await fetch(${q(call.url)}, { method: "POST", body: form });`);
  lines.push('console.log(response.status, response.headers.get("X-Request-Id"));');
  if (call.output) {
    lines.push("if (response.ok) {", `  await writeFile(${q(call.output)}, Buffer.from(await response.arrayBuffer()));`);
    lines.push("} else {", "  console.log(JSON.stringify(await response.json(), null, 2));", "}");
  } else {
    lines.push("console.log(JSON.stringify(await response.json(), null, 2));");
  }
  return lines.join("\n");
}

function java(call) {
  const q = javaQuote;
  const body = [];
  for (const text of call.texts) body.push(`        field(body, boundary, ${q(text.name)}, ${q(text.value)});`);
  const secret = call.secret === null ? `System.getenv(${q(ENV)})` : q(call.secret);
  body.push(`        field(body, boundary, "api_secret", ${secret});`);
  for (const file of call.files) body.push(`        file(body, boundary, ${q(file.name)}, Path.of(${q(file.path)}));`);
  const answer = call.output
    ? [
        "        if (response.statusCode() == 200) {",
        `            Files.write(Path.of(${q(call.output)}), response.body());`,
        "        } else {",
        "            System.out.println(new String(response.body(), StandardCharsets.UTF_8));",
        "        }",
      ]
    : ["        System.out.println(new String(response.body(), StandardCharsets.UTF_8));"];
  return [
    "import java.io.ByteArrayOutputStream;",
    "import java.io.IOException;",
    "import java.net.URI;",
    "import java.net.http.HttpClient;",
    "import java.net.http.HttpRequest;",
    "import java.net.http.HttpResponse;",
    "import java.nio.charset.StandardCharsets;",
    "import java.nio.file.Files;",
    "import java.nio.file.Path;",
    "import java.util.UUID;",
    "",
    "// Java 11 or later: java FacePortalCall.java",
    "public class FacePortalCall {",
    "    public static void main(String[] args) throws Exception {",
    '        String boundary = "faceportal-" + UUID.randomUUID();',
    "        ByteArrayOutputStream body = new ByteArrayOutputStream();",
    ...body,
    '        body.write(("--" + boundary + "--\\r\\n").getBytes(StandardCharsets.UTF_8));',
    `        HttpRequest request = HttpRequest.newBuilder(URI.create(${q(call.url)}))`,
    '                .header("Content-Type", "multipart/form-data; boundary=" + boundary)',
    "                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray()))",
    "                .build();",
    "        HttpResponse<byte[]> response = HttpClient.newHttpClient()",
    "                .send(request, HttpResponse.BodyHandlers.ofByteArray());",
    '        System.out.println(response.statusCode() + " " + response.headers().firstValue("X-Request-Id").orElse(""));',
    ...answer,
    "    }",
    "",
    "    static void field(ByteArrayOutputStream body, String boundary, String name, String value) throws IOException {",
    '        body.write(("--" + boundary + "\\r\\nContent-Disposition: form-data; name=\\"" + name + "\\"\\r\\n\\r\\n"',
    '                + value + "\\r\\n").getBytes(StandardCharsets.UTF_8));',
    "    }",
    "",
    "    static void file(ByteArrayOutputStream body, String boundary, String name, Path path) throws IOException {",
    '        String filename = path.getFileName().toString().replace("\\"", "%22");',
    '        body.write(("--" + boundary + "\\r\\nContent-Disposition: form-data; name=\\"" + name + "\\"; filename=\\""',
    '                + filename + "\\"\\r\\nContent-Type: application/octet-stream\\r\\n\\r\\n").getBytes(StandardCharsets.UTF_8));',
    "        body.write(Files.readAllBytes(path));",
    '        body.write("\\r\\n".getBytes(StandardCharsets.UTF_8));',
    "    }",
    "}",
  ].join("\n");
}

function php(call) {
  const q = phpQuote;
  const lines = ["<?php", "$fields = ["];
  for (const text of call.texts) lines.push(`    ${q(text.name)} => ${q(text.value)},`);
  lines.push(`    'api_secret' => ${call.secret === null ? `getenv(${q(ENV)})` : q(call.secret)},`);
  for (const file of call.files) lines.push(`    ${q(file.name)} => new CURLFile(${q(file.path)}),`);
  lines.push(
    "];",
    `$curl = curl_init(${q(call.url)});`,
    "curl_setopt_array($curl, [CURLOPT_POST => true, CURLOPT_POSTFIELDS => $fields, CURLOPT_RETURNTRANSFER => true]);",
    "$body = curl_exec($curl);",
    "$status = curl_getinfo($curl, CURLINFO_HTTP_CODE);",
    'echo $status, "\\n";',
  );
  if (call.output) lines.push(`if ($status === 200) {`, `    file_put_contents(${q(call.output)}, $body);`, "} else {", '    echo $body, "\\n";', "}");
  else lines.push('echo $body, "\\n";');
  return lines.join("\n");
}

function csharp(call) {
  const q = csharpQuote;
  const lines = [
    "// .NET 6 or later, as a top-level program (dotnet new console).",
    "using System;",
    "using System.IO;",
    "using System.Linq;",
    "using System.Net.Http;",
    "",
    "using var client = new HttpClient();",
    "using var form = new MultipartFormDataContent();",
  ];
  for (const text of call.texts) lines.push(`form.Add(new StringContent(${q(text.value)}), ${q(text.name)});`);
  const secret = call.secret === null ? `Environment.GetEnvironmentVariable(${q(ENV)}) ?? ""` : q(call.secret);
  lines.push(`form.Add(new StringContent(${secret}), "api_secret");`);
  for (const file of call.files) {
    lines.push(`form.Add(new ByteArrayContent(File.ReadAllBytes(${q(file.path)})), ${q(file.name)}, ${q(file.path)});`);
  }
  lines.push(
    `using var response = await client.PostAsync(${q(call.url)}, form);`,
    'var requestId = response.Headers.TryGetValues("X-Request-Id", out var ids) ? ids.First() : "";',
    'Console.WriteLine($"{(int)response.StatusCode} {requestId}");',
  );
  if (call.output) {
    lines.push("if (response.IsSuccessStatusCode)", `    File.WriteAllBytes(${q(call.output)}, await response.Content.ReadAsByteArrayAsync());`);
    lines.push("else", "    Console.WriteLine(await response.Content.ReadAsStringAsync());");
  } else {
    lines.push("Console.WriteLine(await response.Content.ReadAsStringAsync());");
  }
  return lines.join("\n");
}

function curl(call, endpoint, values) {
  return curlCommand({
    url: call.url,
    idField: call.idField,
    apiId: values.apiId,
    fields: values.fields,
    output: call.output,
    secret: call.secret,
  });
}

// In the order the tabs show them; `name` is the tab's text.
export const LANGUAGES = [
  { id: "curl", name: "curl", render: curl },
  { id: "python", name: "Python", render: python },
  { id: "javascript", name: "JavaScript", render: javascript },
  { id: "java", name: "Java", render: java },
  { id: "php", name: "PHP", render: php },
  { id: "csharp", name: "C#", render: csharp },
];

// Every language's sample of one call: { curl: "...", python: "...", ... }.
export function snippets(endpoint, values) {
  const call = parts(endpoint, values);
  return Object.fromEntries(LANGUAGES.map((language) => [language.id, language.render(call, endpoint, values)]));
}
