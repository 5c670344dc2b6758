import { createContext, type Dispatch, useContext } from "react";
import type { BridgeMethod, MethodParams, MethodResult } from "../messages.js";
import type { Action, AppState } from "./state.js";

export type Call = <M extends BridgeMethod>(method: M, params: MethodParams<M>) => Promise<MethodResult<M>>;

export interface AppContextValue {
  state: AppState;
  dispatch: Dispatch<Action>;
  /** Calls a PeerApi method through the bridge. */
  call: Call;
  /** Shows an error as a readable alert. */
  reportError(error: unknown): void;
}

export const AppContext = createContext<AppContextValue | null>(null);

export function useApp(): AppContextValue {
  const value = useContext(AppContext);
  if (value === null) throw new Error("useApp outside AppContext");
  return value;
}
