/**
 * Look-alike usernames. A name's skeleton is built as in Unicode TR39 (section 4, "skeleton"),
 * over the characters a username may hold (`[A-Za-z0-9_.-]`): each character is replaced by its
 * prototype, then the result is case-folded, since names are unique regardless of case. Two names
 * with one skeleton look alike, and the tracker gives out only one of them.
 *
 * Within that set TR39's confusables.txt maps `0 → O`, `1 → l`, `I → l` and `m → rn`; hychat
 * adds `w → vv` and `W → vv`, which most fonts draw alike too. Nothing else is mapped (`5`/`S`,
 * `_`/`-`/`.` stay distinct), so few names are refused that a reader tells apart; one class is:
 * capitals, as `I` and `L` fold together (`ALICE` beside `AIICE`).
 *
 * Migration 3 (`migrations.ts`) computes the same skeleton in SQL for accounts made before it;
 * a change here needs a new migration that recomputes the column.
 */
const PROTOTYPES: Readonly<Record<string, string>> = {
  "0": "o",
  "1": "l",
  I: "l",
  m: "rn",
  w: "vv",
  W: "vv",
};

/** The confusable skeleton of a username: names with the same one look alike. */
export function usernameSkeleton(username: string): string {
  let skeleton = "";
  for (const character of username) skeleton += PROTOTYPES[character] ?? character;
  return skeleton.toLowerCase();
}
