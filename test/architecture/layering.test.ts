import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

/**
 * The layers of `src/` and what each may import, written down once (docs/architecture.md explains
 * them). A layer is a directory under `src/`; `gui/web` is a layer of its own because it runs in
 * the browser. Lower layers never import higher ones:
 *
 *   util <- protocol <- {auth, transport} <- {tracker, host, client} <- peer <- {cli, gui} <- src/index.ts
 *
 * `transport` is the one place a socket is dialed (the reconnecting, typed client of every link).
 * `api` is the facade's contract, types only: it sits just above `protocol`, and `host`, `client`,
 * `peer`, `cli`, `gui` and `gui/web` may use it (the roles produce some of its types: outbox entries,
 * hosted channels, events). The page (`gui/web`) sees only `api`, the bridge's message contract
 * `gui/messages.ts` and the browser-safe protocol modules, never Node.
 */
const LAYERS: Record<string, readonly string[]> = {
  util: [],
  protocol: ["util"],
  auth: ["util", "protocol"],
  api: ["protocol"],
  transport: ["util", "protocol"],
  tracker: ["util", "protocol", "auth", "transport"],
  host: ["util", "protocol", "auth", "api", "transport"],
  client: ["util", "protocol", "auth", "api", "transport"],
  peer: ["util", "protocol", "auth", "api", "transport", "client", "host"],
  gui: ["util", "protocol", "auth", "api", "peer"],
  cli: ["util", "protocol", "auth", "api", "transport", "peer", "tracker", "gui"],
  "gui/web": [
    "api",
    "gui/messages.ts",
    "protocol/names.ts",
    "protocol/host-schemas.ts",
    "protocol/tracker-schemas.ts",
  ],
  root: ["util", "protocol", "auth", "api", "transport", "tracker", "host", "client", "peer", "gui", "cli"],
};

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));
const IMPORT_PATTERN =
  /(?:^|[\s;])(?:import|export)\s[^;]*?from\s*"([^"]+)"|import\s*\(\s*"([^"]+)"\s*\)|^import\s+"([^"]+)"/gm;

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(path));
    else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith(".d.ts")) files.push(path);
  }
  return files;
}

/** `src/`-relative path with `/` separators. */
function srcPath(file: string): string {
  return relative(SRC, file).split("\\").join("/");
}

function layerOf(path: string): string {
  if (path.startsWith("gui/web/")) return "gui/web";
  const slash = path.indexOf("/");
  return slash === -1 ? "root" : path.slice(0, slash);
}

/** Whether `target` (a `src/`-relative file) is in one of the allowed layers or files. */
function allowed(layer: string, target: string): boolean {
  const targetLayer = layerOf(target);
  if (targetLayer === layer) return true;
  return (LAYERS[layer] ?? []).some((rule) =>
    rule.endsWith(".ts") ? target === rule : targetLayer === rule,
  );
}

interface ImportUse {
  from: string;
  specifier: string;
  /** `src/`-relative target for a relative import, else undefined (a package or `node:`). */
  target: string | undefined;
  typeOnly: boolean;
}

function importsOf(file: string): ImportUse[] {
  // Comments may contain the words import and from; strings in this code base hold no `/*`.
  const text = readFileSync(file, "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "");
  const uses: ImportUse[] = [];
  for (const match of text.matchAll(IMPORT_PATTERN)) {
    const specifier = match[1] ?? match[2] ?? match[3];
    if (specifier === undefined) continue;
    const target = specifier.startsWith(".")
      ? srcPath(resolve(dirname(file), specifier)).replace(/\.js$/, ".ts")
      : undefined;
    const typeOnly = /^\s*;?\s*(import|export)\s+type\s/.test(match[0]);
    uses.push({ from: srcPath(file), specifier, target, typeOnly });
  }
  return uses;
}

const USES = sourceFiles(SRC).flatMap(importsOf);

test("architecture - every import in src/ follows the layering", () => {
  assert.ok(USES.length > 100, "the import scan found too few imports");
  const offending: string[] = [];
  for (const use of USES) {
    if (use.target === undefined) continue;
    const layer = layerOf(use.from);
    assert.ok(layer in LAYERS, `${use.from} is in no known layer: add its directory to LAYERS`);
    if (!allowed(layer, use.target)) offending.push(`${use.from} -> ${use.target}`);
  }
  assert.deepEqual(offending, [], `imports against the layering:\n${offending.join("\n")}`);
});

test("architecture - api/ holds only types and is imported only for types", () => {
  for (const use of USES) {
    if (use.target?.startsWith("api/")) {
      assert.ok(use.typeOnly, `${use.from} imports ${use.specifier} for a value: api/ has only types`);
    }
  }
  for (const file of sourceFiles(join(SRC, "api"))) {
    const code = readFileSync(file, "utf8");
    assert.doesNotMatch(
      code,
      /^export\s+(const|let|var|function|class|enum|default)\b/m,
      `${srcPath(file)} exports a value`,
    );
  }
});

test("architecture - the web page imports no Node module or package other than its UI libraries", () => {
  const pageImports = USES.filter((use) => layerOf(use.from) === "gui/web" && use.target === undefined);
  const packages = new Set(pageImports.map((use) => use.specifier.split("/")[0] ?? use.specifier));
  for (const name of packages) {
    assert.ok(["react", "react-dom", "zod"].includes(name), `gui/web imports ${name}`);
  }
});
