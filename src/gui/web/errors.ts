/** What an error code means to a person; the code itself is shown too, for reports and searches. */
const FRIENDLY: Record<string, string> = {
  BAD_CREDENTIALS: "Wrong username or password.",
  USERNAME_TAKEN: "That name is already taken.",
  INVALID_USERNAME: "Names use 1 to 32 letters, digits, '_', '.' or '-'.",
  WEAK_PASSWORD: "Passwords need at least 8 characters.",
  RATE_LIMITED: "Too many attempts: wait a moment and try again.",
  GUESTS_CANNOT_HOST: "Guests cannot host channels. Create an account to host one.",
  GUESTS_CANNOT_HIDE: "Guests cannot go invisible.",
  CHANNEL_TAKEN: "Someone else owns a channel with that name.",
  NO_SUCH_CHANNEL: "There is no such channel.",
  NOT_OWNER: "Only the channel's owner can do that.",
  PRIVATE_CHANNEL: "This channel is private: its owner has to authorize you first.",
  NOT_JOINED: "Join the channel first.",
  GUEST_READ_ONLY: "Guests can read but not send. Create an account to take part.",
  NOT_AUTHORIZED: "This channel is moderated: only its owner and authorized users can send.",
  TEXT_TOO_LONG: "Messages are limited to 4000 characters.",
  EMPTY_TEXT: "Type a message first.",
  CANNOT_AUTHORIZE_GUEST: "Guests cannot be authorized.",
  TIMEOUT: "Your peer did not answer in time. Try again.",
  CONNECTION_CLOSED: "The page lost its connection to your peer.",
};

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string") return `${FRIENDLY[code] ?? error.message} (${code})`;
    return error.message;
  }
  return String(error);
}
