import { connect, type Socket } from "node:net";
import { ConnectionError } from "../protocol/errors.js";
import type { Address } from "../protocol/tracker-schemas.js";

/** How long a TCP connect may take before the attempt counts as failed (default 5 s). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** Idle time before the kernel starts probing a link, on every socket hychat opens or accepts. */
export const TCP_KEEPALIVE_MS = 30_000;

/**
 * Opens a TCP socket to `address`; rejects on error or after `timeoutMs`, leaving no socket behind.
 * The one place a hychat link is dialed (through `ReconnectingClient`).
 */
export function dial(address: Address, timeoutMs: number = DEFAULT_CONNECT_TIMEOUT_MS): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address.host, port: address.port });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, TCP_KEEPALIVE_MS);
    const timer = setTimeout(() => {
      fail(new ConnectionError("TIMEOUT", `connect to ${addressKey(address)} timed out`));
    }, timeoutMs);
    const onError = (error: Error) => fail(error);
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.off("connect", onConnect);
      socket.off("error", onError);
      socket.destroy();
      reject(error);
    };
    const onConnect = () => {
      clearTimeout(timer);
      socket.off("error", onError);
      resolve(socket);
    };
    socket.once("connect", onConnect);
    socket.once("error", onError);
  });
}

export function addressKey(address: Address): string {
  return `${address.host}:${address.port}`;
}
