import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { ERROR_CODES, type ErrorCode, LOCAL_CODES, REMOVAL_CODES } from "../../src/protocol/codes.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SRC = join(ROOT, "src");
const DOC = join(ROOT, "docs", "protocol.md");

/** Literal codes in source: `wireError("X"`, `code: "X"`, `new ConnectionError("X"`, `new HychatError(..., "X"`. */
const CODE_PATTERNS = [
  /\bwireError\(\s*"([A-Za-z0-9_]+)"/g,
  /\bcode:\s*"([A-Za-z0-9_]+)"/g,
  /\bConnectionError\(\s*"([A-Za-z0-9_]+)"/g,
  /\bHychatError\(\s*[^,]+,\s*"([A-Za-z0-9_]+)"/g,
];

interface CodeUse {
  code: string;
  where: string;
}

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourceFiles(path));
    else if (/\.tsx?$/.test(entry.name)) files.push(path);
  }
  return files;
}

function codesUsedInSource(): CodeUse[] {
  const uses: CodeUse[] = [];
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, "utf8");
    for (const pattern of CODE_PATTERNS) {
      for (const match of text.matchAll(pattern)) {
        const line = text.slice(0, match.index).split("\n").length;
        uses.push({ code: match[1] ?? "", where: `${relative(ROOT, file)}:${line}` });
      }
    }
  }
  return uses;
}

const wireCodes = Object.keys(ERROR_CODES) as ErrorCode[];
const knownCodes = new Set<string>([...wireCodes, ...REMOVAL_CODES, ...LOCAL_CODES]);

/** Rows of the table under "## Error codes": `| \`CODE\` | status | meaning |`, by code. */
function documentedCodes(): Map<string, { status: string; meaning: string }> {
  const doc = readFileSync(DOC, "utf8");
  const start = doc.indexOf("\n## Error codes\n");
  assert.notEqual(start, -1, 'docs/protocol.md has no "## Error codes" section');
  const next = doc.indexOf("\n## ", start + 1);
  const section = doc.slice(start, next === -1 ? undefined : next);
  const rows = new Map<string, { status: string; meaning: string }>();
  for (const line of section.split("\n")) {
    const match = /^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|([^|]*)\|([^|]*)\|\s*$/.exec(line);
    if (match?.[1] !== undefined)
      rows.set(match[1], { status: match[2] ?? "", meaning: (match[3] ?? "").trim() });
  }
  return rows;
}

test("docs - the source scan finds the codes the protocol core uses", () => {
  const found = new Set(codesUsedInSource().map((use) => use.code));
  for (const code of ["FRAME_TOO_LARGE", "BAD_FRAME", "UNKNOWN_COMMAND", "BAD_REQUEST", "NOT_SIGNED_IN"]) {
    assert.ok(found.has(code), `${code} not found by the scan`);
  }
  for (const code of ["INTERNAL_ERROR", "TIMEOUT", "CONNECTION_CLOSED", "BAD_TICKET"]) {
    assert.ok(found.has(code), `${code} not found by the scan`);
  }
});

test("docs - every error code used in src is declared in src/protocol/codes.ts", () => {
  const unknown = codesUsedInSource().filter((use) => !knownCodes.has(use.code));
  assert.deepEqual(
    unknown.map((use) => `${use.code} (${use.where})`),
    [],
    "codes used in src but missing from ERROR_CODES, REMOVAL_CODES or LOCAL_CODES",
  );
});

test("docs - every error code in src and codes.ts has a row in docs/protocol.md", () => {
  const rows = documentedCodes();
  const missing = new Set<string>();
  for (const code of knownCodes) if (!rows.has(code)) missing.add(code);
  for (const use of codesUsedInSource()) if (!rows.has(use.code)) missing.add(`${use.code} (${use.where})`);
  assert.deepEqual([...missing].sort(), [], "codes missing from the code table of docs/protocol.md");
  for (const [code, row] of rows) assert.ok(row.meaning.length > 0, `${code} has no meaning in the doc`);
});

test("docs - the doc's code table gives each code the status codes.ts gives it", () => {
  const rows = documentedCodes();
  for (const code of wireCodes) {
    assert.match(rows.get(code)?.status ?? "", new RegExp(`\`${ERROR_CODES[code]}\``), `status of ${code}`);
  }
  for (const code of REMOVAL_CODES)
    assert.match(rows.get(code)?.status ?? "", /REMOVED/, `${code} as REMOVED code`);
  for (const code of LOCAL_CODES)
    assert.match(rows.get(code)?.status ?? "", /local/i, `${code} as local code`);
});

test("docs - the doc's code table lists no code that codes.ts does not declare", () => {
  const stale = [...documentedCodes().keys()].filter((code) => !knownCodes.has(code));
  assert.deepEqual(stale, [], "rows for codes that no longer exist");
});
