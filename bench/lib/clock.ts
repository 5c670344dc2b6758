/**
 * Microseconds on the monotonic clock. `process.hrtime` reads CLOCK_MONOTONIC, which every process
 * on the machine shares, so a time taken in one bench process can be subtracted in another.
 */
export function nowUs(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return seconds * 1_000_000 + Math.floor(nanoseconds / 1000);
}
