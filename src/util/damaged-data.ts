/**
 * A data file that is damaged, unreadable, or missing where the files beside it say it must exist.
 * Starting anyway would answer every request with an error, or start empty and forget what the
 * file held (accounts, history): so the start is refused, naming the file and what to do.
 */
export class DamagedDataError extends Error {
  override name = "DamagedDataError";
  readonly code: "DAMAGED_DATA" = "DAMAGED_DATA";

  /** `problem` completes "FILE …"; `remedy` says what the operator can do about it. */
  constructor(
    readonly file: string,
    problem: string,
    remedy: string,
  ) {
    super(`${file} ${problem}: ${remedy}`);
  }
}

/** Any other failure to open a data file, with the file's path in front and the original code kept. */
export class DataFileError extends Error {
  override name = "DataFileError";
  readonly code: string | undefined;

  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    super(`${file}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    const code = (cause as { code?: unknown } | null)?.code;
    this.code = typeof code === "string" ? code : undefined;
  }
}
