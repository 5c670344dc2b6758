import { nowUs } from "./clock.js";

const startedUs = nowUs();

/** Progress goes to standard error; standard output carries only the results table. */
export function progress(text: string): void {
  const seconds = ((nowUs() - startedUs) / 1_000_000).toFixed(1).padStart(6);
  process.stderr.write(`[bench ${seconds}s] ${text}\n`);
}
