import { generateKeyPairSync, randomBytes, sign, verify } from "node:crypto";
import { join } from "node:path";
import { MessageVerifier, type SignedMessage, signMessage } from "../../src/auth/message-signature.js";
import { publicKeyFromBase64 } from "../../src/auth/tickets.js";
import { nowUs } from "../lib/clock.js";
import { type Credentials, deviceIdFor, signIn } from "../lib/credentials.js";
import { benchMsgId, benchText } from "../lib/message-format.js";
import { progress } from "../lib/progress.js";
import { medianRow } from "../lib/results.js";
import type { Scenario } from "../lib/scenario.js";
import { OWNER, signUp, startTracker } from "../lib/stacks.js";
import { median } from "../lib/stats.js";
import { WireClient } from "../lib/wire.js";

const CHANNEL = "signatures";
/** The text size of the fan-out and history messages; their signed bytes are then about 200 bytes. */
const TEXT_BYTES = 100;
/** What the baseline signs and verifies: about the size of one message's signed bytes. */
const BASELINE_BYTES = 200;
const OPERATIONS_FULL = 20_000;
const OPERATIONS_QUICK = 5_000;
/** Fresh verifiers per run whose first check (certificate not yet cached) is timed, for the details. */
const FIRST_CHECKS = 200;

/** The fields of `count` distinct messages of the bench's shape, written by `from` now. */
function messageFields(from: string, tag: string, count: number) {
  const sentAt = new Date().toISOString();
  return Array.from({ length: count }, (_, index) => ({
    channel: CHANNEL,
    from,
    msgId: benchMsgId(tag, index, nowUs()),
    sentAt,
    text: benchText(nowUs(), TEXT_BYTES),
  }));
}

/** Microseconds per call of `operation` over indices 0..count-1, timed as one loop. */
function microsPerOperation(count: number, operation: (index: number) => void): number {
  const startUs = nowUs();
  for (let index = 0; index < count; index++) operation(index);
  return (nowUs() - startUs) / count;
}

/**
 * What a message's signature costs its author and each reader, in the bench process: `signMessage`
 * (canonical bytes and an Ed25519 signature), and `MessageVerifier.check` of a message whose
 * certificate is a ticket a real tracker issued at `SIGNIN` (certificate already checked once, as
 * a member's messages share one; then author, expiry, canonical bytes and the signature).
 */
export const signaturesScenario: Scenario = {
  name: "signatures",
  baseline: `node:crypto Ed25519 crypto.sign / crypto.verify over ${BASELINE_BYTES} random bytes with key objects already imported, in the same process, the same number of operations per run`,
  async run(context) {
    const runs = context.quick ? 3 : 7;
    const count = context.quick ? OPERATIONS_QUICK : OPERATIONS_FULL;
    const tracker = await startTracker(join(context.workDir, "tracker"));
    try {
      await signUp(tracker.ready.address, OWNER);
      const client = await WireClient.open(tracker.ready.address);
      let author: Credentials;
      let trackerKey: { publicKey: string; issuer: string };
      try {
        author = await signIn(client, OWNER, deviceIdFor(`${OWNER.username}-signatures`));
        trackerKey = await client.request<{ publicKey: string; issuer: string }>("KEY", {});
      } finally {
        await client.close();
      }
      const trackerPublicKey = publicKeyFromBase64(trackerKey.publicKey);

      const { privateKey, publicKey } = generateKeyPairSync("ed25519");
      const sign200: number[] = [];
      const verify200: number[] = [];
      const signRuns: number[] = [];
      const checkRuns: number[] = [];
      const firstCheckRuns: number[] = [];
      // Run -1 warms every path up and is not counted.
      for (let run = -1; run < runs; run++) {
        const fields = messageFields(author.username, `r${run}`, count);
        const sigs: string[] = new Array(count);
        const signUs = microsPerOperation(count, (index) => {
          sigs[index] = signMessage(author.key, fields[index] as (typeof fields)[number]);
        });
        const signed: SignedMessage[] = fields.map((message, index) => ({
          ...message,
          sig: sigs[index] as string,
          cert: author.ticket,
        }));
        // A reader's first check of an author's message also reads and verifies the certificate
        // (the ticket), which that author's later messages share: timed apart, on fresh verifiers.
        let rejected = 0;
        const firstCheckUs = microsPerOperation(FIRST_CHECKS, (index) => {
          const fresh = new MessageVerifier(trackerPublicKey, trackerKey.issuer);
          if (fresh.check(signed[index] as SignedMessage, CHANNEL) !== null) rejected += 1;
        });
        const verifier = new MessageVerifier(trackerPublicKey, trackerKey.issuer);
        if (verifier.check(signed[0] as SignedMessage, CHANNEL) !== null) rejected += 1;
        const checkUs = microsPerOperation(count - 1, (index) => {
          if (verifier.check(signed[index + 1] as SignedMessage, CHANNEL) !== null) rejected += 1;
        });
        if (rejected > 0)
          context.integrityFailure(`signatures run ${run}: ${rejected} of ${count} did not verify`);

        const bytes = Array.from({ length: count }, () => randomBytes(BASELINE_BYTES));
        const signatures: Buffer[] = new Array(count);
        const baseSignUs = microsPerOperation(count, (index) => {
          signatures[index] = sign(null, bytes[index] as Buffer, privateKey);
        });
        let failed = 0;
        const baseVerifyUs = microsPerOperation(count, (index) => {
          if (!verify(null, bytes[index] as Buffer, publicKey, signatures[index] as Buffer)) failed += 1;
        });
        if (failed > 0) context.integrityFailure(`signatures baseline run ${run}: ${failed} did not verify`);
        if (run < 0) continue;
        signRuns.push(signUs);
        checkRuns.push(checkUs);
        firstCheckRuns.push(firstCheckUs);
        sign200.push(baseSignUs);
        verify200.push(baseVerifyUs);
        progress(
          `signatures: run ${run + 1}: signMessage ${signUs.toFixed(1)} µs (crypto.sign ${baseSignUs.toFixed(1)} µs), ` +
            `MessageVerifier.check ${checkUs.toFixed(1)} µs (crypto.verify ${baseVerifyUs.toFixed(1)} µs)`,
        );
      }
      const scenario = "signatures";
      const details = {
        operationsPerRun: count,
        textBytes: TEXT_BYTES,
        baselineBytes: BASELINE_BYTES,
        firstCheckWithUncachedCertificateUs: firstCheckRuns,
        firstChecksPerRun: FIRST_CHECKS,
        certificateBytes: author.ticket.length,
      };
      context.record(
        medianRow({
          scenario,
          metric: `sign one message (signMessage, ${TEXT_BYTES}-byte text; baseline: crypto.sign over ${BASELINE_BYTES} bytes)`,
          unit: "µs",
          hychatRuns: signRuns,
          baselineRuns: sign200,
          details,
        }),
      );
      context.record(
        medianRow({
          scenario,
          metric: `verify one message (MessageVerifier.check, certificate from a real SIGNIN; baseline: crypto.verify over ${BASELINE_BYTES} bytes)`,
          unit: "µs",
          hychatRuns: checkRuns,
          baselineRuns: verify200,
          details,
        }),
      );
      progress(
        `signatures: median signMessage ${median(signRuns).toFixed(1)} µs, check ${median(checkRuns).toFixed(1)} µs; ` +
          `first check by a new verifier (certificate not yet cached) ${median(firstCheckRuns).toFixed(1)} µs`,
      );
    } finally {
      await tracker.stop();
    }
  },
};
