import type { PeerEvent, PeerEventListener } from "../api/index.js";
import type { Logger } from "../util/logger.js";

/** The peer's one event stream: a throwing listener is logged and never stops the others. */
export class EventHub {
  private readonly listeners = new Set<PeerEventListener>();

  constructor(private readonly logger: Logger) {}

  subscribe(listener: PeerEventListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  emit(event: PeerEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error({ err: error, event: event.type }, "peer event listener threw");
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
