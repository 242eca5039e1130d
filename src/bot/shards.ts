/**
 * Which gateway shard a server is on, and which shards each bot process runs. Pure, so the
 * arithmetic Discord fixes (and the split across processes) is tested directly.
 */

/** Discord's rule: a server's shard is `(server id >> 22) % shard count`; DMs arrive on shard 0. */
export function shardOf(serverId: string, shardCount: number): number {
  if (!Number.isInteger(shardCount) || shardCount < 1) throw new RangeError(`shard count must be a whole number >= 1 (got ${shardCount})`);
  return Number((BigInt(serverId) >> 22n) % BigInt(shardCount));
}

/**
 * Splits shards `0 … shardCount-1` into `processes` contiguous slices whose sizes differ by at
 * most one (the first slices take the extra shards). Never more slices than shards: with fewer
 * shards than processes, each process gets one shard.
 */
export function planShardProcesses(shardCount: number, processes: number): number[][] {
  if (!Number.isInteger(shardCount) || shardCount < 1) throw new RangeError(`shard count must be a whole number >= 1 (got ${shardCount})`);
  if (!Number.isInteger(processes) || processes < 1) throw new RangeError(`process count must be a whole number >= 1 (got ${processes})`);
  const slices = Math.min(processes, shardCount);
  const base = Math.floor(shardCount / slices);
  const extra = shardCount % slices;
  const plan: number[][] = [];
  let next = 0;
  for (let i = 0; i < slices; i++) {
    const size = base + (i < extra ? 1 : 0);
    plan.push(Array.from({ length: size }, (_, k) => next + k));
    next += size;
  }
  return plan;
}

/** The shards one process runs (its slice) out of how many the bot has in all. */
export interface ShardSlice {
  ids: number[];
  count: number;
}

/** The environment variable through which the supervisor hands a child process its slice. */
export const SHARD_SLICE_ENV = 'KBBOT_SHARD_SLICE';

/** Reads a child's slice from its environment (undefined when this process is not a supervised child). */
export function sliceFromEnv(env: NodeJS.ProcessEnv = process.env): ShardSlice | undefined {
  const raw = env[SHARD_SLICE_ENV];
  if (!raw) return undefined;
  const parsed = JSON.parse(raw) as ShardSlice;
  const valid =
    Number.isInteger(parsed.count) &&
    parsed.count >= 1 &&
    Array.isArray(parsed.ids) &&
    parsed.ids.length > 0 &&
    parsed.ids.every((id) => Number.isInteger(id) && id >= 0 && id < parsed.count);
  if (!valid) throw new Error(`${SHARD_SLICE_ENV}=${raw} is not a shard slice ({"ids":[0,1],"count":4}); it is set by the shard supervisor, not by hand.`);
  return { ids: parsed.ids, count: parsed.count };
}

// ---------------------------------------------------------------------------------------------
// What a shard process and its supervisor say to each other (Node's IPC channel, JSON)
// ---------------------------------------------------------------------------------------------

/** Enough of an interaction for another process to finish it (its token is valid 15 minutes). */
export interface OpenInteraction {
  id: string;
  token: string;
  applicationId: string;
}

export type ChildMessage =
  | { kind: 'ready' }
  | { kind: 'interaction-started'; interaction: OpenInteraction }
  | { kind: 'interaction-finished'; id: string }
  | { kind: 'health'; requestId: number; report: unknown }
  | { kind: 'metrics'; requestId: number; metrics: unknown };

export type SupervisorMessage = { kind: 'health' | 'metrics'; requestId: number };

export function isChildMessage(value: unknown): value is ChildMessage {
  return typeof value === 'object' && value !== null && typeof (value as { kind?: unknown }).kind === 'string';
}
