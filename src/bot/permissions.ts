import { PermissionFlagsBits } from 'discord.js';

/** OAuth2 scopes of the invite: the bot user, and the right to create slash / context-menu commands. */
export const BOT_SCOPES = ['bot', 'applications.commands'] as const;

/**
 * The permissions the bot asks for, and why. Nothing else: no Administrator, no Manage *, no
 * Mention Everyone. Answers to `/ask` and the context-menu command are interaction responses,
 * which need none of these; they are for mentions and thread follow-ups.
 */
export const BOT_PERMISSION_REASONS: ReadonlyArray<{ name: keyof typeof PermissionFlagsBits; why: string }> = [
  { name: 'ViewChannel', why: 'see the channels where members mention it (and receive those messages)' },
  { name: 'SendMessages', why: 'answer a mention in place where no thread can be started' },
  { name: 'CreatePublicThreads', why: 'start a thread on the message that mentioned it' },
  { name: 'SendMessagesInThreads', why: 'post answers and follow-up answers inside threads' },
  { name: 'EmbedLinks', why: 'answers are embeds; messages it posts itself need this for the embed to show' },
  { name: 'ReadMessageHistory', why: 'reply to a follow-up message in a thread (replies need it)' },
];

/** The permissions integer of the invite URL. */
export const BOT_PERMISSIONS: bigint = BOT_PERMISSION_REASONS.reduce((bits, p) => bits | PermissionFlagsBits[p.name], 0n);

/** The invite URL for an application id. */
export function inviteUrl(clientId: string): string {
  const params = new URLSearchParams({ client_id: clientId, scope: BOT_SCOPES.join(' '), permissions: BOT_PERMISSIONS.toString() });
  return `https://discord.com/oauth2/authorize?${params.toString().replace(/\+/g, '%20')}`;
}
