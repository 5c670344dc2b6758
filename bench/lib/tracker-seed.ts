import { deviceIdFor, signIn } from "./credentials.js";
import { signUp } from "./stacks.js";
import { type Address, BENCH_FINGERPRINT, pipelined, WireClient } from "./wire.js";

/** Registering connections (each its own user), and HOST requests in flight on each. */
const REGISTRARS = 4;
const REGISTER_WINDOW = 32;

/**
 * Registers `count` channels (`bench-channel-N`) on the tracker from a few signed-in connections,
 * which stay open as the channels' liveness links (so every channel is listed online); the caller
 * closes them.
 */
export async function registerChannels(tracker: Address, count: number): Promise<WireClient[]> {
  const registrars: WireClient[] = [];
  try {
    for (let index = 0; index < REGISTRARS; index++) {
      const account = { username: `registrar${index}`, password: "bench-registrar-password" };
      await signUp(tracker, account);
      const client = await WireClient.open(tracker);
      registrars.push(client);
      await signIn(client, account, deviceIdFor(account.username));
    }
    const perRegistrar = Math.ceil(count / REGISTRARS);
    await Promise.all(
      registrars.map((client, registrar) => {
        const first = registrar * perRegistrar;
        return pipelined(Math.max(0, Math.min(perRegistrar, count - first)), REGISTER_WINDOW, (index) =>
          client.request("HOST", {
            channel: `bench-channel-${first + index}`,
            host: "127.0.0.1",
            port: 40_000 + (index % 1000),
            fingerprint: BENCH_FINGERPRINT,
          }),
        );
      }),
    );
    return registrars;
  } catch (error) {
    await Promise.all(registrars.map((client) => client.close()));
    throw error;
  }
}
