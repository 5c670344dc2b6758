/** The library surface of hychat: the protocol, the tracker, the channel host, the peer facade and the GUI server. */

export type * from "./api/index.js";
export {
  DEFAULT_PASSWORD_HASH,
  hashPassword,
  type PasswordHashOptions,
  verifyPassword,
} from "./auth/password.js";
export {
  DEFAULT_TICKET_TTL_S,
  publicKeyFromBase64,
  publicKeyToBase64,
  signTicket,
  type TicketPayload,
  verifyTicket,
} from "./auth/tickets.js";
export { type GuiServer, type GuiServerOptions, startGuiServer } from "./gui/server.js";
export {
  ChannelHost,
  type ChannelHostOptions,
  DEFAULT_HOST_LIMITS,
  type HostLimits,
} from "./host/channel-host.js";
export { Peer, type PeerOptions } from "./peer/peer.js";
export {
  ERROR_CODES,
  type ErrorCode,
  type ErrorStatus,
  LOCAL_CODES,
  type LocalCode,
  REMOVAL_CODES,
  type RemovalCode,
  STATUSES,
  type Status,
} from "./protocol/codes.js";
export {
  Connection,
  type ConnectionHandlers,
  type ConnectionOptions,
  DEFAULT_CONNECTION_OPTIONS,
  type RequestOptions,
} from "./protocol/connection.js";
export {
  ConnectionError,
  type ErrorBody,
  errorFromWire,
  HychatError,
  RequestError,
  ServerError,
  UnauthorizedError,
  wireError,
} from "./protocol/errors.js";
export { DEFAULT_MAX_FRAME_BYTES, type FramerHandlers, LineFramer } from "./protocol/framer.js";
export {
  type EventFrame,
  encodeEvent,
  encodeRequest,
  encodeResponse,
  type Frame,
  PROTOCOL_VERSION,
  parseFrame,
  type RequestFrame,
  type ResponseFrame,
} from "./protocol/frames.js";
export type * from "./protocol/host-schemas.js";
export { hostBodySchemas } from "./protocol/host-schemas.js";
export type * from "./protocol/tracker-schemas.js";
export { trackerBodySchemas } from "./protocol/tracker-schemas.js";
export {
  DEFAULT_TRACKER_OPTIONS,
  DEFAULT_TRACKER_PORT,
  type TrackerOptions,
  TrackerServer,
} from "./tracker/server.js";
export type { TrackerStore } from "./tracker/store.js";
