import assert from "node:assert/strict";
import { test } from "node:test";
import { PasswordHashQueue, type PasswordJobPriority } from "../../src/auth/password.js";
import { HychatError } from "../../src/protocol/errors.js";

/** A job that starts when the queue gives it a turn and ends when the test says so. */
function heldJob(queue: PasswordHashQueue, priority: PasswordJobPriority, name: string, started: string[]) {
  let finish: () => void = () => undefined;
  const outcome = queue
    .run(priority, () => {
      started.push(name);
      return new Promise<string>((resolve) => {
        finish = () => resolve(name);
      });
    })
    .then(
      (value) => value,
      (error: unknown) => error,
    );
  return { outcome, finish: () => finish() };
}

function assertBusy(outcome: unknown): void {
  assert.ok(outcome instanceof HychatError, String(outcome));
  assert.equal(outcome.code, "BUSY");
  assert.equal(outcome.status, "SERVER_ERROR");
  assert.ok((outcome.details.retryAfterMs as number) > 0);
}

test("auth - the password queue runs sign-ins first and sheds what finds no place with BUSY", async () => {
  const queue = new PasswordHashQueue({ concurrency: 1, maxQueued: 2 });
  const started: string[] = [];
  const running = heldJob(queue, "signup", "signup-1", started);
  const waitingFirst = heldJob(queue, "signup", "signup-2", started);
  const waitingNewest = heldJob(queue, "signup", "signup-3", started);
  const overflow = heldJob(queue, "signup", "signup-4", started);
  assertBusy(await overflow.outcome);
  // A sign-in that finds the queue full takes the newest waiting sign-up's place.
  const signin = heldJob(queue, "signin", "signin", started);
  assertBusy(await waitingNewest.outcome);
  assert.equal(queue.queued, 2);
  assert.deepEqual(started, ["signup-1"]);

  running.finish();
  assert.equal(await running.outcome, "signup-1");
  assert.deepEqual(started, ["signup-1", "signin"], "the sign-in goes ahead of the waiting sign-up");
  signin.finish();
  assert.equal(await signin.outcome, "signin");
  assert.deepEqual(started, ["signup-1", "signin", "signup-2"]);
  waitingFirst.finish();
  assert.equal(await waitingFirst.outcome, "signup-2");
  assert.equal(queue.queued, 0);
});

test("auth - a full queue of sign-ins sheds one more sign-in", async () => {
  const queue = new PasswordHashQueue({ concurrency: 1, maxQueued: 1 });
  const started: string[] = [];
  const running = heldJob(queue, "signin", "a", started);
  const waiting = heldJob(queue, "signin", "b", started);
  assertBusy(await heldJob(queue, "signin", "c", started).outcome);
  running.finish();
  await running.outcome;
  waiting.finish();
  assert.equal(await waiting.outcome, "b");
});

test("auth - a job that throws frees its turn", async () => {
  const queue = new PasswordHashQueue({ concurrency: 1, maxQueued: 4 });
  const failing = queue.run("signin", () => {
    throw new Error("boom");
  });
  await assert.rejects(failing, /boom/);
  assert.equal(await queue.run("signup", async () => "next"), "next");
});

test("auth - a sign-in from an address that has not failed goes ahead of a guesser's queued sign-ins", async () => {
  const queue = new PasswordHashQueue({ concurrency: 1, maxQueued: 3 });
  const started: string[] = [];
  const running = heldJob(queue, "signin", "guess-1", started);
  const guesses = [
    heldJob(queue, "signin", "guess-2", started),
    heldJob(queue, "signin", "guess-3", started),
  ];
  const last = heldJob(queue, "signin", "guess-4", started);
  // The queue is full of guesses: the owner's sign-in takes the newest one's place, and goes first.
  const owner = heldJob(queue, "trusted", "owner", started);
  assertBusy(await last.outcome);
  running.finish();
  await running.outcome;
  assert.deepEqual(started, ["guess-1", "owner"]);
  owner.finish();
  assert.equal(await owner.outcome, "owner");
  for (const guess of guesses) {
    guess.finish();
    await guess.outcome;
  }
  assert.deepEqual(started, ["guess-1", "owner", "guess-2", "guess-3"]);
});

test("auth - sign-ups leave one run to sign-ins, so a sign-up flood never makes a sign-in wait for a hash", async () => {
  const queue = new PasswordHashQueue({ concurrency: 2, maxQueued: 4 });
  const started: string[] = [];
  const signups = [1, 2, 3].map((n) => heldJob(queue, "signup", `signup-${n}`, started));
  assert.deepEqual(started, ["signup-1"], "one run stays free");
  const signin = heldJob(queue, "signin", "signin", started);
  assert.deepEqual(started, ["signup-1", "signin"]);
  signin.finish();
  await signin.outcome;
  assert.deepEqual(started, ["signup-1", "signin"], "the free run is not given to a sign-up");
  for (const job of signups) {
    job.finish();
    await job.outcome;
  }
  assert.deepEqual(started, ["signup-1", "signin", "signup-2", "signup-3"]);
});
