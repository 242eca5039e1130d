/**
 * The child's side of the shard supervisor (`src/bot/supervisor.ts`), over Node's IPC channel:
 * it says which interactions are open, so that the supervisor can finish them if this process
 * dies, says when the bot is ready, and answers the supervisor's `/healthz` and `/metrics`
 * questions for this process's shards.
 */
import type { Interaction } from 'discord.js';
import type { InteractionWatcher, RunningBot } from './client.js';
import type { ChildMessage, SupervisorMessage } from './shards.js';

export interface SupervisorLink {
  /** Pass to `startBot` (`interactions`). */
  watcher: InteractionWatcher;
  /** Serves the supervisor's questions from the running bot and tells it the bot is ready; returns a detach function. */
  attach(bot: RunningBot): () => void;
}

export function supervisorLink(): SupervisorLink {
  if (!process.send) throw new Error('This process was not started by the shard supervisor (no IPC channel); run `npm start` with DISCORD_SHARD_PROCESSES instead.');
  const send = process.send.bind(process);
  const post = (message: ChildMessage) => {
    // After the supervisor is gone there is no one to tell (the 'disconnect' handler stops the bot).
    if (process.connected) send(message);
  };
  const watcher: InteractionWatcher = {
    started(interaction: Interaction) {
      if (!interaction.isRepliable()) return;
      post({ kind: 'interaction-started', interaction: { id: interaction.id, token: interaction.token, applicationId: interaction.applicationId } });
    },
    finished(interaction: Interaction) {
      if (interaction.isRepliable()) post({ kind: 'interaction-finished', id: interaction.id });
    },
  };
  return {
    watcher,
    attach(bot) {
      const onMessage = (message: SupervisorMessage) => {
        if (message?.kind === 'health') {
          bot.checkHealth().then(
            (report) => post({ kind: 'health', requestId: message.requestId, report }),
            (error: unknown) => post({ kind: 'health', requestId: message.requestId, report: { ok: false, error: (error as Error).message } }),
          );
        } else if (message?.kind === 'metrics') {
          const metrics = bot.context.metrics?.registry.getMetricsAsJSON() ?? Promise.resolve([]);
          metrics.then(
            (json) => post({ kind: 'metrics', requestId: message.requestId, metrics: json }),
            () => post({ kind: 'metrics', requestId: message.requestId, metrics: [] }),
          );
        }
      };
      process.on('message', onMessage);
      post({ kind: 'ready' });
      return () => process.off('message', onMessage);
    },
  };
}
