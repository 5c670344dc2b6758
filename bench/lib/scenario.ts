import type { ResultRow } from "./results.js";

export interface ScenarioContext {
  quick: boolean;
  /** A fresh directory for this scenario's data dirs; removed at the end of the run. */
  workDir: string;
  record(row: ResultRow): void;
  /** A lost, duplicated or out-of-order message: the whole run will exit non-zero. */
  integrityFailure(text: string): void;
}

export interface Scenario {
  name: string;
  /** What the baseline column means for this scenario's rows. */
  baseline: string;
  run(context: ScenarioContext): Promise<void>;
}
