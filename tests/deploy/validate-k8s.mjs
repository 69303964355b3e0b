// Schema check of Kubernetes manifests (tests/deploy/check-manifests): each
// document is validated against the JSON schema of its apiVersion and kind,
// as published in the npm packages kubernetes-models (the Kubernetes OpenAPI
// schemas) and @kubernetes-models/keda (KEDA's CRDs). The compiled schema
// validators read each property they know; a field that no validator read,
// in an object that no validator enumerated (maps such as labels or a
// ConfigMap's data are enumerated), is a field that the schema does not have,
// i.e. a typo or a misplaced key: reported as an error too, as
// `kubectl --validate=strict` would.
//
// Usage: node validate-k8s.mjs NODE_MODULES_DIR < docs.json
//   docs.json: [{"file": "...", "doc": {...}}, ...]
// Prints one line per document; exit 1 if any is invalid.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const modules = process.argv[2];
const docs = JSON.parse(readFileSync(0, "utf8"));

function schemaFile(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["core", apiVersion];
  const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);
  if (group === "keda.sh") return `${modules}/@kubernetes-models/keda/_schemas/KedaSh${cap(version)}${kind}.mjs`;
  const g = group.split(".")[0]; // apps, batch, core, ...
  return `${modules}/kubernetes-models/_schemas/IoK8sApi${cap(g)}${cap(version)}${kind}.mjs`;
}

// Wraps every object of the document in a proxy that records which keys
// were read and which objects were enumerated.
function track(value, path, seen) {
  if (value === null || typeof value !== "object") return value;
  const rec = { path, keys: Object.keys(value), read: new Set(), enumerated: false, array: Array.isArray(value) };
  seen.push(rec);
  const wrapped = Array.isArray(value) ? [] : {};
  for (const k of Object.keys(value)) wrapped[k] = track(value[k], `${path}/${k}`, seen);
  return new Proxy(wrapped, {
    get(t, k, r) {
      if (typeof k === "string") rec.read.add(k);
      return Reflect.get(t, k, r);
    },
    has(t, k) {
      if (typeof k === "string") rec.read.add(k);
      return Reflect.has(t, k);
    },
    ownKeys(t) {
      rec.enumerated = true;
      return Reflect.ownKeys(t);
    },
    getOwnPropertyDescriptor(t, k) {
      if (typeof k === "string") rec.read.add(k);
      return Reflect.getOwnPropertyDescriptor(t, k);
    },
  });
}

let bad = 0;
for (const { file, doc } of docs) {
  const where = `${file}: ${doc.kind}/${doc.metadata?.name ?? "?"}`;
  let validate;
  try {
    ({ validate } = await import(pathToFileURL(schemaFile(doc.apiVersion, doc.kind)).href));
  } catch (e) {
    console.log(`FAIL ${where}: no schema for ${doc.apiVersion} ${doc.kind}`);
    bad++;
    continue;
  }
  const seen = [];
  const ok = validate(track(doc, "", seen));
  const problems = [];
  if (!ok) for (const e of validate.errors) problems.push(`${e.instancePath || "/"} ${e.keyword} ${JSON.stringify(e.params)}`);
  const unknown = [];
  for (const rec of seen) {
    if (rec.array || rec.enumerated) continue;
    for (const k of rec.keys) if (!rec.read.has(k)) unknown.push(`${rec.path}/${k}`);
  }
  // the outermost unknown field only, not what lies inside it
  for (const u of unknown) if (!unknown.some((o) => u.startsWith(`${o}/`))) problems.push(`${u}: unknown field`);
  if (problems.length) {
    bad++;
    console.log(`FAIL ${where}:\n  ${problems.join("\n  ")}`);
  } else {
    console.log(`ok: ${where} matches the ${doc.apiVersion} ${doc.kind} schema`);
  }
}
process.exit(bad ? 1 : 0);
