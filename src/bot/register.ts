import { REST, Routes, type APIApplicationCommand, type RESTGetCurrentApplicationResult } from 'discord.js';
import { commandPayloads } from './commands/index.js';

export interface RegisterOptions {
  token: string;
  /** Application id; looked up with the token (`GET /applications/@me`) when missing. */
  clientId?: string;
  /** Register to this guild (instant); globally when missing (can take up to an hour to show everywhere). */
  guildId?: string;
  /** REST base such as `http://127.0.0.1:8080/api` (proxies, tests). */
  apiUrl?: string;
  maxQuestionChars?: number;
  /** Remove every command of the target (guild or global) instead. */
  clear?: boolean;
}

export interface RegisterResult {
  scope: 'guild' | 'global';
  clientId: string;
  guildId?: string;
  commands: { id: string; name: string; type: number }[];
  added: string[];
  removed: string[];
  kept: string[];
}

/**
 * Registers the bot's commands with one bulk overwrite (`PUT .../commands`): running it again with
 * the same commands changes nothing (same ids), and commands no longer defined are removed.
 */
export async function registerCommands(options: RegisterOptions): Promise<RegisterResult> {
  const rest = new REST(options.apiUrl ? { api: options.apiUrl } : {}).setToken(options.token);
  const clientId = options.clientId ?? ((await rest.get(Routes.currentApplication())) as RESTGetCurrentApplicationResult).id;
  const route = options.guildId ? Routes.applicationGuildCommands(clientId, options.guildId) : Routes.applicationCommands(clientId);
  const key = (c: { name: string; type?: number }) => `${c.type ?? 1}:${c.name}`;
  const before = ((await rest.get(route)) as APIApplicationCommand[]).map(key);
  const body = options.clear ? [] : commandPayloads({ maxQuestionChars: options.maxQuestionChars ?? 1000 });
  const after = (await rest.put(route, { body })) as APIApplicationCommand[];
  const afterKeys = after.map(key);
  const name = (k: string) => k.slice(k.indexOf(':') + 1);
  return {
    scope: options.guildId ? 'guild' : 'global',
    clientId,
    guildId: options.guildId,
    commands: after.map((c) => ({ id: c.id, name: c.name, type: c.type })),
    added: afterKeys.filter((k) => !before.includes(k)).map(name),
    removed: before.filter((k) => !afterKeys.includes(k)).map(name),
    kept: afterKeys.filter((k) => before.includes(k)).map(name),
  };
}
