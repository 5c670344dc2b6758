import { useCallback, useState } from "react";
import { useApp } from "./context.js";

/**
 * Runs one request at a time for a control: `busy` while it runs, errors reported as alerts.
 * Resolves with the result, or `undefined` when it failed.
 */
export function useRequest(): { busy: boolean; run<T>(work: () => Promise<T>): Promise<T | undefined> } {
  const { reportError } = useApp();
  const [busy, setBusy] = useState(false);
  const run = useCallback(
    async <T>(work: () => Promise<T>): Promise<T | undefined> => {
      setBusy(true);
      try {
        return await work();
      } catch (error) {
        reportError(error);
        return undefined;
      } finally {
        setBusy(false);
      }
    },
    [reportError],
  );
  return { busy, run };
}
