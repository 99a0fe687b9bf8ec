// Validates a kustomize tree offline: every resource file a kustomization.yaml
// lists (following bases), every file its generators read, and every
// resource against the Kubernetes schemas (kubernetes-models) or KEDA's
// (@kubernetes-models/keda). Prints the resources as JSON on stdout, the
// problems on stderr; exits 1 when there is one.
//   node tests/k8s/validate.mjs deploy/k8s/overlays/production
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import YAML from "yaml";

const require = createRequire(import.meta.url);
const problems = [];
const resources = [];
const generated = [];

function load(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (group === "keda.sh") return require(`@kubernetes-models/keda/keda.sh/${version}/${kind}`)[kind];
  const dir = group === "" ? "v1" : `${group}/${version}`;
  return require(`kubernetes-models/${dir}/${kind}`)[kind];
}

function walk(dir) {
  const file = path.join(dir, "kustomization.yaml");
  if (!fs.existsSync(file)) {
    problems.push(`${dir}: no kustomization.yaml`);
    return;
  }
  const k = YAML.parse(fs.readFileSync(file, "utf8"));
  for (const r of k.resources ?? []) {
    const p = path.join(dir, r);
    if (fs.existsSync(p) && fs.statSync(p).isDirectory()) { walk(p); continue; }
    if (!fs.existsSync(p)) { problems.push(`${file}: resource ${r} does not exist`); continue; }
    for (const doc of YAML.parseAllDocuments(fs.readFileSync(p, "utf8"))) {
      if (doc.errors.length) { problems.push(`${p}: ${doc.errors[0].message}`); continue; }
      const obj = doc.toJSON();
      if (obj == null) continue;
      resources.push({ file: p, obj });
    }
  }
  for (const kind of ["configMapGenerator", "secretGenerator"]) {
    for (const g of k[kind] ?? []) {
      for (const f of g.files ?? []) {
        const src = path.join(dir, f.includes("=") ? f.split("=")[1] : f);
        if (!fs.existsSync(src)) problems.push(`${file}: ${g.name} reads ${f}, which does not exist`);
        else if (path.relative(dir, src).startsWith("..")) problems.push(`${file}: ${f} is outside the kustomization`);
      }
      generated.push({ kind: kind === "configMapGenerator" ? "ConfigMap" : "Secret", name: g.name, behavior: g.behavior ?? "create",
                       files: (g.files ?? []).map((f) => path.basename(f)), literals: g.literals ?? [] });
    }
  }
}

walk(process.argv[2]);
for (const { file, obj } of resources) {
  let Model;
  try {
    Model = load(obj.apiVersion, obj.kind);
  } catch (e) {
    problems.push(`${file}: ${obj.apiVersion} ${obj.kind}: no schema (${e.message.split("\n")[0]})`);
    continue;
  }
  try {
    new Model(obj).validate();
  } catch (e) {
    problems.push(`${file}: ${obj.kind} ${obj.metadata?.name}: ${e.message}`);
  }
}
process.stdout.write(JSON.stringify({ resources, generated }));
for (const p of problems) console.error(p);
process.exit(problems.length ? 1 : 0);
