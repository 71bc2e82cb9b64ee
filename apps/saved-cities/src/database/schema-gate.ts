import type { Database } from './database';
import { schemaStatus } from './migrate';

export type SchemaGateState =
  { kind: 'unchecked'; reason: string } | { kind: 'current' } | { kind: 'behind'; pending: string[] };

/**
 * Whether the database's schema is the one this version needs. Until it is checked (the database may be
 * unreachable at start), the API answers 503 and readiness fails; a schema behind this version's migrations is
 * reported to `onBehind`, which stops the process: the migrate step must run before a version serves.
 */
export class SchemaGate {
  private current: SchemaGateState = { kind: 'unchecked', reason: 'the schema has not been checked yet' };
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Database,
    private readonly onBehind: (pending: string[]) => void,
  ) {}

  get state(): SchemaGateState {
    return this.current;
  }

  get isCurrent(): boolean {
    return this.current.kind === 'current';
  }

  /** One check; a database that does not answer leaves the gate closed with the reason. */
  async check(): Promise<SchemaGateState> {
    try {
      const { pending } = await schemaStatus(this.db);
      this.current = pending.length === 0 ? { kind: 'current' } : { kind: 'behind', pending };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.current = { kind: 'unchecked', reason: `cannot check the schema: ${message}` };
    }
    if (this.current.kind === 'behind') this.onBehind(this.current.pending);
    return this.current;
  }

  /** Checks every `intervalMs` until the schema is current; the timer never keeps the process alive. */
  retryUntilCurrent(intervalMs: number): void {
    if (this.isCurrent || this.timer) return;
    this.timer = setInterval(() => {
      void this.check().then((state) => {
        if (state.kind !== 'unchecked') this.stop();
      });
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
