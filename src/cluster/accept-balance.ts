/**
 * Keeps the workers' connection counts level (the primary runs it: cluster-primary.ts).
 *
 * The workers accept from one listening socket (cluster `SCHED_NONE`), and the kernel gives each new connection to
 * whichever worker's accept comes first, which is not the same as evenly: 100,000 connections over 8 workers ended
 * with 9,066 to 17,480 per worker (bench/RESULTS.md). The fullest then reaches its file limit first (six workers at
 * 20,000 files each could not hold 100,000), and on a machine with a core per worker whatever a worker does for all
 * of its connections at once (an admin notice, the shutdown notice) lasts as long as the fullest one's share. So a
 * worker holding more than `slack` connections above the least loaded one closes its listener (accept-gate.ts) until
 * the least loaded has caught up to within half of that; the connections waiting meanwhile go to the workers still
 * listening.
 *
 * Never closes the last listener: the least loaded worker always accepts, and a worker is told to stop only while
 * another one that accepts has said so itself (a listener opens with a round trip to the primary: without that, two
 * changes crossing could leave no worker listening, and the primary closes a socket no worker listens on).
 */

export interface WorkerLoad {
  /** Connections the worker holds (engine.io sessions, authenticated or not). */
  connections: number;
  /** Whether its listener is open, as it last reported. */
  accepting: boolean;
}

/** What to tell a worker: open (true) or close (false) its listener. */
export interface AcceptCommand<Id> {
  worker: Id;
  accept: boolean;
}

interface Balanced {
  load: WorkerLoad;
  /** What the worker was last told (every worker starts accepting). */
  told: boolean;
}

export class AcceptBalance<Id> {
  private readonly workers = new Map<Id, Balanced>();

  constructor(
    /** How many connections above the least loaded worker's a worker may hold and still accept; 0 turns balancing off. */
    private readonly slack: number,
  ) {}

  /** A worker's report; answers what to tell which workers now. */
  report(worker: Id, load: WorkerLoad): AcceptCommand<Id>[] {
    const known = this.workers.get(worker);
    if (known) known.load = load;
    else this.workers.set(worker, { load, told: true });
    return this.commands();
  }

  /** A worker that stopped serving (exited, died): the others open their listeners at once. */
  remove(worker: Id): AcceptCommand<Id>[] {
    this.workers.delete(worker);
    return this.openAll();
  }

  private openAll(): AcceptCommand<Id>[] {
    const commands: AcceptCommand<Id>[] = [];
    for (const [id, each] of this.workers) {
      if (each.told) continue;
      each.told = true;
      commands.push({ worker: id, accept: true });
    }
    return commands;
  }

  private commands(): AcceptCommand<Id>[] {
    if (this.slack <= 0 || this.workers.size < 2) return this.openAll();
    const least = Math.min(...[...this.workers.values()].map((each) => each.load.connections));
    const commands: AcceptCommand<Id>[] = [];
    const toClose: Id[] = [];
    for (const [id, each] of this.workers) {
      // Hysteresis: one that stopped accepting starts again once within half the slack, not at the first connection.
      const accept = each.load.connections <= least + (each.told ? this.slack : this.slack / 2);
      if (accept && !each.told) {
        each.told = true;
        commands.push({ worker: id, accept: true });
      } else if (!accept && each.told) {
        toClose.push(id);
      }
    }
    for (const id of toClose) {
      const stillListening = [...this.workers].some(([other, each]) => other !== id && each.told && each.load.accepting);
      if (!stillListening) break;
      const each = this.workers.get(id);
      if (each) each.told = false;
      commands.push({ worker: id, accept: false });
    }
    return commands;
  }
}
