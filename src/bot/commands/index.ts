/**
 * The registry: every application command by name and every button handler by custom-id prefix.
 * To add a command, write `commands/<name>.ts` exporting `data` and `execute` (and `autocomplete`
 * / `build` when needed) and add it to `COMMAND_MODULES`; buttons go into `BUTTON_HANDLERS`.
 */
import { ApplicationCommandType, type RESTPutAPIApplicationCommandsJSONBody } from 'discord.js';
import { answerButtons } from '../buttons/answer.js';
import { kbButtons, kbModals } from '../kb/handlers.js';
import type { BotSettings, ButtonHandler, Command, ModalHandler } from '../types.js';
import * as ask from './ask.js';
import * as askMessage from './ask-message.js';
import * as kb from './kb.js';
import * as summary from './summary.js';

const COMMAND_MODULES: Command[] = [ask as Command, askMessage as Command, kb as Command, summary as Command];

const BUTTON_HANDLERS: ButtonHandler[] = [...answerButtons, ...kbButtons];

const MODAL_HANDLERS: ModalHandler[] = [...kbModals];

function byName(list: Command[]): ReadonlyMap<string, Command> {
  const map = new Map<string, Command>();
  for (const c of list) {
    if (map.has(c.data.name)) throw new Error(`two commands are named ${c.data.name}`);
    map.set(c.data.name, c);
  }
  return map;
}

function byPrefix(list: ButtonHandler[]): ReadonlyMap<string, ButtonHandler> {
  const map = new Map<string, ButtonHandler>();
  for (const b of list) {
    if (map.has(b.prefix) || b.prefix.includes(':')) throw new Error(`bad or duplicate button prefix ${b.prefix}`);
    map.set(b.prefix, b);
  }
  return map;
}

export const commands: ReadonlyMap<string, Command> = byName(COMMAND_MODULES);
export const buttons: ReadonlyMap<string, ButtonHandler> = byPrefix(BUTTON_HANDLERS);
export const modals: ReadonlyMap<string, ModalHandler> = new Map(MODAL_HANDLERS.map((m) => [m.prefix, m]));

/** The command type a command's data declares (slash commands may omit it). */
export function commandType(command: Command): ApplicationCommandType {
  return (command.data.type ?? ApplicationCommandType.ChatInput) as ApplicationCommandType;
}

/** The body of the bulk overwrite `PUT .../commands` that `npm run register` sends. */
export function commandPayloads(settings: Pick<BotSettings, 'maxQuestionChars'> = { maxQuestionChars: 1000 }): RESTPutAPIApplicationCommandsJSONBody {
  return [...commands.values()].map((c) => (c.build ? c.build(settings) : c.data));
}
