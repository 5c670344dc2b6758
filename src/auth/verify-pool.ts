import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { PUBLIC_KEY_PATTERN, SIGNATURE_PATTERN } from "../protocol/names.js";
import { verifySignature } from "./signatures.js";

/** One Ed25519 check: `sig` by `key` (both base64url) over `bytes`. */
export interface SignatureCheck {
  key: string;
  bytes: Buffer;
  sig: string;
}

/** Fewer checks than this are done on the calling thread: handing them over costs more. */
const MIN_PARALLEL_CHECKS = 256;

/**
 * The worker's code, self-contained (no project imports, so it runs the same from `dist/` and under
 * tsx; the wire patterns are written into it): it verifies what it is sent and answers one
 * boolean per check.
 */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createPublicKey, verify } = require("node:crypto");
const PUBLIC_KEY = ${PUBLIC_KEY_PATTERN};
const SIGNATURE = ${SIGNATURE_PATTERN};
const keys = new Map();
function keyOf(x) {
  let key = keys.get(x);
  if (key === undefined) {
    key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x }, format: "jwk" });
    if (keys.size >= 4096) keys.delete(keys.keys().next().value);
    keys.set(x, key);
  }
  return key;
}
parentPort.on("message", ({ id, checks }) => {
  const results = checks.map(({ key, bytes, sig }) => {
    // As verifySignature: canonical base64url only, so no signature has a second spelling.
    if (!PUBLIC_KEY.test(key) || !SIGNATURE.test(sig)) return false;
    try {
      return verify(null, bytes, keyOf(key), Buffer.from(sig, "base64url"));
    } catch {
      return false;
    }
  });
  parentPort.postMessage({ id, results });
});
`;

interface Job {
  resolve(results: boolean[]): void;
  reject(error: Error): void;
}

/**
 * Verifies many signatures at once on every core: a catch-up of 10,000 messages is 10,000 Ed25519
 * verifications, about 0.8 s on one core of a small machine. The calling thread takes its share
 * while the workers do theirs. Workers start on first use and never keep the process alive.
 */
export class SignatureVerifierPool {
  private workers: Worker[] = [];
  private readonly jobs = new Map<number, Job>();
  private nextJob = 1;
  private closed = false;

  constructor(private readonly threads: number = Math.max(1, Math.min(3, availableParallelism() - 1))) {}

  /** One result per check, in order: true when the signature verifies. */
  async verifyAll(checks: readonly SignatureCheck[]): Promise<boolean[]> {
    if (checks.length < MIN_PARALLEL_CHECKS || this.closed) return checks.map(verifyOne);
    const workers = this.started();
    const share = Math.ceil(checks.length / (workers.length + 1));
    const parts: Promise<boolean[]>[] = workers.map((worker, index) =>
      this.send(worker, checks.slice(share * (index + 1), share * (index + 2))),
    );
    const own = checks.slice(0, share).map(verifyOne);
    return own.concat(...(await Promise.all(parts)));
  }

  /** Stops the workers; checks still running fail, later ones run on the calling thread. */
  async close(): Promise<void> {
    this.closed = true;
    const workers = this.workers;
    this.workers = [];
    await Promise.all(workers.map((worker) => worker.terminate()));
    for (const job of this.jobs.values()) job.reject(new Error("the signature verifier closed"));
    this.jobs.clear();
  }

  private started(): Worker[] {
    while (this.workers.length < this.threads) {
      const worker = new Worker(WORKER_SOURCE, { eval: true });
      worker.unref();
      worker.on("message", ({ id, results }: { id: number; results: boolean[] }) => {
        const job = this.jobs.get(id);
        this.jobs.delete(id);
        job?.resolve(results);
      });
      worker.on("error", (error) => this.lost(worker, error));
      worker.on("exit", () => this.lost(worker, new Error("a signature verifier thread exited")));
      this.workers.push(worker);
    }
    return this.workers;
  }

  private send(worker: Worker, checks: SignatureCheck[]): Promise<boolean[]> {
    if (checks.length === 0) return Promise.resolve([]);
    const id = this.nextJob++;
    return new Promise<boolean[]>((resolve, reject) => {
      this.jobs.set(id, { resolve, reject });
      worker.postMessage({ id, checks });
    }).catch(() => checks.map(verifyOne));
  }

  /** A worker that failed is replaced on next use; what it was doing is done here instead (see `send`). */
  private lost(worker: Worker, error: Error): void {
    const index = this.workers.indexOf(worker);
    if (index === -1) return;
    this.workers.splice(index, 1);
    for (const [id, job] of this.jobs) {
      this.jobs.delete(id);
      job.reject(error);
    }
  }
}

function verifyOne(check: SignatureCheck): boolean {
  return verifySignature(check.key, check.bytes, check.sig);
}
