/**
 * Who may change which knowledge base, decided from the server an interaction comes from (the id
 * Discord puts on it, never anything a member types). Pure, so every branch is cheap to test.
 */

/** `shared`: one knowledge base for every server. `server`: each server its own, over a base layer. */
export type KbScope = 'shared' | 'server';

export interface TenancyPolicy {
  scope: KbScope;
  /** `server` scope: every server also answers from the operator's articles (KB_BASE=knowledge). */
  baseLayer: boolean;
  /** Servers whose moderators manage the shared knowledge base / the base layer (KB_ADMIN_GUILD_IDS, else GUILD_ID). */
  adminServerIds: string[];
}

/** What `/kb` changes from a server: the shared/base knowledge base, the server's own, or nothing (why). */
export type WriteAccess =
  | { target: 'base' | 'server' }
  | { refused: 'direct-message' | 'not-admin-server' | 'no-home-server'; adminServerIds: string[]; servers?: number };

/**
 * @param serverId the interaction's server (null in a DM)
 * @param joinedServers how many servers the bot is in (a bot in exactly one treats it as home when no admin server is set)
 */
export function writeAccess(policy: TenancyPolicy, serverId: string | null, joinedServers: number): WriteAccess {
  const admins = policy.adminServerIds;
  if (serverId === null) return { refused: 'direct-message', adminServerIds: admins };
  if (policy.scope === 'server') {
    return { target: policy.baseLayer && admins.includes(serverId) ? 'base' : 'server' };
  }
  if (admins.length > 0) return admins.includes(serverId) ? { target: 'base' } : { refused: 'not-admin-server', adminServerIds: admins };
  if (joinedServers === 1) return { target: 'base' };
  return { refused: 'no-home-server', adminServerIds: admins, servers: joinedServers };
}

/** The sentence a moderator reads when `/kb` may not change anything from their server. */
export function refusalMessage(access: Extract<WriteAccess, { refused: string }>, nameOf: (serverId: string) => string | undefined = () => undefined): string {
  switch (access.refused) {
    case 'direct-message':
      return 'The knowledge base is managed from a server, not in direct messages. Nothing was changed.';
    case 'not-admin-server': {
      const names = access.adminServerIds.map((id) => {
        const name = nameOf(id);
        return name ? `**${name}** (\`${id}\`)` : `\`${id}\``;
      });
      return `This bot's knowledge base is shared by every server it is in and is managed from ${names.join(', ')} only (KB_ADMIN_GUILD_IDS). Nothing was changed here; you can still use \`/kb list\`, \`/kb show\` and \`/kb stats\`.`;
    }
    case 'no-home-server':
      return `This bot is in ${access.servers ?? 'several'} servers and shares one knowledge base between them, so it accepts no changes from Discord until its operator names the managing server with KB_ADMIN_GUILD_IDS (or GUILD_ID), or switches to KB_SCOPE=server (a knowledge base per server). Nothing was changed.`;
  }
}
