import type { BackendStatus } from '../../backend/backend';
import type { NodePhase } from './upgrade-gate';

/**
 * What /readyz answers: the node is ready when it is serving, its backend is up, and no
 * module's check gives a reason not to be (the storage module's, for one).
 */
export class Readiness {
  private readonly checks: Array<() => string | undefined> = [];

  constructor(
    private readonly phase: () => NodePhase,
    private readonly backendStatus: () => BackendStatus,
  ) {}

  /** Adds a check: it returns a reason to be not ready, or undefined. */
  add(check: () => string | undefined): void {
    this.checks.push(check);
  }

  /** Why the node is not ready, or undefined when it is. */
  reason(): string | undefined {
    const phase = this.phase();
    if (phase !== 'serving') return phase;
    if (this.backendStatus() !== 'up') return 'backend unavailable';
    for (const check of this.checks) {
      const reason = check();
      if (reason) return reason;
    }
    return undefined;
  }
}
