import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/**
 * Bench processes run as plain JavaScript, as the shipped code does: under the tsx loader every
 * Node process carries a loader thread and the compiler's caches, about 40 MB of resident memory
 * that is not hychat's. This transpiles src/ and bench/ file by file (no type check; `npm run
 * typecheck` does that) into node_modules/.cache, where bare imports still resolve.
 */

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const BUILD_DIR = join(ROOT, "node_modules", ".cache", "hychat-bench");
/** Browser code, built by Vite, never loaded by a bench process. */
const SKIPPED_DIRS = new Set([join(ROOT, "src", "gui", "web")]);

function sources(dir: string): string[] {
  if (SKIPPED_DIRS.has(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

function compilerOptions(): ts.CompilerOptions {
  const configPath = join(ROOT, "tsconfig.json");
  const config = ts.readConfigFile(configPath, (path) => readFileSync(path, "utf8"));
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  // Every file is an ES module (package.json "type": "module"); one file alone cannot tell NodeNext so.
  return {
    ...parsed.options,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    sourceMap: false,
    declaration: false,
    noEmit: false,
  };
}

/**
 * Transpiles src/ and bench/ into `dir` (default BUILD_DIR; `npm run soak` builds into its own, so
 * it can run beside `npm run bench`); returns how many files were written.
 */
export function buildForBench(dir = BUILD_DIR): number {
  rmSync(dir, { recursive: true, force: true });
  const options = compilerOptions();
  const files = [...sources(join(ROOT, "src")), ...sources(join(ROOT, "bench"))];
  for (const file of files) {
    const output = ts.transpileModule(readFileSync(file, "utf8"), {
      compilerOptions: options,
      fileName: file,
    });
    const target = join(dir, relative(ROOT, file)).replace(/\.ts$/, ".js");
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, output.outputText);
  }
  // ESM ("type": "module") for the .js files, and the package version that src/util/version.ts reads.
  copyFileSync(join(ROOT, "package.json"), join(dir, "package.json"));
  return files.length;
}
