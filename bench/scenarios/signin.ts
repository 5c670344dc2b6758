import { join } from "node:path";
import { DeviceKey } from "../../src/auth/device-key.js";
import { DEFAULT_PASSWORD_HASH, hashPassword, verifyPassword } from "../../src/auth/password.js";
import { nowUs } from "../lib/clock.js";
import { deviceIdFor, signIn } from "../lib/credentials.js";
import { progress } from "../lib/progress.js";
import type { Scenario } from "../lib/scenario.js";
import { startTracker } from "../lib/stacks.js";
import { median } from "../lib/stats.js";
import { pipelined, WireClient } from "../lib/wire.js";

/** Connections signing in at once, each as its own user (the tracker limits failures per user). */
const CONCURRENCY = 4;
const SIGNINS_PER_RUN = 12;
const PASSWORD = "bench-signin-password";

const cost = `scrypt N=2^${DEFAULT_PASSWORD_HASH.logN}, r=${DEFAULT_PASSWORD_HASH.r}, p=${DEFAULT_PASSWORD_HASH.p}`;

/**
 * SIGNINs a second at the shipped password hashing cost. Each connection signs its user in again
 * and again on one device with one key (a proof of possession each time), as a peer that signs in
 * anew; each SIGNIN also revokes that device's previous ticket.
 */
export const signinScenario: Scenario = {
  name: "signin",
  baseline: `${cost} verifications in the bench process itself (node:crypto, the same concurrency): the hashing ceiling`,
  async run(context) {
    const runs = context.quick ? 1 : 3;
    const tracker = await startTracker(join(context.workDir, "tracker"), DEFAULT_PASSWORD_HASH);
    const clients: WireClient[] = [];
    const keys: DeviceKey[] = [];
    try {
      for (let index = 0; index < CONCURRENCY; index++) {
        const client = await WireClient.open(tracker.ready.address);
        await client.request("SIGNUP", { username: `signer${index}`, password: PASSWORD });
        clients.push(client);
        keys.push(DeviceKey.generate());
      }
      const stored = await hashPassword(PASSWORD, DEFAULT_PASSWORD_HASH);
      const hychatRuns: number[] = [];
      const baselineRuns: number[] = [];
      for (let run = 0; run < runs; run++) {
        let next = 0;
        hychatRuns.push(
          await perSecond(() => {
            const index = next++ % CONCURRENCY;
            const client = clients[index] as WireClient;
            const account = { username: `signer${index}`, password: PASSWORD };
            return signIn(client, account, deviceIdFor(account.username), keys[index]);
          }),
        );
        baselineRuns.push(
          await perSecond(async () => {
            if (!(await verifyPassword(PASSWORD, stored))) throw new Error("password did not verify");
          }),
        );
        progress(
          `signin: run ${run + 1}: ${hychatRuns[run]?.toFixed(2)} SIGNIN/s, baseline ${baselineRuns[run]?.toFixed(2)}/s`,
        );
      }
      context.record({
        scenario: "tracker",
        metric: `SIGNIN at ${cost}, ${CONCURRENCY} at once`,
        unit: "/s",
        hychat: median(hychatRuns),
        baseline: median(baselineRuns),
        hychatRuns,
        baselineRuns,
        details: {
          signinsPerRun: SIGNINS_PER_RUN,
          concurrency: CONCURRENCY,
          passwordHash: DEFAULT_PASSWORD_HASH,
        },
      });
    } finally {
      await Promise.all(clients.map((client) => client.close()));
      await tracker.stop();
    }
  },
};

/** Runs `SIGNINS_PER_RUN` operations, `CONCURRENCY` at a time; returns how many finished a second. */
async function perSecond(operation: () => Promise<unknown>): Promise<number> {
  const startUs = nowUs();
  await pipelined(SIGNINS_PER_RUN, CONCURRENCY, operation);
  return SIGNINS_PER_RUN / ((nowUs() - startUs) / 1e6);
}
