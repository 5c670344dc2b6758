/**
 * The contract between the peer facade and the user interfaces: types only, no code. The CLI and
 * the GUI program against these; `client/` and `host/` produce some of them (outbox entries, hosted
 * channels, events), which is why they may import this layer and nothing above it.
 */

export type * from "./events.js";
export type * from "./peer-api.js";
