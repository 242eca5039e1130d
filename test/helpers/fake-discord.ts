/**
 * A small, in-process fake of Discord (REST + Gateway on ONE 127.0.0.1 port) that drives the REAL
 * discord.js `Client`:
 *
 *   const fake = await FakeDiscord.start();
 *   const client = new Client({ intents: [...], rest: { api: fake.apiUrl } });
 *   await client.login(fake.token);
 *
 * Several guilds (the default one is `fake.guildId` / `fake.channelId`, as before):
 *
 *   const fake = await FakeDiscord.start({ guilds: [{ name: 'B', everyonePermissions: 0n }] });
 *   const b = fake.guildIds[1];                           // fake.guildIds: default guild first
 *   const { id, channelId } = await fake.addGuild({ name: 'C' }); // after login: GUILD_CREATE (guildCreate)
 *   await fake.removeGuild(id);                           // GUILD_DELETE { id } (guildDelete); REST -> 403
 *   const role = await fake.createRole({ guildId: b, name: 'mods', permissions: ManageGuild });
 *   await fake.sendSlashCommand({ name: 'ask', guildId: b, roles: [role.id] }); // B's channel + permissions
 *   await fake.sendSlashCommand({ name: 'ask', dm: true });  // bot DM: no guild_id/member, `user`
 *   await fake.sendMessage({ content: 'hi', guildId: b });   // also createTextChannel/createThread({ guildId })
 *   fake.guildChannelId(b); fake.dmChannelId(userId);
 *
 * Each guild has its own @everyone role (id = guild id), bot role, members (bot, `fake.userId`, its
 * owner, default `fake.ownerId`) and default text channel. Member permissions are computed in the
 * interaction's guild (@everyone | roles, owner/Administrator = all) unless `memberPermissions` is given.
 * A helper given only `channelId` uses that channel's guild. Per-guild REST routes answer for every
 * guild (unknown: 404 10004; removed: 403 50001).
 *
 * Sharding: `FakeDiscord.start({ shards: 2 })` makes `GET /gateway/bot` answer `shards: 2`; each
 * connection (IDENTIFY `shard: [id, 2]`) gets only its guilds (`shardOf(guildId, 2)`) in READY /
 * GUILD_CREATE and their events; DMs and guild-less events go to shard 0. `snowflakeOnShard(s, n)`
 * or `GuildOptions.shard` pick guild ids on a given shard.
 *
 * - REST lives under `${baseUrl}/api/v10/...` (discord.js appends `/v10` to `rest.api`).
 * - `GET /gateway/bot` points the client at `ws://127.0.0.1:PORT`; the client connects with
 *   `?v=10&encoding=json` (plus `&compress=zlib-stream` only when zlib-sync is installed).
 * - Every HTTP call is recorded in `fake.requests` (decoded path, query, headers, JSON or multipart body).
 * - Messages created through REST are dispatched back as MESSAGE_CREATE (author = bot), exactly like
 *   real Discord, so "ignore my own messages" logic is exercised.
 * - Gateway intents are honoured for message events (GuildMessages / MessageContent redaction), see
 *   `FakeDiscordOptions.enforceIntents`.
 *
 * Everything is event driven: no fixed sleeps anywhere.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import { WebSocketServer, WebSocket } from 'ws';
import type {
  APIApplicationCommand,
  APIAttachment,
  APIChannel,
  APIInteraction,
  APIMessage,
  APIRole,
  APIThreadChannel,
  APITextChannel,
  APIUser,
} from 'discord.js';

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

/** Raw JSON object (Discord payloads are plain JSON). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = Record<string, any>;

export interface FakeDiscordOptions {
  /** Bot user id (default: a fresh snowflake). */
  botUserId?: string;
  botUsername?: string;
  /** Application id (default: same as the bot user id, like real bots). */
  applicationId?: string;
  guildId?: string;
  guildName?: string;
  channelId?: string;
  channelName?: string;
  /** Default human user used by the `send*` helpers (default: a fresh snowflake). */
  userId?: string;
  username?: string;
  /** HELLO heartbeat interval (default 41 250 ms like Discord). Lower it to exercise heartbeats. */
  heartbeatIntervalMs?: number;
  /**
   * Honour gateway intents like Discord does (default true): guild MESSAGE_* events need
   * GuildMessages (1<<9); without MessageContent (1<<15) `content`, `embeds`, `attachments`,
   * `components` and `poll` are emptied unless the message is by the bot or mentions it.
   */
  enforceIntents?: boolean;
  /** Permissions of the bot's managed role (default: the usual text-bot set, no Administrator). */
  botPermissions?: bigint;
  /** Permissions of @everyone (default: view/send/read history/threads/slash commands). */
  everyonePermissions?: bigint;
  /** Interaction callbacks later than this are rejected with 10062 Unknown interaction (default 3000). */
  interactionResponseWindowMs?: number;
  /**
   * How long an interaction's token accepts edits and follow-ups (Discord: 15 minutes); after it,
   * webhook calls fail with 401 / 50027 "Invalid Webhook Token". Lower it to test long tasks.
   */
  interactionTokenTtlMs?: number;
  /** Extra guilds (servers) the bot is in besides the default one, see `fake.addGuild`. */
  guilds?: GuildOptions[];
  /**
   * Gateway shard count (default 1): `GET /gateway/bot` answers `shards: N`, and each connection
   * (IDENTIFY `shard: [id, N]`) only gets the guilds of its shard (`(guildId >> 22) % N`, see
   * `shardOf`) and their events; DMs go to shard 0.
   */
  shards?: number;
  /** Optional debug logger (each REST call and gateway frame). */
  log?: (line: string) => void;
}

/** A guild (server) of the fake: `FakeDiscordOptions.guilds` and `fake.addGuild()`. */
export interface GuildOptions {
  /** Guild id (default: a fresh snowflake; on shard `shard` when that is given). */
  id?: string;
  name?: string;
  /** Owner (has every permission). Default: `fake.ownerId`, the owner of the default guild. */
  ownerId?: string;
  /** Permissions of this guild's @everyone role (default: like the default guild). */
  everyonePermissions?: bigint;
  /** Permissions of the bot's managed role in this guild (default: `FakeDiscordOptions.botPermissions`). */
  botPermissions?: bigint;
  /** Default text channel id / name (default: a fresh snowflake / 'general'). */
  channelId?: string;
  channelName?: string;
  /** When no `id` is given: generate one that falls on this shard (of `FakeDiscordOptions.shards`). */
  shard?: number;
}

export interface RecordedFile {
  /** Multipart field name, e.g. `files[0]`. */
  field: string;
  filename: string;
  contentType: string;
  size: number;
  data: Buffer;
}

export interface RecordedRequest {
  /** 0-based position in `fake.requests`. */
  index: number;
  at: number;
  method: string;
  /** Decoded path relative to the API version prefix, e.g. `/webhooks/1/tok/messages/@original`. */
  path: string;
  /** Raw (undecoded) URL path including `/api/v10`. */
  rawPath: string;
  /** `10` for `/api/v10/...`, null for non-API paths (e.g. attachment downloads). */
  apiVersion: number | null;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON body; for multipart the parsed `payload_json` (or the text fields). null when empty. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  rawBody: Buffer;
  files: RecordedFile[];
  /** Response status sent by the fake. */
  status: number;
  /** Response JSON sent by the fake (undefined for 204). */
  response: unknown;
}

export interface ReceivedGatewayPayload {
  at: number;
  connection: number;
  op: number;
  d: unknown;
}

/** Raw application-command option as the fake accepts it (Discord wire format, with conveniences). */
export interface SlashOption {
  /** ApplicationCommandOptionType: 1 subcommand, 2 group, 3 string, 4 integer, 5 boolean, 6 user, 7 channel, 8 role, 9 mentionable, 10 number, 11 attachment. */
  type: number;
  name: string;
  /** For type 11 you may pass the attachment object from `fake.createAttachment()` (or its id). */
  value?: string | number | boolean | APIAttachment;
  options?: SlashOption[];
  focused?: boolean;
}

export interface InteractionBaseOptions {
  userId?: string;
  /** Permission bits of the invoking member (default: computed in that guild: @everyone + their roles, owner = all). */
  memberPermissions?: bigint | string;
  /** Role ids of the invoking member in that guild (create them with `fake.createRole`). Sticks to the member. */
  roles?: string[];
  /**
   * Guild of the interaction (default: the guild of `channelId` when given, else `fake.guildId`).
   * The channel defaults to that guild's default text channel.
   */
  guildId?: string;
  channelId?: string;
  /**
   * In the bot's DM with the user instead of a guild: no `guild_id`/`member`, `user` instead, a DM
   * channel (type 1, created on first use, see `fake.dmChannelId`). `guildId`/`roles` are ignored.
   */
  dm?: boolean;
  locale?: string;
}

export interface SlashCommandOptions extends InteractionBaseOptions {
  name: string;
  options?: SlashOption[];
}

export interface ButtonOptions extends InteractionBaseOptions {
  customId: string;
  /** Message carrying the button. Unknown ids get a synthesized bot message. Default: a new bot message. */
  messageId?: string;
  /** Component type (2 = button, default). */
  componentType?: number;
}

export interface SelectMenuOptions extends InteractionBaseOptions {
  customId: string;
  values: string[];
  messageId?: string;
  /** 3 string (default), 5 user, 6 role, 7 mentionable, 8 channel. */
  componentType?: number;
}

export interface MessageContextMenuOptions extends InteractionBaseOptions {
  name: string;
  /** A message (e.g. returned by `sendMessage`), a known message id, or content for a new (not dispatched) message. */
  targetMessage: string | APIMessage | { content: string; authorId?: string };
}

export interface ModalSubmitOptions extends InteractionBaseOptions {
  customId: string;
  fields: Record<string, string>;
  /** When the modal was opened from a component on a message. */
  messageId?: string;
}

export interface SendMessageOptions {
  content: string;
  authorId?: string;
  /** Guild of the message (default: the guild of `channelId` when given, else `fake.guildId`); the channel defaults to its default channel. */
  guildId?: string;
  channelId?: string;
  /**
   * A DM from the author to the bot (the DM channel is created on first use; needs the DirectMessages
   * intent on the client, and `Partials.Channel` for discord.js to emit it on an uncached DM channel).
   */
  dm?: boolean;
  /** Prefix the content with `<@bot>` (unless already present) and put the bot in `mentions`. */
  mentionsBot?: boolean;
  /**
   * Post inside the thread started from this message id (thread id == message id, like Discord).
   * The thread is created (THREAD_CREATE dispatched) when it does not exist yet.
   */
  threadOf?: string;
  /** Attachments (from `fake.createAttachment`). */
  attachments?: APIAttachment[];
  /** Reply to this message id (message_reference + referenced_message). */
  replyTo?: string;
  /** Extra raw fields merged into the message. */
  extra?: Json;
}

export interface SentInteraction {
  id: string;
  token: string;
  applicationId: string;
  /** The raw INTERACTION_CREATE payload that was dispatched. */
  payload: APIInteraction;
  /** Resolves with the recorded `POST /interactions/:id/:token/callback`. */
  waitForCallback(timeoutMs?: number): Promise<RecordedRequest>;
  /** Resolves with the first recorded `PATCH /webhooks/:app/:token/messages/@original`. */
  waitForEditOriginal(timeoutMs?: number): Promise<RecordedRequest>;
  /** Resolves with the first recorded follow-up `POST /webhooks/:app/:token`. */
  waitForFollowUp(timeoutMs?: number): Promise<RecordedRequest>;
}

export interface InteractionState {
  id: string;
  token: string;
  type: number;
  commandType: number | null;
  guildId: string | null;
  channelId: string;
  userId: string;
  createdAt: number;
  /** Source message of component / modal interactions. */
  sourceMessageId: string | null;
  acknowledged: boolean;
  /** Interaction callback type used (4, 5, 6, 7, 8, 9, ...). */
  responseType: number | null;
  ephemeral: boolean;
  /** Current state of the original response message (null until there is one). */
  original: APIMessage | null;
  followUpIds: string[];
  /** Modal shown with callback type 9. */
  modal: Json | null;
  /** Choices sent with callback type 8. */
  autocompleteChoices: Json[] | null;
}

// ---------------------------------------------------------------------------------------------
// Constants / small utilities
// ---------------------------------------------------------------------------------------------

const DISCORD_EPOCH = 1420070400000n;
let lastSnowflakeMs = 0n;
let snowflakeIncrement = 0n;

/** Real-looking, strictly increasing snowflakes (so createdTimestamp etc. are sane). */
export function snowflake(): string {
  let now = BigInt(Date.now());
  if (now <= lastSnowflakeMs) {
    now = lastSnowflakeMs;
    snowflakeIncrement += 1n;
    if (snowflakeIncrement > 0xfffn) {
      now += 1n;
      snowflakeIncrement = 0n;
    }
  } else {
    snowflakeIncrement = 0n;
  }
  lastSnowflakeMs = now;
  return (((now - DISCORD_EPOCH) << 22n) | (1n << 17n) | snowflakeIncrement).toString();
}

const P = {
  CreateInstantInvite: 1n << 0n,
  Administrator: 1n << 3n,
  AddReactions: 1n << 6n,
  ViewChannel: 1n << 10n,
  SendMessages: 1n << 11n,
  ManageMessages: 1n << 13n,
  EmbedLinks: 1n << 14n,
  AttachFiles: 1n << 15n,
  ReadMessageHistory: 1n << 16n,
  MentionEveryone: 1n << 17n,
  UseExternalEmojis: 1n << 18n,
  ChangeNickname: 1n << 26n,
  UseApplicationCommands: 1n << 31n,
  ManageThreads: 1n << 34n,
  CreatePublicThreads: 1n << 35n,
  CreatePrivateThreads: 1n << 36n,
  SendMessagesInThreads: 1n << 38n,
} as const;
const ALL_PERMISSIONS = (1n << 53n) - 1n;

const DEFAULT_EVERYONE_PERMISSIONS =
  P.CreateInstantInvite |
  P.AddReactions |
  P.ViewChannel |
  P.SendMessages |
  P.EmbedLinks |
  P.AttachFiles |
  P.ReadMessageHistory |
  P.UseExternalEmojis |
  P.ChangeNickname |
  P.UseApplicationCommands |
  P.CreatePublicThreads |
  P.CreatePrivateThreads |
  P.SendMessagesInThreads;

const DEFAULT_BOT_PERMISSIONS = DEFAULT_EVERYONE_PERMISSIONS | P.ManageMessages | P.ManageThreads;

/** What the bot may do in a DM channel (app_permissions of DM interactions). */
const DM_PERMISSIONS =
  P.AddReactions |
  P.ViewChannel |
  P.SendMessages |
  P.EmbedLinks |
  P.AttachFiles |
  P.ReadMessageHistory |
  P.UseExternalEmojis |
  P.UseApplicationCommands;

const Intents = {
  Guilds: 1 << 0,
  GuildMembers: 1 << 1,
  GuildMessages: 1 << 9,
  GuildMessageReactions: 1 << 10,
  GuildMessageTyping: 1 << 11,
  DirectMessages: 1 << 12,
  MessageContent: 1 << 15,
} as const;

/** Discord JSON error (what @discordjs/rest turns into DiscordAPIError). */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly errors?: Json,
  ) {
    super(message);
  }
  toJSON(): Json {
    return { message: this.message, code: this.code, ...(this.errors ? { errors: this.errors } : {}) };
  }
}

const unknown = (what: string, code: number) => new ApiError(404, code, `Unknown ${what}`);

function formError(field: string, code: string, message: string): ApiError {
  // Discord nests field errors: { errors: { content: { _errors: [...] } } } / embeds.0.description
  const errors: Json = {};
  let cursor = errors;
  const parts = field.split('.');
  parts.forEach((part, i) => {
    cursor[part] = i === parts.length - 1 ? { _errors: [{ code, message }] } : {};
    cursor = cursor[part];
  });
  return new ApiError(400, 50035, 'Invalid Form Body', errors);
}

const clone = <T>(v: T): T => structuredClone(v);

function toBigInt(v: bigint | string | number): bigint {
  return typeof v === 'bigint' ? v : BigInt(v);
}

function makeToken(botId: string): string {
  // discord.js censors tokens as `${id}.${iat}.${hmac}`: it needs three dot-separated parts.
  const id = Buffer.from(botId).toString('base64url');
  const iat = Buffer.from(String(Math.floor(Date.now() / 1000))).toString('base64url');
  return `${id}.${iat}.${randomBytes(20).toString('base64url')}`;
}

interface Waiter<T> {
  predicate: (x: T) => boolean;
  resolve: (x: T) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

interface GatewayConnection {
  id: number;
  ws: WebSocket;
  query: URLSearchParams;
  compress: 'zlib-stream' | null;
  identifyCompress: boolean;
  deflate: zlib.Deflate | null;
  queue: Promise<void>;
  session: Session | null;
}

interface Session {
  id: string;
  seq: number;
  intents: number;
  shard: [number, number];
  conn: GatewayConnection | null;
  /** Sent dispatches (for RESUME replay). */
  buffer: Json[];
  invalid: boolean;
}

interface GuildState {
  guild: Json;
  /** roleId -> role; the @everyone role has the guild's id. */
  roles: Map<string, Json>;
  /** userId -> member (with `user`). */
  members: Map<string, Json>;
  /** The guild's default text channel. */
  channelId: string;
  botRoleId: string;
}

/** Shard of a guild for `shards` shards, like Discord: `(guildId >> 22) % shards`. */
export function shardOf(guildId: string, shards: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(shards));
}

/** A fresh snowflake that falls on shard `shard` of `shards` (its timestamp moves by < `shards` ms). */
export function snowflakeOnShard(shard: number, shards: number): string {
  const id = BigInt(snowflake());
  const ms = id >> 22n;
  const delta = (BigInt(shard) - (ms % BigInt(shards)) + BigInt(shards)) % BigInt(shards);
  return (((ms + delta) << 22n) | (id & 0x3fffffn)).toString();
}

interface RouteContext {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: Json | null;
  files: RecordedFile[];
}

interface RouteResult {
  status: number;
  body?: unknown;
  raw?: { data: Buffer; contentType: string };
  /** Runs after the response was written (gateway dispatches that follow a REST call). */
  after?: () => void;
}

type RouteHandler = (ctx: RouteContext) => RouteResult | Promise<RouteResult>;

interface Route {
  methods: string[];
  pattern: RegExp;
  auth: boolean;
  handler: RouteHandler;
}

interface StoredAttachment {
  data: Buffer;
  contentType: string;
  attachment: APIAttachment;
}

// ---------------------------------------------------------------------------------------------
// FakeDiscord
// ---------------------------------------------------------------------------------------------

export class FakeDiscord {
  readonly port: number;
  /** `http://127.0.0.1:PORT` */
  readonly baseUrl: string;
  /** Pass as `rest: { api: fake.apiUrl }` (discord.js appends `/v10`). */
  readonly apiUrl: string;
  /** `ws://127.0.0.1:PORT` (returned by GET /gateway/bot). */
  readonly gatewayUrl: string;
  /** Bot token accepted by REST (`Authorization: Bot <token>`) and IDENTIFY. */
  readonly token: string;
  readonly botUser: APIUser;
  readonly applicationId: string;
  /** The default guild (what every helper uses unless told `guildId`). */
  readonly guildId: string;
  /** The default guild's default text channel. */
  readonly channelId: string;
  /** Default (non-owner) human member used by the send* helpers (a member of every guild). */
  readonly userId: string;
  /** Owner of the default guild (another human member), and of extra guilds unless they name one. */
  readonly ownerId: string;

  /** Every HTTP request, in arrival order. */
  readonly requests: RecordedRequest[] = [];
  /** Every gateway payload received from clients. */
  readonly gatewayPayloads: ReceivedGatewayPayload[] = [];
  /** Request URL (path + query) of every gateway connection, e.g. `/?v=10&encoding=json`. */
  readonly gatewayConnectionUrls: string[] = [];

  private readonly server: http.Server;
  private readonly wss: WebSocketServer;
  private readonly opts: Required<Omit<FakeDiscordOptions, 'log' | 'guilds'>> & Pick<FakeDiscordOptions, 'log'>;
  private readonly routes: Route[] = [];
  private readonly connections = new Set<GatewayConnection>();
  private readonly sessions = new Map<string, Session>();
  private connectionCounter = 0;
  private closed = false;

  private readonly users = new Map<string, Json>();
  /** guildId -> state, the default guild first (insertion ordered). */
  private readonly guildStates = new Map<string, GuildState>();
  /** Guilds the bot was removed from (REST answers 403 Missing Access for them and their channels). */
  private readonly removedGuildIds = new Set<string>();
  /** userId -> DM channel id with the bot. */
  private readonly dmChannels = new Map<string, string>();
  /** Every channel and thread of every guild, plus DM channels (ids are global, like Discord). */
  private readonly channels = new Map<string, Json>();
  /** channelId -> (messageId -> message), insertion ordered (oldest first). */
  private readonly messages = new Map<string, Map<string, Json>>();
  private readonly interactions = new Map<string, InteractionState & { message: Json | null }>();
  private readonly attachmentsStore = new Map<string, StoredAttachment>();
  private readonly followUps = new Map<string, Json>();
  private readonly globalCommands = new Map<string, Json>();
  private readonly guildCommands = new Map<string, Map<string, Json>>();
  private readonly commandIdsByName = new Map<string, string>();

  private readonly requestWaiters = new Set<Waiter<RecordedRequest>>();
  private readonly gatewayWaiters = new Set<Waiter<ReceivedGatewayPayload>>();

  private constructor(server: http.Server, wss: WebSocketServer, port: number, options: FakeDiscordOptions) {
    this.server = server;
    this.wss = wss;
    this.port = port;
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.apiUrl = `${this.baseUrl}/api`;
    this.gatewayUrl = `ws://127.0.0.1:${port}`;

    const botUserId = options.botUserId ?? snowflake();
    this.opts = {
      botUserId,
      botUsername: options.botUsername ?? 'ArticleBot',
      applicationId: options.applicationId ?? botUserId,
      guildId: options.guildId ?? snowflake(),
      guildName: options.guildName ?? 'Fake Guild',
      channelId: options.channelId ?? snowflake(),
      channelName: options.channelName ?? 'general',
      userId: options.userId ?? snowflake(),
      username: options.username ?? 'alice',
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? 41_250,
      enforceIntents: options.enforceIntents ?? true,
      botPermissions: options.botPermissions ?? DEFAULT_BOT_PERMISSIONS,
      everyonePermissions: options.everyonePermissions ?? DEFAULT_EVERYONE_PERMISSIONS,
      interactionResponseWindowMs: options.interactionResponseWindowMs ?? 3_000,
      interactionTokenTtlMs: options.interactionTokenTtlMs ?? 15 * 60_000,
      shards: Math.max(1, Math.floor(options.shards ?? 1)),
      log: options.log,
    };
    this.token = makeToken(botUserId);
    this.applicationId = this.opts.applicationId;
    this.guildId = this.opts.guildId;
    this.channelId = this.opts.channelId;
    this.userId = this.opts.userId;
    this.ownerId = snowflake();

    // --- users
    const bot: Json = {
      id: botUserId,
      username: this.opts.botUsername,
      discriminator: '0',
      global_name: null,
      avatar: null,
      bot: true,
      system: false,
      mfa_enabled: false,
      verified: true,
      email: null,
      flags: 0,
      public_flags: 0,
      banner: null,
      accent_color: null,
    };
    this.users.set(bot.id, bot);
    this.botUser = clone(bot) as APIUser;
    this.ensureUser(this.userId, this.opts.username);
    this.ensureUser(this.ownerId, 'owner');

    // --- guilds (each with its @everyone role, the bot's managed role, members and a text channel)
    this.createGuildState({
      id: this.guildId,
      name: this.opts.guildName,
      ownerId: this.ownerId,
      everyonePermissions: this.opts.everyonePermissions,
      channelId: this.channelId,
      channelName: this.opts.channelName,
    });
    for (const g of options.guilds ?? []) this.createGuildState(g);

    this.registerRoutes();
  }

  // ------------------------------------------------------------------------------------------
  // Lifecycle
  // ------------------------------------------------------------------------------------------

  static async start(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
    const server = http.createServer();
    const wss = new WebSocketServer({ noServer: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    const fake = new FakeDiscord(server, wss, port, options);
    server.on('request', (req, res) => void fake.onHttp(req, res));
    server.on('upgrade', (req, socket, head) => {
      if (fake.closed) {
        socket.destroy();
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => fake.onGatewayConnection(ws, req));
    });
    return fake;
  }

  /** Closes every gateway socket and HTTP connection, then the server. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.requestWaiters) {
      clearTimeout(w.timer);
      w.reject(new Error('FakeDiscord closed while waiting for a request'));
    }
    this.requestWaiters.clear();
    for (const w of this.gatewayWaiters) {
      clearTimeout(w.timer);
      w.reject(new Error('FakeDiscord closed while waiting for a gateway payload'));
    }
    this.gatewayWaiters.clear();
    for (const conn of this.connections) {
      conn.deflate?.close();
      conn.ws.terminate();
    }
    this.connections.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ------------------------------------------------------------------------------------------
  // State accessors
  // ------------------------------------------------------------------------------------------

  /** Messages the fake knows in a channel/thread, oldest first. */
  channelMessages(channelId: string = this.channelId): APIMessage[] {
    return [...(this.messages.get(channelId)?.values() ?? [])].map((m) => clone(m) as APIMessage);
  }

  getMessage(channelId: string, messageId: string): APIMessage | undefined {
    const m = this.messages.get(channelId)?.get(messageId);
    return m ? (clone(m) as APIMessage) : undefined;
  }

  getChannel(channelId: string): APIChannel | undefined {
    const c = this.channels.get(channelId);
    return c ? (clone(c) as APIChannel) : undefined;
  }

  /** Registered application commands (global when guildId is omitted). */
  commands(guildId?: string): APIApplicationCommand[] {
    const map = guildId ? this.guildCommands.get(guildId) : this.globalCommands;
    return [...(map?.values() ?? [])].map((c) => clone(c) as APIApplicationCommand);
  }

  /** What the bot did with an interaction (by token). */
  interaction(token: string): InteractionState | undefined {
    const st = this.interactions.get(token);
    if (!st) return undefined;
    const { message: _message, ...rest } = st;
    return clone(rest);
  }

  // ------------------------------------------------------------------------------------------
  // Guilds
  // ------------------------------------------------------------------------------------------

  /** Ids of the guilds the bot is in, the default guild (`fake.guildId`) first. */
  get guildIds(): string[] {
    return [...this.guildStates.keys()];
  }

  /** The default text channel of a guild (default: the default guild). */
  guildChannelId(guildId: string = this.guildId): string {
    return this.guildState(guildId).channelId;
  }

  /**
   * The bot joins another guild (with its @everyone role, the bot's managed role, the default user
   * and the owner as members, and a default text channel). When clients are connected, GUILD_CREATE
   * is dispatched (on the guild's shard), so discord.js emits `guildCreate`.
   */
  async addGuild(opts: GuildOptions = {}): Promise<{ id: string; channelId: string }> {
    const state = this.createGuildState(opts);
    const id = state.guild.id as string;
    if (this.liveSessionsFor(id).length) await this.dispatchInternal('GUILD_CREATE', this.guildCreatePayload(state));
    return { id, channelId: state.channelId };
  }

  /**
   * The bot is removed (kicked/banned/left) from a guild: GUILD_DELETE `{ id }` without `unavailable`
   * (discord.js emits `guildDelete`). Afterwards REST answers 403 Missing Access for the guild and its
   * channels, and the send* helpers refuse it. Works for the default guild too.
   */
  async removeGuild(guildId: string): Promise<void> {
    this.guildState(guildId);
    this.guildStates.delete(guildId);
    this.removedGuildIds.add(guildId);
    await this.dispatchInternal('GUILD_DELETE', { id: guildId });
  }

  /** The bot's DM channel with a user (created on first use, type 1). */
  dmChannelId(userId: string = this.userId): string {
    let id = this.dmChannels.get(userId);
    if (!id) {
      id = snowflake();
      this.channels.set(id, {
        id,
        type: 1,
        last_message_id: null,
        flags: 0,
        recipients: [clone(this.ensureUser(userId))],
      });
      this.dmChannels.set(userId, id);
    }
    return id;
  }

  /** Identified gateway sessions that are currently connected. */
  get connectedSessions(): number {
    return [...this.sessions.values()].filter((s) => !s.invalid && s.conn && s.conn.ws.readyState === WebSocket.OPEN)
      .length;
  }

  /**
   * Server-side close of every gateway connection with `code` (default 4000 "unknown error", which
   * makes discord.js RESUME). Sessions stay resumable unless the code is 1000/1001.
   */
  disconnectClients(code = 4000, reason = 'Fake disconnect'): void {
    for (const conn of this.connections) conn.ws.close(code, reason);
  }

  // ------------------------------------------------------------------------------------------
  // Waiting / querying
  // ------------------------------------------------------------------------------------------

  /**
   * First recorded request matching `predicate` — already recorded or future.
   * Rejects after `timeoutMs` with the list of recorded requests.
   */
  waitForRequest(
    predicate: (r: RecordedRequest) => boolean,
    timeoutMs = 5000,
    options: { fromIndex?: number } = {},
  ): Promise<RecordedRequest> {
    const from = options.fromIndex ?? 0;
    const match = (r: RecordedRequest) => r.index >= from && predicate(r);
    const existing = this.requests.find(match);
    if (existing) return Promise.resolve(existing);
    if (this.closed) return Promise.reject(new Error('FakeDiscord is closed'));
    return new Promise<RecordedRequest>((resolve, reject) => {
      const waiter: Waiter<RecordedRequest> = {
        predicate: match,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.requestWaiters.delete(waiter);
          reject(
            new Error(
              `FakeDiscord.waitForRequest timed out after ${timeoutMs}ms (predicate: ${predicate.toString()}).\n` +
                this.describeRequests(),
            ),
          );
        }, timeoutMs),
      };
      this.requestWaiters.add(waiter);
    });
  }

  /** Recorded requests with this method ('*' = any) whose decoded path matches (string = exact). */
  requestsMatching(method: string, path: RegExp | string): RecordedRequest[] {
    const m = method.toUpperCase();
    return this.requests.filter(
      (r) => (m === '*' || r.method === m) && (typeof path === 'string' ? r.path === path : path.test(r.path)),
    );
  }

  /** First gateway payload received from a client that matches (already received or future). */
  waitForGatewayPayload(
    predicate: (p: ReceivedGatewayPayload) => boolean,
    timeoutMs = 5000,
  ): Promise<ReceivedGatewayPayload> {
    const existing = this.gatewayPayloads.find(predicate);
    if (existing) return Promise.resolve(existing);
    if (this.closed) return Promise.reject(new Error('FakeDiscord is closed'));
    return new Promise<ReceivedGatewayPayload>((resolve, reject) => {
      const waiter: Waiter<ReceivedGatewayPayload> = {
        predicate,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.gatewayWaiters.delete(waiter);
          reject(
            new Error(
              `FakeDiscord.waitForGatewayPayload timed out after ${timeoutMs}ms. Received ops: ` +
                JSON.stringify(this.gatewayPayloads.map((p) => p.op)),
            ),
          );
        }, timeoutMs),
      };
      this.gatewayWaiters.add(waiter);
    });
  }

  describeRequests(): string {
    const lines = this.requests.map((r) => {
      const q = Object.keys(r.query).length ? `?${new URLSearchParams(r.query).toString()}` : '';
      return `  #${r.index} ${r.method} ${r.path}${q} -> ${r.status}`;
    });
    return `Recorded requests (${this.requests.length}):\n${lines.join('\n') || '  (none)'}`;
  }

  // ------------------------------------------------------------------------------------------
  // Gateway helpers for tests
  // ------------------------------------------------------------------------------------------

  /**
   * Sends a dispatch (op 0) to every identified session (respecting intents when enabled) whose
   * shard covers the event's guild (`guild_id`, or `id` for GUILD_CREATE/UPDATE/DELETE; else shard 0).
   * Resolves with the number of sessions it was written to; rejects when no such client is identified.
   */
  async dispatch(event: string, data: unknown): Promise<number> {
    const guildId = this.eventGuildId(event, data as Json);
    if (this.liveSessionsFor(guildId).length === 0) {
      const any = [...this.sessions.values()].some((s) => !s.invalid && s.conn);
      throw new Error(
        `FakeDiscord.dispatch(${event}): no identified gateway session` +
          (any ? ` on the shard of guild ${guildId ?? '(none: shard 0)'}` : ' — did the client login?'),
      );
    }
    return this.dispatchInternal(event, data as Json);
  }

  async sendSlashCommand(opts: SlashCommandOptions): Promise<SentInteraction> {
    const { guildId } = this.interactionTarget(opts);
    const { options, resolved } = this.resolveOptions(opts.options ?? [], guildId, opts.userId ?? this.userId);
    return this.sendInteraction(2, opts, {
      id: this.commandIdFor(opts.name, guildId),
      name: opts.name,
      type: 1,
      ...(guildId ? { guild_id: guildId } : {}),
      ...(options.length ? { options } : {}),
      ...(resolved ? { resolved } : {}),
    });
  }

  /** Autocomplete (type 4). Mark the focused option with `focused: true` (default: the last leaf option). */
  async sendAutocomplete(opts: SlashCommandOptions): Promise<SentInteraction> {
    const { guildId } = this.interactionTarget(opts);
    const { options } = this.resolveOptions(opts.options ?? [], guildId, opts.userId ?? this.userId);
    const leaves: Json[] = [];
    const walk = (list: Json[]) =>
      list.forEach((o) => (o.type === 1 || o.type === 2 ? walk(o.options ?? []) : leaves.push(o)));
    walk(options);
    if (leaves.length && !leaves.some((o) => o.focused)) leaves[leaves.length - 1]!.focused = true;
    return this.sendInteraction(4, opts, {
      id: this.commandIdFor(opts.name, guildId),
      name: opts.name,
      type: 1,
      ...(guildId ? { guild_id: guildId } : {}),
      options,
    });
  }

  async sendButton(opts: ButtonOptions): Promise<SentInteraction & { messageId: string }> {
    const { channelId } = this.interactionTarget(opts);
    const message = this.componentSourceMessage(channelId, opts.messageId, opts.customId, opts.componentType ?? 2);
    const sent = await this.sendInteraction(
      3,
      opts,
      { custom_id: opts.customId, component_type: opts.componentType ?? 2 },
      message,
    );
    return { ...sent, messageId: message.id };
  }

  async sendSelectMenu(opts: SelectMenuOptions): Promise<SentInteraction & { messageId: string }> {
    const { channelId } = this.interactionTarget(opts);
    const componentType = opts.componentType ?? 3;
    const message = this.componentSourceMessage(channelId, opts.messageId, opts.customId, componentType);
    const sent = await this.sendInteraction(
      3,
      opts,
      { custom_id: opts.customId, component_type: componentType, values: opts.values },
      message,
    );
    return { ...sent, messageId: message.id };
  }

  async sendMessageContextMenu(opts: MessageContextMenuOptions): Promise<SentInteraction> {
    const { guildId, channelId } = this.interactionTarget(opts);
    let target: Json | undefined;
    if (typeof opts.targetMessage === 'string') {
      target = this.findMessage(opts.targetMessage);
      if (!target) throw new Error(`sendMessageContextMenu: unknown message ${opts.targetMessage}`);
    } else if ('id' in opts.targetMessage) {
      target = this.findMessage(opts.targetMessage.id) ?? (opts.targetMessage as Json);
    } else {
      const authorId = opts.targetMessage.authorId ?? this.userId;
      target = this.storeMessage(
        this.buildMessage(channelId, this.ensureUser(authorId), { content: opts.targetMessage.content }),
      );
    }
    const wire = this.gatewayMessage(target);
    return this.sendInteraction(2, { ...opts, channelId }, {
      id: this.commandIdFor(opts.name, guildId),
      name: opts.name,
      type: 3,
      ...(guildId ? { guild_id: guildId } : {}),
      target_id: target.id,
      resolved: { messages: { [target.id]: wire } },
    });
  }

  async sendModalSubmit(opts: ModalSubmitOptions): Promise<SentInteraction> {
    const message = opts.messageId ? this.findMessage(opts.messageId) : undefined;
    return this.sendInteraction(
      5,
      opts,
      {
        custom_id: opts.customId,
        components: Object.entries(opts.fields).map(([customId, value]) => ({
          type: 1,
          components: [{ type: 4, custom_id: customId, value }],
        })),
      },
      message,
    );
  }

  /**
   * A user (default `fake.userId`) posts a message: MESSAGE_CREATE + channel history. In the default
   * guild's default channel unless `guildId`/`channelId`/`threadOf`/`dm` say otherwise.
   */
  async sendMessage(opts: SendMessageOptions): Promise<APIMessage> {
    const author = this.ensureUser(opts.authorId ?? this.userId);
    let channelId: string;
    if (opts.dm) {
      channelId = opts.channelId ?? this.dmChannelId(author.id);
    } else if (opts.channelId) {
      channelId = opts.channelId;
    } else {
      channelId = this.guildState(opts.guildId ?? this.guildId).channelId;
    }
    if (opts.threadOf) {
      const existing = this.channels.get(opts.threadOf);
      if (existing) {
        channelId = existing.id;
      } else {
        const starter = this.findMessage(opts.threadOf);
        if (!starter) throw new Error(`sendMessage: threadOf unknown message ${opts.threadOf}`);
        const thread = await this.createThread({
          name: (starter.content as string).slice(0, 90) || 'thread',
          parentId: starter.channel_id,
          fromMessageId: starter.id,
          ownerId: author.id,
        });
        channelId = thread.id;
      }
    }
    const channel = this.channels.get(channelId);
    if (!channel) throw new Error(`sendMessage: unknown channel ${channelId}`);
    const guildId: string | null = channel.guild_id ?? null;
    if (guildId) this.ensureMember(this.guildState(guildId), author.id);

    let content = opts.content;
    const mentions: Json[] = [];
    if (opts.mentionsBot) {
      if (!new RegExp(`<@!?${this.botUser.id}>`).test(content)) content = `<@${this.botUser.id}> ${content}`;
    }
    for (const m of content.matchAll(/<@!?(\d+)>/g)) {
      const u = this.users.get(m[1]!);
      if (u && !mentions.some((x) => x.id === u.id)) mentions.push(this.userWithMember(u, guildId));
    }
    const message = this.buildMessage(channelId, author, {
      content,
      mentions,
      attachments: opts.attachments ?? [],
      ...(opts.replyTo ? this.replyFields(channelId, opts.replyTo) : {}),
      ...(opts.extra ?? {}),
    });
    this.storeMessage(message);
    await this.dispatchInternal('MESSAGE_CREATE', this.gatewayMessage(message));
    return this.gatewayMessage(message) as APIMessage;
  }

  /**
   * A (public) thread created by a user; dispatches THREAD_CREATE. The parent defaults to the default
   * channel of `guildId` (default: the default guild).
   */
  async createThread(opts: {
    name: string;
    parentId?: string;
    guildId?: string;
    fromMessageId?: string;
    ownerId?: string;
    type?: 11 | 12;
  }): Promise<APIThreadChannel> {
    const thread = this.createThreadState(
      opts.parentId ?? this.guildState(opts.guildId ?? this.guildId).channelId,
      opts.name,
      opts.ownerId ?? this.userId,
      opts.fromMessageId,
      opts.type ?? 11,
    );
    await this.dispatchInternal('THREAD_CREATE', { ...clone(thread), newly_created: true });
    return clone(thread) as APIThreadChannel;
  }

  /** Another text channel in `guildId` (default: the default guild); dispatches CHANNEL_CREATE. */
  async createTextChannel(opts: { name: string; guildId?: string }): Promise<APITextChannel> {
    const state = this.guildState(opts.guildId ?? this.guildId);
    const position = [...this.channels.values()].filter((c) => c.guild_id === state.guild.id).length;
    const channel = this.makeTextChannel(state.guild.id, snowflake(), opts.name, position);
    this.channels.set(channel.id, channel);
    await this.dispatchInternal('CHANNEL_CREATE', clone(channel));
    return clone(channel) as APITextChannel;
  }

  /**
   * A role in `guildId` (default: the default guild); dispatches GUILD_ROLE_CREATE. Pass its id in
   * `roles` of the interaction helpers (with the same `guildId`).
   */
  async createRole(opts: { name: string; permissions?: bigint; guildId?: string }): Promise<APIRole> {
    const state = this.guildState(opts.guildId ?? this.guildId);
    const role = this.makeRole(snowflake(), opts.name, opts.permissions ?? 0n, state.roles.size);
    state.roles.set(role.id, role);
    await this.dispatchInternal('GUILD_ROLE_CREATE', { guild_id: state.guild.id, role: clone(role) });
    return clone(role) as APIRole;
  }

  /** An attachment served by the fake at `attachment.url` (for messages and attachment options). */
  createAttachment(opts: { filename: string; data: string | Buffer; contentType?: string }): APIAttachment {
    const id = snowflake();
    const data = typeof opts.data === 'string' ? Buffer.from(opts.data) : opts.data;
    const contentType = opts.contentType ?? guessContentType(opts.filename);
    const url = `${this.baseUrl}/attachments/${this.channelId}/${id}/${encodeURIComponent(opts.filename)}`;
    const attachment: APIAttachment = {
      id,
      filename: opts.filename,
      size: data.length,
      url,
      proxy_url: url,
      content_type: contentType,
    };
    this.attachmentsStore.set(id, { data, contentType, attachment });
    return clone(attachment);
  }

  // ------------------------------------------------------------------------------------------
  // Builders
  // ------------------------------------------------------------------------------------------

  private ensureUser(id: string, username?: string): Json {
    let u = this.users.get(id);
    if (!u) {
      u = {
        id,
        username: username ?? `user${id.slice(-4)}`,
        discriminator: '0',
        global_name: username ?? null,
        avatar: null,
        bot: false,
        public_flags: 0,
        flags: 0,
        banner: null,
        accent_color: null,
        avatar_decoration_data: null,
      };
      this.users.set(id, u);
    }
    return u;
  }

  private ensureMember(state: GuildState, userId: string, roles: string[] = []): Json {
    let m = state.members.get(userId);
    if (!m) {
      m = {
        user: this.ensureUser(userId),
        nick: null,
        avatar: null,
        banner: null,
        roles,
        joined_at: new Date().toISOString(),
        premium_since: null,
        deaf: false,
        mute: false,
        flags: 0,
        pending: false,
        communication_disabled_until: null,
      };
      state.members.set(userId, m);
    }
    return m;
  }

  /** The state of a known guild; throws (for test helpers) when the bot is not in it. */
  private guildState(guildId: string): GuildState {
    const state = this.guildStates.get(guildId);
    if (!state) {
      throw new Error(
        `FakeDiscord: ${this.removedGuildIds.has(guildId) ? 'the bot was removed from' : 'unknown'} guild ${guildId} ` +
          `(known: ${this.guildIds.join(', ') || 'none'})`,
      );
    }
    return state;
  }

  /** REST view of a guild: 404 Unknown Guild, or 403 Missing Access after `removeGuild`. */
  private guildStateOrError(guildId: string): GuildState {
    const state = this.guildStates.get(guildId);
    if (state) return state;
    if (this.removedGuildIds.has(guildId)) throw new ApiError(403, 50001, 'Missing Access');
    throw unknown('Guild', 10004);
  }

  private createGuildState(g: GuildOptions): GuildState {
    const id = g.id ?? (g.shard !== undefined ? snowflakeOnShard(g.shard, this.opts.shards) : snowflake());
    if (this.guildStates.has(id)) throw new Error(`FakeDiscord: guild ${id} already exists`);
    this.removedGuildIds.delete(id);
    const ownerId = g.ownerId ?? this.ownerId;
    this.ensureUser(ownerId);
    const channelId = g.channelId ?? snowflake();
    if (this.channels.has(channelId)) throw new Error(`FakeDiscord: channel ${channelId} already exists`);
    const botRoleId = snowflake();
    const guild: Json = {
      id,
      name: g.name ?? (id === this.guildId ? 'Fake Guild' : `Fake Guild ${id.slice(-4)}`),
      icon: null,
      splash: null,
      discovery_splash: null,
      owner_id: ownerId,
      afk_channel_id: null,
      afk_timeout: 300,
      widget_enabled: false,
      verification_level: 0,
      default_message_notifications: 1,
      explicit_content_filter: 0,
      features: [],
      mfa_level: 0,
      application_id: null,
      system_channel_id: channelId,
      system_channel_flags: 0,
      rules_channel_id: null,
      max_members: 500000,
      vanity_url_code: null,
      description: null,
      banner: null,
      premium_tier: 0,
      premium_subscription_count: 0,
      preferred_locale: 'en-US',
      public_updates_channel_id: null,
      nsfw_level: 0,
      premium_progress_bar_enabled: false,
      safety_alerts_channel_id: null,
      joined_at: new Date().toISOString(),
    };
    const state: GuildState = { guild, roles: new Map(), members: new Map(), channelId, botRoleId };
    state.roles.set(id, this.makeRole(id, '@everyone', g.everyonePermissions ?? this.opts.everyonePermissions, 0));
    state.roles.set(
      botRoleId,
      this.makeRole(botRoleId, this.opts.botUsername, g.botPermissions ?? this.opts.botPermissions, 1, {
        managed: true,
        tags: { bot_id: this.botUser.id },
      }),
    );
    this.ensureMember(state, this.botUser.id, [botRoleId]);
    this.ensureMember(state, this.userId);
    this.ensureMember(state, ownerId);
    this.channels.set(channelId, this.makeTextChannel(id, channelId, g.channelName ?? 'general', 0));
    this.guildStates.set(id, state);
    return state;
  }

  /**
   * Guild and channel of an interaction: `dm` -> the user's DM channel; else `channelId` (or the
   * source message's channel) and its guild; else `guildId` (default: the default guild) and its
   * default channel. A DM channel means no guild.
   */
  private interactionTarget(
    opts: InteractionBaseOptions,
    sourceChannelId?: string,
  ): { guildId: string | null; channelId: string } {
    if (opts.dm) return { guildId: null, channelId: opts.channelId ?? this.dmChannelId(opts.userId ?? this.userId) };
    const channelId = opts.channelId ?? sourceChannelId ?? this.guildState(opts.guildId ?? this.guildId).channelId;
    const channel = this.channels.get(channelId);
    if (!channel) throw new Error(`FakeDiscord: unknown channel ${channelId}`);
    if (channel.type === 1) return { guildId: null, channelId };
    const guildId = opts.guildId ?? (channel.guild_id as string | undefined) ?? this.guildId;
    if (channel.guild_id && channel.guild_id !== guildId) {
      throw new Error(`FakeDiscord: channel ${channelId} belongs to guild ${channel.guild_id as string}, not ${guildId}`);
    }
    this.guildState(guildId);
    return { guildId, channelId };
  }

  private userWithMember(user: Json, guildId: string | null): Json {
    const m = guildId ? this.guildStates.get(guildId)?.members.get(user.id) : undefined;
    if (!m) return clone(user);
    const { user: _u, ...member } = m;
    return { ...clone(user), member: clone(member) };
  }

  private makeRole(id: string, name: string, permissions: bigint, position: number, extra: Json = {}): Json {
    return {
      id,
      name,
      color: 0,
      colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
      hoist: false,
      icon: null,
      unicode_emoji: null,
      position,
      permissions: permissions.toString(),
      managed: false,
      mentionable: false,
      flags: 0,
      ...extra,
    };
  }

  private makeTextChannel(guildId: string, id: string, name: string, position: number): Json {
    return {
      id,
      type: 0,
      guild_id: guildId,
      name,
      position,
      permission_overwrites: [],
      rate_limit_per_user: 0,
      nsfw: false,
      topic: null,
      last_message_id: null,
      parent_id: null,
      default_auto_archive_duration: 1440,
      default_thread_rate_limit_per_user: 0,
      flags: 0,
    };
  }

  /** Guild-level permissions of a member: @everyone | their roles; owner / Administrator = all. */
  private permissionsOf(state: GuildState, userId: string, roleIds?: string[]): bigint {
    if (userId === state.guild.owner_id) return ALL_PERMISSIONS;
    const roles = roleIds ?? state.members.get(userId)?.roles ?? [];
    let perms = BigInt(state.roles.get(state.guild.id)!.permissions);
    for (const r of roles) {
      const role = state.roles.get(r);
      if (role) perms |= BigInt(role.permissions);
    }
    return perms & P.Administrator ? ALL_PERMISSIONS : perms;
  }

  private guildCreatePayload(state: GuildState): Json {
    const members = [...state.members.values()].map(clone);
    const own = [...this.channels.values()].filter((c) => c.guild_id === state.guild.id);
    const channels = own.filter((c) => c.type !== 11 && c.type !== 12).map(clone);
    const threads = own.filter((c) => c.type === 11 || c.type === 12).map(clone);
    return {
      ...clone(state.guild),
      unavailable: false,
      large: false,
      member_count: members.length,
      roles: [...state.roles.values()].map(clone),
      emojis: [],
      stickers: [],
      members,
      channels,
      threads,
      presences: [],
      voice_states: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
      embedded_activities: [],
      application_command_counts: {},
      lazy: true,
      incidents_data: null,
    };
  }

  private buildMessage(channelId: string, author: Json, fields: Json): Json {
    return {
      id: snowflake(),
      channel_id: channelId,
      author: clone(author),
      content: '',
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: [],
      embeds: [],
      pinned: false,
      type: 0,
      flags: 0,
      components: [],
      ...fields,
    };
  }

  /** Adds guild_id/member (and thread-less message fields) like a gateway MESSAGE_CREATE. */
  private gatewayMessage(message: Json): Json {
    const out = clone(message);
    const channel = this.channels.get(message.channel_id);
    if (channel) out.channel_type = channel.type; // DMs too (discord.js needs it for partial DM channels)
    if (channel?.guild_id) {
      out.guild_id = channel.guild_id;
      const member = this.guildStates.get(channel.guild_id)?.members.get(message.author.id);
      if (member && !message.webhook_id) {
        const { user: _u, ...rest } = member;
        out.member = clone(rest);
      }
    }
    return out;
  }

  private storeMessage(message: Json): Json {
    let map = this.messages.get(message.channel_id);
    if (!map) {
      map = new Map();
      this.messages.set(message.channel_id, map);
    }
    map.set(message.id, message);
    const channel = this.channels.get(message.channel_id);
    if (channel && message.type !== 21) {
      channel.last_message_id = message.id;
      if (channel.type === 11 || channel.type === 12) {
        channel.message_count = (channel.message_count ?? 0) + 1;
        channel.total_message_sent = (channel.total_message_sent ?? 0) + 1;
      }
    }
    return message;
  }

  private findMessage(id: string, channelId?: string): Json | undefined {
    if (channelId) return this.messages.get(channelId)?.get(id);
    for (const map of this.messages.values()) {
      const m = map.get(id);
      if (m && m.type !== 21) return m;
    }
    for (const st of this.interactions.values()) {
      if (st.original?.id === id) return st.original as Json;
    }
    return undefined;
  }

  private replyFields(channelId: string, messageId: string): Json {
    const ref = this.findMessage(messageId);
    const guildId = this.channels.get(channelId)?.guild_id as string | undefined;
    return {
      type: 19,
      message_reference: {
        type: 0,
        channel_id: ref?.channel_id ?? channelId,
        ...(guildId ? { guild_id: guildId } : {}),
        message_id: messageId,
      },
      referenced_message: ref ? clone(ref) : null,
    };
  }

  private createThreadState(
    parentId: string,
    name: string,
    ownerId: string,
    fromMessageId: string | undefined,
    type: number,
  ): Json {
    const parent = this.channels.get(parentId);
    if (!parent) throw unknown('Channel', 10003);
    if (parent.type === 11 || parent.type === 12 || parent.type === 1) {
      throw new ApiError(400, 50024, 'Cannot execute action on this channel type');
    }
    let starter: Json | undefined;
    if (fromMessageId) {
      starter = this.messages.get(parentId)?.get(fromMessageId);
      if (!starter) throw unknown('Message', 10008);
      if (starter.thread || this.channels.has(fromMessageId)) {
        throw new ApiError(400, 160004, 'A thread has already been created for this message');
      }
    }
    const id = fromMessageId ?? snowflake();
    const now = new Date().toISOString();
    const thread: Json = {
      id,
      type,
      guild_id: parent.guild_id,
      parent_id: parentId,
      owner_id: ownerId,
      name: name.slice(0, 100),
      last_message_id: null,
      message_count: 0,
      total_message_sent: 0,
      member_count: 1,
      rate_limit_per_user: 0,
      flags: 0,
      applied_tags: [],
      thread_metadata: {
        archived: false,
        auto_archive_duration: parent.default_auto_archive_duration ?? 1440,
        archive_timestamp: now,
        locked: false,
        create_timestamp: now,
        ...(type === 12 ? { invitable: true } : {}),
      },
    };
    this.channels.set(id, thread);
    this.messages.set(id, new Map());
    if (starter) {
      starter.thread = clone(thread);
      starter.flags = (starter.flags ?? 0) | 32; // HAS_THREAD
      // Real Discord: the first message of a message-started thread is a THREAD_STARTER_MESSAGE (type 21)
      // whose id equals the thread id and whose referenced_message is the starter. Not sent on the gateway.
      this.storeMessage({
        ...this.buildMessage(id, starter.author, {
          type: 21,
          content: '',
          message_reference: { type: 0, channel_id: parentId, guild_id: parent.guild_id, message_id: starter.id },
          referenced_message: clone({ ...starter, thread: undefined }),
        }),
        id,
      });
    }
    return thread;
  }

  private componentSourceMessage(
    channelId: string,
    messageId: string | undefined,
    customId: string,
    componentType: number,
  ): Json {
    const known = messageId ? this.findMessage(messageId) : undefined;
    if (known) return known;
    const message = this.buildMessage(channelId, this.users.get(this.botUser.id)!, {
      ...(messageId ? { id: messageId } : {}),
      content: 'message with components',
      components: [
        {
          type: 1,
          components: [
            componentType === 2
              ? { type: 2, style: 1, custom_id: customId, label: customId }
              : { type: componentType, custom_id: customId, options: componentType === 3 ? [] : undefined },
          ],
        },
      ],
    });
    return this.storeMessage(message);
  }

  private commandIdFor(name: string, guildId: string | null): string {
    const registered =
      [...((guildId ? this.guildCommands.get(guildId)?.values() : undefined) ?? [])].find((c) => c.name === name) ??
      [...this.globalCommands.values()].find((c) => c.name === name);
    if (registered) return registered.id;
    let id = this.commandIdsByName.get(name);
    if (!id) {
      id = snowflake();
      this.commandIdsByName.set(name, id);
    }
    return id;
  }

  private resolveOptions(
    input: SlashOption[],
    guildId: string | null,
    invokerId: string,
  ): { options: Json[]; resolved: Json | null } {
    const state = guildId ? this.guildState(guildId) : null;
    const resolved: Json = {};
    const add = (kind: string, id: string, value: Json) => {
      resolved[kind] ??= {};
      resolved[kind][id] = value;
    };
    const resolveUser = (id: string) => {
      const user = this.users.get(id);
      if (!user) return false;
      add('users', id, clone(user));
      const member = state?.members.get(id);
      if (state && member) {
        const { user: _u, ...rest } = member;
        add('members', id, { ...clone(rest), permissions: this.permissionsOf(state, id).toString() });
      }
      return true;
    };
    const convert = (o: SlashOption): Json => {
      const out: Json = { type: o.type, name: o.name };
      if (o.options) out.options = o.options.map(convert);
      if (o.focused) out.focused = true;
      if (o.value === undefined) return out;
      let value = o.value;
      if (o.type === 11) {
        const att = typeof value === 'object' ? value : this.findAttachment(String(value));
        if (att) {
          add('attachments', att.id, clone(att));
          value = att.id;
        }
      } else if (o.type === 6) {
        resolveUser(String(value));
      } else if (o.type === 7) {
        const c = this.channels.get(String(value));
        if (c) {
          add('channels', c.id, {
            id: c.id,
            name: c.name,
            type: c.type,
            permissions: (state ? this.permissionsOf(state, invokerId) : DM_PERMISSIONS).toString(),
            ...(c.parent_id ? { parent_id: c.parent_id } : {}),
            ...(c.thread_metadata ? { thread_metadata: clone(c.thread_metadata) } : {}),
          });
        }
      } else if (o.type === 8 || o.type === 9) {
        const r = state?.roles.get(String(value));
        if (r) add('roles', r.id, clone(r));
        else if (o.type === 9) resolveUser(String(value));
      }
      out.value = value;
      return out;
    };
    const options = input.map(convert);
    return { options, resolved: Object.keys(resolved).length ? resolved : null };
  }

  private findAttachment(id: string): APIAttachment | undefined {
    return this.attachmentsStore.get(id)?.attachment;
  }

  private async sendInteraction(
    type: number,
    opts: InteractionBaseOptions,
    data: Json,
    sourceMessage?: Json,
  ): Promise<SentInteraction> {
    const { guildId, channelId } = this.interactionTarget(opts, sourceMessage?.channel_id);
    const channel = this.channels.get(channelId)!;
    const user = this.ensureUser(opts.userId ?? this.userId);
    const id = snowflake();
    const token = `fake-itoken.${id}.${randomBytes(24).toString('base64url')}`;
    let context: Json;
    if (guildId) {
      const state = this.guildState(guildId);
      const baseMember = this.ensureMember(state, user.id);
      if (opts.roles) baseMember.roles = [...opts.roles];
      const permissions =
        opts.memberPermissions !== undefined
          ? toBigInt(opts.memberPermissions)
          : this.permissionsOf(state, user.id, baseMember.roles);
      context = {
        guild_id: guildId,
        guild: { id: guildId, locale: state.guild.preferred_locale, features: clone(state.guild.features) },
        channel: { ...clone(channel), permissions: permissions.toString() },
        channel_id: channelId,
        member: { ...clone(baseMember), permissions: permissions.toString() },
        app_permissions: this.permissionsOf(state, this.botUser.id).toString(),
        guild_locale: state.guild.preferred_locale,
        authorizing_integration_owners: { '0': guildId },
        context: 0,
      };
    } else {
      // Bot DM: no guild, no member; `user` instead (discord.js: interaction.user, inGuild() false).
      context = {
        channel: { ...clone(channel), permissions: DM_PERMISSIONS.toString() },
        channel_id: channelId,
        user: clone(user),
        app_permissions: DM_PERMISSIONS.toString(),
        authorizing_integration_owners: { '0': '0' },
        context: 1,
      };
    }
    const payload: Json = {
      id,
      application_id: this.applicationId,
      type,
      data,
      ...context,
      token,
      version: 1,
      locale: opts.locale ?? 'en-US',
      entitlements: [],
      attachment_size_limit: 10 * 1024 * 1024,
      ...(sourceMessage ? { message: this.gatewayMessage(sourceMessage) } : {}),
    };
    this.interactions.set(token, {
      id,
      token,
      type,
      commandType: type === 2 || type === 4 ? (data.type as number) : null,
      guildId,
      channelId,
      userId: user.id,
      createdAt: Date.now(),
      sourceMessageId: sourceMessage?.id ?? null,
      acknowledged: false,
      responseType: null,
      ephemeral: false,
      original: null,
      followUpIds: [],
      modal: null,
      autocompleteChoices: null,
      message: sourceMessage ?? null,
    });
    await this.dispatch('INTERACTION_CREATE', payload);
    const webhookBase = `/webhooks/${this.applicationId}/${token}`;
    return {
      id,
      token,
      applicationId: this.applicationId,
      payload: payload as APIInteraction,
      waitForCallback: (t) =>
        this.waitForRequest((r) => r.method === 'POST' && r.path === `/interactions/${id}/${token}/callback`, t),
      waitForEditOriginal: (t) =>
        this.waitForRequest((r) => r.method === 'PATCH' && r.path === `${webhookBase}/messages/@original`, t),
      waitForFollowUp: (t) => this.waitForRequest((r) => r.method === 'POST' && r.path === webhookBase, t),
    };
  }

  // ------------------------------------------------------------------------------------------
  // Gateway
  // ------------------------------------------------------------------------------------------

  private onGatewayConnection(ws: WebSocket, req: http.IncomingMessage): void {
    const query = new URL(req.url ?? '/', this.baseUrl).searchParams;
    const compress = query.get('compress') === 'zlib-stream' ? 'zlib-stream' : null;
    const conn: GatewayConnection = {
      id: ++this.connectionCounter,
      ws,
      query,
      compress,
      identifyCompress: false,
      deflate: compress ? zlib.createDeflate({ flush: zlib.constants.Z_SYNC_FLUSH }) : null,
      queue: Promise.resolve(),
      session: null,
    };
    this.connections.add(conn);
    this.gatewayConnectionUrls.push(req.url ?? '/');
    this.opts.log?.(`[gateway #${conn.id}] connect ${req.url}`);

    ws.on('error', () => undefined);
    ws.on('close', (code) => {
      this.connections.delete(conn);
      conn.deflate?.close();
      const session = conn.session;
      if (session && session.conn === conn) {
        session.conn = null;
        // A client closing with 1000/1001 ends its session (it cannot be resumed), like Discord.
        if (code === 1000 || code === 1001) {
          session.invalid = true;
          this.sessions.delete(session.id);
        }
      }
    });

    const version = query.get('v');
    const encoding = query.get('encoding') ?? 'json';
    if (version !== null && version !== '10' && version !== '9') {
      ws.close(4012, 'Invalid API version');
      return;
    }
    if (encoding !== 'json') {
      ws.close(4002, 'Error while decoding payload (fake supports encoding=json only)');
      return;
    }

    ws.on('message', (raw, isBinary) => {
      let payload: Json;
      try {
        const text = isBinary ? Buffer.from(raw as Buffer).toString('utf8') : raw.toString();
        payload = JSON.parse(text) as Json;
      } catch {
        ws.close(4002, 'Error while decoding payload');
        return;
      }
      this.onGatewayPayload(conn, payload);
    });

    void this.sendRaw(conn, { op: 10, d: { heartbeat_interval: this.opts.heartbeatIntervalMs, _trace: ['fake'] }, s: null, t: null });
  }

  private onGatewayPayload(conn: GatewayConnection, payload: Json): void {
    const received: ReceivedGatewayPayload = { at: Date.now(), connection: conn.id, op: payload.op, d: payload.d };
    this.gatewayPayloads.push(received);
    this.opts.log?.(`[gateway #${conn.id}] <- op ${payload.op}`);
    for (const w of [...this.gatewayWaiters]) {
      if (w.predicate(received)) {
        clearTimeout(w.timer);
        this.gatewayWaiters.delete(w);
        w.resolve(received);
      }
    }

    switch (payload.op) {
      case 1: // Heartbeat
        void this.sendRaw(conn, { op: 11, d: null, s: null, t: null });
        return;
      case 2: // Identify
        this.onIdentify(conn, payload.d as Json);
        return;
      case 6: // Resume
        this.onResume(conn, payload.d as Json);
        return;
      case 3: // Presence update
      case 4: // Voice state update
        if (!conn.session) conn.ws.close(4003, 'Not authenticated');
        return;
      case 8: {
        // Request guild members -> one chunk with everything we know.
        if (!conn.session) {
          conn.ws.close(4003, 'Not authenticated');
          return;
        }
        const d = payload.d as Json;
        const wanted: string[] | null = d.user_ids ? [].concat(d.user_ids) : null;
        const known = this.guildStates.get(String(d.guild_id))?.members ?? new Map<string, Json>();
        const members = [...known.values()].filter((m) => !wanted || wanted.includes(m.user.id));
        void this.dispatchTo(conn.session, 'GUILD_MEMBERS_CHUNK', {
          guild_id: d.guild_id,
          members: clone(members),
          chunk_index: 0,
          chunk_count: 1,
          ...(d.nonce ? { nonce: d.nonce } : {}),
          ...(wanted ? { not_found: wanted.filter((id) => !known.has(id)) } : {}),
        });
        return;
      }
      default:
        conn.ws.close(4001, 'Unknown opcode');
    }
  }

  private onIdentify(conn: GatewayConnection, d: Json): void {
    if (conn.session) {
      conn.ws.close(4005, 'Already authenticated');
      return;
    }
    if (d?.token !== this.token) {
      conn.ws.close(4004, 'Authentication failed');
      return;
    }
    conn.identifyCompress = d.compress === true;
    const shard: [number, number] = Array.isArray(d.shard) ? [Number(d.shard[0]), Number(d.shard[1])] : [0, 1];
    if (!(Number.isInteger(shard[0]) && Number.isInteger(shard[1]) && shard[1] >= 1 && shard[0] >= 0 && shard[0] < shard[1])) {
      conn.ws.close(4010, 'Invalid shard');
      return;
    }
    const session: Session = {
      id: randomBytes(16).toString('hex'),
      seq: 0,
      intents: typeof d.intents === 'number' ? d.intents : 0,
      shard,
      conn,
      buffer: [],
      invalid: false,
    };
    conn.session = session;
    this.sessions.set(session.id, session);
    const bot = this.users.get(this.botUser.id)!;
    const guilds = [...this.guildStates.values()].filter((g) => this.sessionCovers(session, g.guild.id));
    void this.dispatchTo(session, 'READY', {
      v: 10,
      user: clone(bot),
      user_settings: {},
      guilds: guilds.map((g) => ({ id: g.guild.id, unavailable: true })),
      session_id: session.id,
      session_type: 'normal',
      resume_gateway_url: this.gatewayUrl,
      shard,
      application: { id: this.applicationId, flags: 0 },
      private_channels: [],
      relationships: [],
      presences: [],
      guild_join_requests: [],
      geo_ordered_rtc_regions: [],
      auth: {},
      _trace: ['fake-discord'],
    });
    // discord.js waits (up to 15 s) for a GUILD_CREATE of every guild listed in READY.
    for (const g of guilds) void this.dispatchTo(session, 'GUILD_CREATE', this.guildCreatePayload(g));
  }

  private onResume(conn: GatewayConnection, d: Json): void {
    const session = d?.session_id ? this.sessions.get(d.session_id) : undefined;
    if (!session || session.invalid || d.token !== this.token) {
      void this.sendRaw(conn, { op: 9, d: false, s: null, t: null });
      return;
    }
    if (session.conn && session.conn !== conn) session.conn.ws.close(4000, 'Session resumed elsewhere');
    session.conn = conn;
    conn.session = session;
    const from = typeof d.seq === 'number' ? d.seq : 0;
    for (const p of session.buffer) if (p.s > from) void this.sendRaw(conn, p);
    void this.dispatchTo(session, 'RESUMED', { _trace: ['fake-discord'] });
  }

  /** Guild an event belongs to (null: not a guild event, e.g. DMs), for shard routing. */
  private eventGuildId(event: string, data: Json): string | null {
    if (typeof data.guild_id === 'string') return data.guild_id;
    if (event === 'GUILD_CREATE' || event === 'GUILD_UPDATE' || event === 'GUILD_DELETE') return String(data.id);
    return null;
  }

  /** Whether a session's shard receives a guild's events (DMs / non-guild events: shard 0). */
  private sessionCovers(session: Session, guildId: string | null): boolean {
    const [id, count] = session.shard;
    if (count <= 1) return true;
    return guildId === null ? id === 0 : shardOf(guildId, count) === id;
  }

  private liveSessionsFor(guildId: string | null): Session[] {
    return [...this.sessions.values()].filter((s) => !s.invalid && s.conn && this.sessionCovers(s, guildId));
  }

  /** Sends to every session whose shard covers the event's guild. */
  private async dispatchInternal(event: string, data: Json): Promise<number> {
    const guildId = this.eventGuildId(event, data);
    let delivered = 0;
    const sends: Promise<boolean>[] = [];
    for (const session of this.sessions.values()) {
      if (session.invalid || !this.sessionCovers(session, guildId)) continue;
      sends.push(this.dispatchTo(session, event, data));
    }
    for (const ok of await Promise.all(sends)) if (ok) delivered++;
    return delivered;
  }

  /** Applies intents, assigns the next sequence number, buffers for RESUME and writes to the socket. */
  private dispatchTo(session: Session, event: string, data: Json): Promise<boolean> {
    const d = this.applyIntents(session, event, data);
    if (d === null) return Promise.resolve(false);
    session.seq += 1;
    const payload = { op: 0, t: event, s: session.seq, d };
    session.buffer.push(payload);
    if (session.buffer.length > 2000) session.buffer.shift();
    const conn = session.conn;
    if (!conn || conn.ws.readyState !== WebSocket.OPEN) return Promise.resolve(false);
    return this.sendRaw(conn, payload).then(() => true);
  }

  private applyIntents(session: Session, event: string, data: Json): Json | null {
    if (!this.opts.enforceIntents) return clone(data);
    const has = (bit: number) => (session.intents & bit) !== 0;
    if (event === 'MESSAGE_CREATE' || event === 'MESSAGE_UPDATE' || event === 'MESSAGE_DELETE') {
      const inGuild = Boolean(data.guild_id);
      if (inGuild ? !has(Intents.GuildMessages) : !has(Intents.DirectMessages)) return null;
      if (event === 'MESSAGE_DELETE') return clone(data);
      const out = clone(data);
      const byBot = data.author?.id === this.botUser.id;
      const mentionsBot = Array.isArray(data.mentions) && data.mentions.some((u: Json) => u.id === this.botUser.id);
      if (inGuild && !has(Intents.MessageContent) && !byBot && !mentionsBot) {
        if ('content' in out) out.content = '';
        if ('embeds' in out) out.embeds = [];
        if ('attachments' in out) out.attachments = [];
        if ('components' in out) out.components = [];
        delete out.poll;
      }
      return out;
    }
    if (event.startsWith('MESSAGE_REACTION_') && !has(Intents.GuildMessageReactions)) return null;
    if (event === 'TYPING_START' && !has(Intents.GuildMessageTyping)) return null;
    if (
      (event === 'GUILD_MEMBER_ADD' || event === 'GUILD_MEMBER_UPDATE' || event === 'GUILD_MEMBER_REMOVE') &&
      !has(Intents.GuildMembers)
    ) {
      return null;
    }
    return clone(data);
  }

  private sendRaw(conn: GatewayConnection, payload: Json): Promise<void> {
    const text = JSON.stringify(payload);
    this.opts.log?.(
      `[gateway #${conn.id}] -> op ${payload.op}${payload.t ? ` ${payload.t as string} s=${payload.s as number}` : ''}`,
    );
    conn.queue = conn.queue.then(
      () =>
        new Promise<void>((resolve) => {
          if (conn.ws.readyState !== WebSocket.OPEN) {
            resolve();
            return;
          }
          const write = (data: string | Buffer, binary: boolean) =>
            conn.ws.send(data, { binary }, () => resolve());
          if (conn.deflate) {
            const chunks: Buffer[] = [];
            const onData = (c: Buffer) => chunks.push(c);
            const deflate = conn.deflate;
            deflate.on('data', onData);
            deflate.write(text);
            deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
              deflate.off('data', onData);
              write(Buffer.concat(chunks), true);
            });
          } else if (conn.identifyCompress && payload.op === 0) {
            write(zlib.deflateSync(text), true);
          } else {
            write(text, false);
          }
        }),
    );
    return conn.queue;
  }

  // ------------------------------------------------------------------------------------------
  // HTTP
  // ------------------------------------------------------------------------------------------

  private async onHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', this.baseUrl);
    const method = (req.method ?? 'GET').toUpperCase();
    const rawPath = url.pathname;
    const apiMatch = /^\/api(?:\/v(\d+))?(\/.*)?$/.exec(rawPath);
    const apiVersion = apiMatch?.[1] ? Number(apiMatch[1]) : null;
    const routePath = apiMatch ? (apiMatch[2] ?? '/') : rawPath;
    const path = routePath
      .split('/')
      .map((seg) => {
        try {
          return decodeURIComponent(seg);
        } catch {
          return seg;
        }
      })
      .join('/');
    const query: Record<string, string> = {};
    url.searchParams.forEach((v, k) => (query[k] = v));

    let body: Json | null = null;
    let files: RecordedFile[] = [];
    let result: RouteResult;
    try {
      ({ body, files } = await parseBody(req.headers, rawBody));
      result = await this.route(method, path, !!apiMatch, {
        method,
        path,
        params: {},
        query: url.searchParams,
        headers: req.headers,
        body,
        files,
      });
    } catch (error) {
      if (error instanceof ApiError) {
        result = { status: error.status, body: error.toJSON() };
      } else {
        result = { status: 500, body: { message: `FakeDiscord internal error: ${String(error)}`, code: 0 } };
        this.opts.log?.(`[rest] internal error ${(error as Error).stack ?? String(error)}`);
      }
    }

    const record: RecordedRequest = {
      index: this.requests.length,
      at: Date.now(),
      method,
      path,
      rawPath,
      apiVersion,
      query,
      headers: req.headers,
      body,
      rawBody,
      files,
      status: result.status,
      response: result.body === undefined ? undefined : clone(result.body),
    };
    this.requests.push(record);
    this.opts.log?.(`[rest] ${method} ${path} -> ${result.status}`);
    for (const w of [...this.requestWaiters]) {
      if (w.predicate(record)) {
        clearTimeout(w.timer);
        this.requestWaiters.delete(w);
        w.resolve(record);
      }
    }

    if (result.raw) {
      res.writeHead(result.status, { 'content-type': result.raw.contentType, 'content-length': result.raw.data.length });
      res.end(result.raw.data);
    } else if (result.status === 204 || result.body === undefined) {
      res.writeHead(result.status);
      res.end();
    } else {
      const json = JSON.stringify(result.body);
      res.writeHead(result.status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(json),
      });
      res.end(json);
    }
    if (result.after && !this.closed) result.after();
  }

  private async route(method: string, path: string, isApi: boolean, ctx: RouteContext): Promise<RouteResult> {
    if (!isApi) {
      const m = /^\/attachments\/\d+\/(\d+)\/[^/]+$/.exec(path);
      const stored = m ? this.attachmentsStore.get(m[1]!) : undefined;
      if (method === 'GET' && stored) return { status: 200, raw: { data: stored.data, contentType: stored.contentType } };
      return { status: 404, body: { message: '404: Not Found', code: 0 } };
    }
    for (const route of this.routes) {
      const m = route.pattern.exec(path);
      if (!m || !route.methods.includes(method)) continue;
      if (route.auth) {
        const auth = ctx.headers.authorization;
        if (auth !== `Bot ${this.token}`) throw new ApiError(401, 0, '401: Unauthorized');
      }
      return route.handler({ ...ctx, params: { ...(m.groups ?? {}) } });
    }
    return { status: 404, body: { message: '404: Not Found', code: 0 } };
  }

  private on(methods: string | string[], pattern: RegExp, handler: RouteHandler, auth = true): void {
    this.routes.push({ methods: ([] as string[]).concat(methods), pattern, auth, handler });
  }

  private registerRoutes(): void {
    const json = (body: unknown, status = 200, after?: () => void): RouteResult => ({ status, body, after });
    const noContent = (after?: () => void): RouteResult => ({ status: 204, after });

    // --- gateway / identity
    this.on('GET', /^\/gateway\/bot$/, () =>
      json({
        url: this.gatewayUrl,
        shards: this.opts.shards,
        // One identify bucket per shard, so @discordjs/ws does not wait 5 s between shard IDENTIFYs.
        session_start_limit: {
          total: 1000,
          remaining: 999,
          reset_after: 14_400_000,
          max_concurrency: this.opts.shards,
        },
      }),
    );
    this.on('GET', /^\/gateway$/, () => json({ url: this.gatewayUrl }), false);
    this.on('GET', /^\/users\/@me$/, () => json(this.users.get(this.botUser.id)));
    this.on('GET', /^\/users\/@me\/guilds$/, () =>
      json(
        [...this.guildStates.values()].map((g) => ({
          id: g.guild.id,
          name: g.guild.name,
          icon: null,
          banner: null,
          owner: false,
          permissions: this.permissionsOf(g, this.botUser.id).toString(),
          features: clone(g.guild.features),
        })),
      ),
    );
    // Guild#leave(): like removeGuild (GUILD_DELETE after the response).
    this.on('DELETE', /^\/users\/@me\/guilds\/(?<gid>\d+)$/, ({ params }) => {
      this.guildStateOrError(params.gid!);
      this.guildStates.delete(params.gid!);
      this.removedGuildIds.add(params.gid!);
      return noContent(() => void this.dispatchInternal('GUILD_DELETE', { id: params.gid! }));
    });
    // User#createDM() / User#send(): the bot's DM channel with that user.
    this.on('POST', /^\/users\/@me\/channels$/, ({ body }) => {
      const recipient = String(body?.recipient_id ?? '');
      if (!this.users.has(recipient)) throw unknown('User', 10013);
      return json(clone(this.channels.get(this.dmChannelId(recipient))));
    });
    this.on('GET', /^\/users\/(?<userId>\d+)$/, ({ params }) => {
      const u = this.users.get(params.userId!);
      if (!u) throw unknown('User', 10013);
      return json(u);
    });
    this.on('GET', /^\/(?:oauth2\/)?applications\/@me$/, () =>
      json({
        id: this.applicationId,
        name: this.opts.botUsername,
        icon: null,
        description: '',
        summary: '',
        type: null,
        bot_public: true,
        bot_require_code_grant: false,
        verify_key: 'fake',
        flags: 0,
        team: null,
        owner: clone(this.users.get(this.ownerId)),
        bot: clone(this.users.get(this.botUser.id)),
        approximate_guild_count: this.guildStates.size,
        integration_types_config: { '0': {}, '1': {} },
      }),
    );

    // --- interactions
    this.on(
      'POST',
      /^\/interactions\/(?<id>\d+)\/(?<token>[^/]+)\/callback$/,
      (ctx) => this.interactionCallback(ctx),
      false,
    );
    this.on(
      ['GET', 'PATCH', 'DELETE'],
      /^\/webhooks\/(?<app>\d+)\/(?<token>[^/]+)\/messages\/(?<mid>@original|\d+)$/,
      (ctx) => this.webhookMessage(ctx),
      false,
    );
    this.on('POST', /^\/webhooks\/(?<app>\d+)\/(?<token>[^/]+)$/, (ctx) => this.followUp(ctx), false);

    // --- channels & messages
    this.on('GET', /^\/channels\/(?<cid>\d+)$/, ({ params }) => json(this.channelOr404(params.cid!)));
    this.on('PATCH', /^\/channels\/(?<cid>\d+)$/, ({ params, body }) => {
      const channel = this.channelOr404(params.cid!);
      const b = body ?? {};
      for (const key of ['name', 'topic', 'rate_limit_per_user', 'nsfw', 'applied_tags', 'flags'] as const) {
        if (key in b) channel[key] = b[key];
      }
      if (channel.thread_metadata) {
        for (const key of ['archived', 'locked', 'auto_archive_duration', 'invitable'] as const) {
          if (key in b) channel.thread_metadata[key] = b[key];
        }
        if ('archived' in b) channel.thread_metadata.archive_timestamp = new Date().toISOString();
      }
      const isThread = channel.type === 11 || channel.type === 12;
      return json(clone(channel), 200, () => void this.dispatchInternal(isThread ? 'THREAD_UPDATE' : 'CHANNEL_UPDATE', channel));
    });
    this.on('GET', /^\/channels\/(?<cid>\d+)\/messages$/, ({ params, query }) => {
      this.channelOr404(params.cid!);
      let list = [...(this.messages.get(params.cid!)?.values() ?? [])].reverse(); // newest first
      const limit = Math.min(Math.max(Number(query.get('limit') ?? 50) || 50, 1), 100);
      const before = query.get('before');
      const after = query.get('after');
      const around = query.get('around');
      if (before) list = list.filter((m) => BigInt(m.id) < BigInt(before));
      if (after) list = list.filter((m) => BigInt(m.id) > BigInt(after)).reverse().slice(0, limit).reverse();
      if (around) {
        const idx = list.findIndex((m) => BigInt(m.id) <= BigInt(around));
        const start = Math.max(0, idx - Math.floor(limit / 2));
        list = list.slice(start, start + limit);
      }
      return json(list.slice(0, limit));
    });
    this.on('POST', /^\/channels\/(?<cid>\d+)\/messages$/, ({ params, body, files }) => {
      const channel = this.channelOr404(params.cid!);
      if (channel.thread_metadata?.locked) throw new ApiError(403, 50083, 'Thread is archived');
      const fields = this.messageFields(body ?? {}, files, true);
      const message = this.buildMessage(channel.id, this.users.get(this.botUser.id)!, {
        ...fields,
        ...(body?.message_reference?.message_id ? this.replyFields(channel.id, body.message_reference.message_id) : {}),
        ...(body?.nonce !== undefined ? { nonce: body.nonce } : {}),
      });
      if (channel.thread_metadata?.archived) channel.thread_metadata.archived = false;
      this.storeMessage(message);
      return json(clone(message), 200, () => void this.dispatchInternal('MESSAGE_CREATE', this.gatewayMessage(message)));
    });
    this.on('GET', /^\/channels\/(?<cid>\d+)\/messages\/(?<mid>\d+)$/, ({ params }) => {
      this.channelOr404(params.cid!);
      const m = this.messages.get(params.cid!)?.get(params.mid!);
      if (!m) throw unknown('Message', 10008);
      return json(clone(m));
    });
    this.on('PATCH', /^\/channels\/(?<cid>\d+)\/messages\/(?<mid>\d+)$/, ({ params, body, files }) => {
      this.channelOr404(params.cid!);
      const m = this.messages.get(params.cid!)?.get(params.mid!);
      if (!m) throw unknown('Message', 10008);
      if (m.author.id !== this.botUser.id) throw new ApiError(403, 50005, 'Cannot edit a message authored by another user');
      this.editMessage(m, body ?? {}, files);
      return json(clone(m), 200, () => void this.dispatchInternal('MESSAGE_UPDATE', this.gatewayMessage(m)));
    });
    this.on('DELETE', /^\/channels\/(?<cid>\d+)\/messages\/(?<mid>\d+)$/, ({ params }) => {
      this.channelOr404(params.cid!);
      const map = this.messages.get(params.cid!);
      const m = map?.get(params.mid!);
      if (!m) throw unknown('Message', 10008);
      map!.delete(m.id);
      return noContent(
        () => void this.dispatchInternal('MESSAGE_DELETE', this.messageDeletePayload(m)),
      );
    });
    this.on('POST', /^\/channels\/(?<cid>\d+)\/messages\/(?<mid>\d+)\/threads$/, ({ params, body }) => {
      this.channelOr404(params.cid!);
      if (!body?.name) throw formError('name', 'BASE_TYPE_REQUIRED', 'This field is required');
      const thread = this.createThreadState(params.cid!, body.name, this.botUser.id, params.mid!, 11);
      if (body.auto_archive_duration) thread.thread_metadata.auto_archive_duration = body.auto_archive_duration;
      if (body.rate_limit_per_user) thread.rate_limit_per_user = body.rate_limit_per_user;
      return json(this.threadWithMember(thread), 201, () =>
        void this.dispatchInternal('THREAD_CREATE', { ...this.threadWithMember(thread), newly_created: true }),
      );
    });
    this.on('POST', /^\/channels\/(?<cid>\d+)\/threads$/, ({ params, body }) => {
      this.channelOr404(params.cid!);
      if (!body?.name) throw formError('name', 'BASE_TYPE_REQUIRED', 'This field is required');
      const thread = this.createThreadState(params.cid!, body.name, this.botUser.id, undefined, body.type ?? 12);
      if (body.auto_archive_duration) thread.thread_metadata.auto_archive_duration = body.auto_archive_duration;
      return json(this.threadWithMember(thread), 201, () =>
        void this.dispatchInternal('THREAD_CREATE', { ...this.threadWithMember(thread), newly_created: true }),
      );
    });
    this.on(['PUT', 'DELETE'], /^\/channels\/(?<cid>\d+)\/thread-members\/(?:@me|\d+)$/, ({ params }) => {
      this.channelOr404(params.cid!);
      return noContent();
    });
    this.on('POST', /^\/channels\/(?<cid>\d+)\/typing$/, ({ params }) => {
      this.channelOr404(params.cid!);
      return noContent();
    });
    this.on(
      ['PUT', 'DELETE'],
      /^\/channels\/(?<cid>\d+)\/messages\/(?<mid>\d+)\/reactions\/(?<emoji>[^/]+)\/(?:@me|\d+)$/,
      ({ params }) => {
        this.channelOr404(params.cid!);
        if (!this.messages.get(params.cid!)?.get(params.mid!)) throw unknown('Message', 10008);
        return noContent();
      },
    );

    // --- application commands
    const commandsRoute = (guild: boolean) =>
      guild
        ? /^\/applications\/(?<app>\d+)\/guilds\/(?<gid>\d+)\/commands$/
        : /^\/applications\/(?<app>\d+)\/commands$/;
    const commandRoute = (guild: boolean) =>
      guild
        ? /^\/applications\/(?<app>\d+)\/guilds\/(?<gid>\d+)\/commands\/(?<cmd>\d+)$/
        : /^\/applications\/(?<app>\d+)\/commands\/(?<cmd>\d+)$/;
    for (const guild of [false, true]) {
      const store = (params: Record<string, string>) => {
        if (params.app !== this.applicationId) throw unknown('Application', 10002);
        if (!guild) return this.globalCommands;
        if (!this.guildStates.has(params.gid!)) throw new ApiError(403, 50001, 'Missing Access');
        let map = this.guildCommands.get(params.gid!);
        if (!map) {
          map = new Map();
          this.guildCommands.set(params.gid!, map);
        }
        return map;
      };
      this.on('GET', commandsRoute(guild), ({ params }) => json([...store(params).values()]));
      this.on('PUT', commandsRoute(guild), ({ params, body }) => {
        const map = store(params);
        if (!Array.isArray(body)) throw formError('_root', 'BASE_TYPE_ARRAY', 'Must be an array');
        const previous = new Map([...map.values()].map((c) => [`${c.type}:${c.name}`, c.id as string]));
        map.clear();
        for (const cmd of body as Json[]) {
          const c = this.makeCommand(cmd, guild ? params.gid! : null, previous.get(`${cmd.type ?? 1}:${cmd.name}`));
          map.set(c.id, c);
        }
        return json([...map.values()]);
      });
      this.on('POST', commandsRoute(guild), ({ params, body }) => {
        const map = store(params);
        const existing = [...map.values()].find((c) => c.name === body?.name && c.type === (body?.type ?? 1));
        const c = this.makeCommand(body ?? {}, guild ? params.gid! : null, existing?.id);
        map.set(c.id, c);
        return json(c, existing ? 200 : 201);
      });
      this.on(['GET', 'PATCH', 'DELETE'], commandRoute(guild), ({ method, params, body }) => {
        const map = store(params);
        const c = map.get(params.cmd!);
        if (!c) throw unknown('application command', 10063);
        if (method === 'DELETE') {
          map.delete(c.id);
          return noContent();
        }
        if (method === 'PATCH') Object.assign(c, body ?? {}, { id: c.id, version: snowflake() });
        return json(c);
      });
    }

    // --- guilds (every guild the bot is in; 404 Unknown Guild, or 403 Missing Access once removed)
    this.on('GET', /^\/guilds\/(?<gid>\d+)$/, ({ params }) => {
      const g = this.guildStateOrError(params.gid!);
      return json({ ...clone(g.guild), roles: [...g.roles.values()], emojis: [], stickers: [] });
    });
    this.on('GET', /^\/guilds\/(?<gid>\d+)\/channels$/, ({ params }) => {
      this.guildStateOrError(params.gid!);
      return json(
        [...this.channels.values()].filter((c) => c.guild_id === params.gid && c.type !== 11 && c.type !== 12),
      );
    });
    this.on('GET', /^\/guilds\/(?<gid>\d+)\/roles$/, ({ params }) => {
      return json([...this.guildStateOrError(params.gid!).roles.values()]);
    });
    this.on('GET', /^\/guilds\/(?<gid>\d+)\/members$/, ({ params, query }) => {
      const g = this.guildStateOrError(params.gid!);
      const limit = Math.min(Math.max(Number(query.get('limit') ?? 1) || 1, 1), 1000);
      const after = BigInt(query.get('after') ?? '0');
      const list = [...g.members.values()]
        .filter((m) => BigInt(m.user.id) > after)
        .sort((a, b) => (BigInt(a.user.id) < BigInt(b.user.id) ? -1 : 1));
      return json(list.slice(0, limit));
    });
    this.on('GET', /^\/guilds\/(?<gid>\d+)\/members\/(?<uid>\d+)$/, ({ params }) => {
      const m = this.guildStateOrError(params.gid!).members.get(params.uid!);
      if (!m) throw unknown('Member', 10007);
      return json(m);
    });
  }

  private channelOr404(id: string): Json {
    const c = this.channels.get(id);
    if (!c) throw unknown('Channel', 10003);
    if (c.guild_id && !this.guildStates.has(c.guild_id)) throw new ApiError(403, 50001, 'Missing Access');
    return c;
  }

  private messageDeletePayload(m: Json): Json {
    const guildId = this.channels.get(m.channel_id)?.guild_id as string | undefined;
    return { id: m.id, channel_id: m.channel_id, ...(guildId ? { guild_id: guildId } : {}) };
  }

  private threadWithMember(thread: Json): Json {
    return {
      ...clone(thread),
      member: { id: thread.id, user_id: this.botUser.id, join_timestamp: new Date().toISOString(), flags: 0 },
    };
  }

  private makeCommand(cmd: Json, guildId: string | null, existingId?: string): Json {
    if (!cmd.name) throw formError('name', 'BASE_TYPE_REQUIRED', 'This field is required');
    const type = cmd.type ?? 1;
    if (type === 1 && !/^[-_\p{L}\p{N}]{1,32}$/u.test(cmd.name)) {
      throw formError('name', 'APPLICATION_COMMAND_INVALID_NAME', 'Command name is invalid');
    }
    if (type === 1 && (!cmd.description || cmd.description.length > 100)) {
      throw formError('description', 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
    }
    const id = existingId ?? this.commandIdsByName.get(cmd.name) ?? snowflake();
    this.commandIdsByName.set(cmd.name, id);
    return {
      default_member_permissions: null,
      nsfw: false,
      contexts: null,
      integration_types: [0],
      options: [],
      description: '',
      ...clone(cmd),
      id,
      type,
      application_id: this.applicationId,
      version: snowflake(),
      ...(guildId ? { guild_id: guildId } : {}),
    };
  }

  // --- message bodies --------------------------------------------------------------------

  /** Validates a message body like Discord (lengths, counts) and returns message fields. */
  private messageFields(body: Json, files: RecordedFile[], requireSomething: boolean): Json {
    const out: Json = {};
    if ('content' in body && body.content !== null && body.content !== undefined) {
      const content = String(body.content);
      if (content.length > 2000) throw formError('content', 'BASE_TYPE_MAX_LENGTH', 'Must be 2000 or fewer in length.');
      out.content = content;
      out.mentions = [];
      for (const m of content.matchAll(/<@!?(\d+)>/g)) {
        const u = this.users.get(m[1]!);
        if (u && !out.mentions.some((x: Json) => x.id === u.id)) out.mentions.push(clone(u));
      }
      out.mention_everyone = /@(everyone|here)/.test(content) && !(body.allowed_mentions && !body.allowed_mentions.parse?.includes('everyone'));
    }
    if ('embeds' in body && body.embeds !== null && body.embeds !== undefined) {
      out.embeds = validateEmbeds(body.embeds as Json[]);
    }
    if ('components' in body && body.components !== null && body.components !== undefined) {
      if (!Array.isArray(body.components) || body.components.length > 5 && !((body.flags ?? 0) & (1 << 15))) {
        throw formError('components', 'BASE_TYPE_BAD_LENGTH', 'Must be between 0 and 5 in length.');
      }
      out.components = clone(body.components);
    }
    if ('flags' in body && typeof body.flags === 'number') out.flags = body.flags;
    if ('tts' in body) out.tts = Boolean(body.tts);
    if ('poll' in body && body.poll) out.poll = clone(body.poll);
    if (files.length || 'attachments' in body) {
      const fileAttachments = files.map((f, i) => {
        const meta: Json | undefined = (body.attachments as Json[] | undefined)?.find((a) => String(a.id) === String(i));
        const id = snowflake();
        const filename: string = meta?.filename ?? f.filename;
        const url = `${this.baseUrl}/attachments/0/${id}/${encodeURIComponent(filename)}`;
        const attachment: APIAttachment = {
          id,
          filename,
          size: f.size,
          url,
          proxy_url: url,
          content_type: f.contentType,
          ...(meta?.description ? { description: meta.description as string } : {}),
        };
        this.attachmentsStore.set(id, { data: f.data, contentType: f.contentType, attachment });
        return attachment;
      });
      // Existing attachments kept by id (edits) are passed through as-is.
      const kept = ((body.attachments as Json[] | undefined) ?? []).filter(
        (a) => typeof a.id === 'string' && /^\d{15,}$/.test(a.id),
      );
      out.attachments = [...kept, ...fileAttachments];
    }
    if (
      requireSomething &&
      !out.content &&
      !(out.embeds?.length > 0) &&
      !(out.components?.length > 0) &&
      !(out.attachments?.length > 0) &&
      !out.poll &&
      !(body.sticker_ids?.length > 0)
    ) {
      throw new ApiError(400, 50006, 'Cannot send an empty message');
    }
    return out;
  }

  private editMessage(m: Json, body: Json, files: RecordedFile[]): void {
    const fields = this.messageFields(body, files, false);
    Object.assign(m, fields);
    if ('flags' in fields) m.flags = (m.flags & 64) | (fields.flags & ~64); // ephemeral cannot be toggled
    m.edited_timestamp = new Date().toISOString();
  }

  // --- interactions ----------------------------------------------------------------------

  private interactionOr404(token: string, id?: string): InteractionState & { message: Json | null } {
    const st = this.interactions.get(token);
    if (!st || (id !== undefined && st.id !== id)) throw unknown('interaction', 10062);
    return st;
  }

  /** The interaction of a webhook call (edits, follow-ups), while its token is still valid. */
  private webhookInteraction(token: string): InteractionState & { message: Json | null } {
    const st = this.interactionOr404(token);
    if (Date.now() - st.createdAt > this.opts.interactionTokenTtlMs) throw new ApiError(401, 50027, 'Invalid Webhook Token');
    return st;
  }

  private interactionCallback(ctx: RouteContext): RouteResult {
    const st = this.interactionOr404(ctx.params.token!, ctx.params.id!);
    if (st.acknowledged) throw new ApiError(400, 40060, 'Interaction has already been acknowledged.');
    if (Date.now() - st.createdAt > this.opts.interactionResponseWindowMs) throw unknown('interaction', 10062);
    const body = ctx.body ?? {};
    const type = body.type as number;
    const data: Json = body.data ?? {};
    const allowed: Record<number, number[]> = {
      2: [4, 5, 9, 10, 12],
      3: [4, 5, 6, 7, 9, 10, 12],
      4: [8],
      5: [4, 5, 6, 7, 10],
    };
    if (!allowed[st.type]?.includes(type)) {
      throw new ApiError(400, 40043, `Interaction callback type ${type} is invalid for interaction type ${st.type}`);
    }
    st.acknowledged = true;
    st.responseType = type;
    const after: Array<() => void> = [];
    let resourceMessage: Json | null = null;

    const bot = this.users.get(this.botUser.id)!;
    const newResponseMessage = (fields: Json): Json => {
      const user = this.users.get(st.userId)!;
      const message = this.buildMessage(st.channelId, bot, {
        type: st.type === 2 ? (st.commandType === 1 ? 20 : 23) : 19,
        webhook_id: this.applicationId,
        application_id: this.applicationId,
        interaction_metadata: {
          id: st.id,
          type: st.type,
          user: clone(user),
          authorizing_integration_owners: { '0': st.guildId ?? '0' },
          ...(st.sourceMessageId ? { interacted_message_id: st.sourceMessageId } : {}),
        },
        interaction: { id: st.id, type: st.type, name: '', user: clone(user) },
        ...fields,
      });
      return message;
    };

    switch (type) {
      case 4:
      case 5: {
        const fields = type === 4 ? this.messageFields(data, ctx.files, true) : {};
        const flags = (data.flags ?? 0) as number;
        st.ephemeral = (flags & 64) !== 0;
        const message = newResponseMessage({
          ...fields,
          flags: type === 5 ? (flags & 64) | 128 : flags, // 128 = LOADING
        });
        st.original = message as APIMessage;
        if (!st.ephemeral) {
          this.storeMessage(message);
          after.push(() => void this.dispatchInternal('MESSAGE_CREATE', this.gatewayMessage(message)));
        }
        resourceMessage = message;
        break;
      }
      case 6:
      case 7: {
        const source = st.message;
        if (!source) throw new ApiError(400, 40043, 'No message to update');
        st.ephemeral = ((source.flags ?? 0) & 64) !== 0;
        if (type === 7) {
          this.editMessage(source, data, ctx.files);
          if (!st.ephemeral) after.push(() => void this.dispatchInternal('MESSAGE_UPDATE', this.gatewayMessage(source)));
        }
        st.original = source as APIMessage;
        resourceMessage = source;
        break;
      }
      case 8: {
        const choices = (data.choices ?? []) as Json[];
        if (choices.length > 25) throw formError('data.choices', 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
        choices.forEach((c, i) => {
          if (!c.name || String(c.name).length > 100) {
            throw formError(`data.choices.${i}.name`, 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.');
          }
        });
        st.autocompleteChoices = clone(choices);
        break;
      }
      case 9: {
        if (!data.custom_id || !data.title || !Array.isArray(data.components) || data.components.length === 0) {
          throw formError('data', 'BASE_TYPE_REQUIRED', 'Modal needs custom_id, title and components');
        }
        st.modal = clone(data);
        break;
      }
      default:
        break;
    }

    const afterAll = () => after.forEach((f) => f());
    if (ctx.query.get('with_response') === 'true') {
      return {
        status: 200,
        body: {
          interaction: {
            id: st.id,
            type: st.type,
            ...(resourceMessage
              ? {
                  response_message_id: resourceMessage.id,
                  response_message_loading: type === 5,
                  response_message_ephemeral: st.ephemeral,
                }
              : {}),
          },
          resource: { type, ...(resourceMessage ? { message: clone(resourceMessage) } : {}) },
        },
        after: afterAll,
      };
    }
    return { status: 204, after: afterAll };
  }

  private webhookMessage(ctx: RouteContext): RouteResult {
    const { app, token, mid } = ctx.params as { app: string; token: string; mid: string };
    if (app !== this.applicationId) throw unknown('Webhook', 10015);
    const st = this.webhookInteraction(token);
    let message: Json | null | undefined;
    if (mid === '@original') {
      message = st.original as Json | null;
    } else {
      message = st.followUpIds.includes(mid) || st.original?.id === mid ? this.findInteractionMessage(st, mid) : null;
    }
    if (!message) throw unknown('Message', 10008);
    const ephemeral = ((message.flags ?? 0) & 64) !== 0;
    if (ctx.method === 'GET') return { status: 200, body: clone(message) };
    if (ctx.method === 'DELETE') {
      this.messages.get(message.channel_id)?.delete(message.id);
      if (mid === '@original') st.original = null;
      const m = message;
      return {
        status: 204,
        after: ephemeral
          ? undefined
          : () => void this.dispatchInternal('MESSAGE_DELETE', this.messageDeletePayload(m)),
      };
    }
    // PATCH
    this.editMessage(message, ctx.body ?? {}, ctx.files);
    message.flags = (message.flags ?? 0) & ~128; // no longer loading
    const m = message;
    return {
      status: 200,
      body: clone(m),
      after: ephemeral ? undefined : () => void this.dispatchInternal('MESSAGE_UPDATE', this.gatewayMessage(m)),
    };
  }

  private findInteractionMessage(st: InteractionState, id: string): Json | null {
    if (st.original?.id === id) return st.original as Json;
    return (this.followUps.get(id) ?? null) as Json | null;
  }

  private followUp(ctx: RouteContext): RouteResult {
    const { app, token } = ctx.params as { app: string; token: string };
    if (app !== this.applicationId) throw unknown('Webhook', 10015);
    const st = this.webhookInteraction(token);
    if (!st.acknowledged) throw unknown('Webhook', 10015); // follow-ups need an acknowledged interaction
    const body = ctx.body ?? {};
    const fields = this.messageFields(body, ctx.files, true);
    const flags = (body.flags ?? 0) as number;
    const user = this.users.get(st.userId)!;
    const message = this.buildMessage(st.channelId, this.users.get(this.botUser.id)!, {
      ...fields,
      type: st.type === 2 ? (st.commandType === 1 ? 20 : 23) : 19,
      flags,
      webhook_id: this.applicationId,
      application_id: this.applicationId,
      interaction_metadata: {
        id: st.id,
        type: st.type,
        user: clone(user),
        authorizing_integration_owners: { '0': st.guildId ?? '0' },
        original_response_message_id: st.original?.id,
      },
    });
    st.followUpIds.push(message.id);
    this.followUps.set(message.id, message);
    const ephemeral = (flags & 64) !== 0;
    if (!ephemeral) this.storeMessage(message);
    return {
      status: 200,
      body: clone(message),
      after: ephemeral ? undefined : () => void this.dispatchInternal('MESSAGE_CREATE', this.gatewayMessage(message)),
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers (module level)
// ---------------------------------------------------------------------------------------------

async function parseBody(
  headers: http.IncomingHttpHeaders,
  raw: Buffer,
): Promise<{ body: Json | null; files: RecordedFile[] }> {
  if (raw.length === 0) return { body: null, files: [] };
  const type = headers['content-type'] ?? '';
  if (type.startsWith('application/json')) {
    try {
      return { body: JSON.parse(raw.toString('utf8')) as Json, files: [] };
    } catch {
      throw new ApiError(400, 50109, 'The request body contains invalid JSON.');
    }
  }
  if (type.startsWith('multipart/form-data')) {
    // Let undici's spec-compliant parser do the work.
    const form = await new Request('http://fake.invalid/', {
      method: 'POST',
      headers: { 'content-type': type },
      body: new Uint8Array(raw),
    }).formData();
    const files: RecordedFile[] = [];
    const fields: Json = {};
    let body: Json | null = null;
    for (const [key, value] of form.entries()) {
      if (typeof value === 'string') {
        if (key === 'payload_json') body = JSON.parse(value) as Json;
        else fields[key] = value;
      } else {
        const data = Buffer.from(await value.arrayBuffer());
        files.push({
          field: key,
          filename: value.name,
          contentType: value.type || 'application/octet-stream',
          size: data.length,
          data,
        });
      }
    }
    return { body: body ?? (Object.keys(fields).length ? fields : null), files };
  }
  return { body: { _raw: raw.toString('utf8') }, files: [] };
}

function validateEmbeds(embeds: Json[]): Json[] {
  if (!Array.isArray(embeds)) throw formError('embeds', 'BASE_TYPE_ARRAY', 'Must be an array');
  if (embeds.length > 10) throw formError('embeds', 'BASE_TYPE_MAX_LENGTH', 'Must be 10 or fewer in length.');
  let total = 0;
  const max = (path: string, value: unknown, limit: number) => {
    if (value === undefined || value === null) return;
    const len = String(value).length;
    total += len;
    if (len > limit) throw formError(path, 'BASE_TYPE_MAX_LENGTH', `Must be ${limit} or fewer in length.`);
  };
  embeds.forEach((e, i) => {
    const p = `embeds.${i}`;
    max(`${p}.title`, e.title, 256);
    max(`${p}.description`, e.description, 4096);
    max(`${p}.footer.text`, e.footer?.text, 2048);
    max(`${p}.author.name`, e.author?.name, 256);
    const fields = (e.fields ?? []) as Json[];
    if (fields.length > 25) throw formError(`${p}.fields`, 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
    fields.forEach((f, j) => {
      if (!f.name || !f.value) throw formError(`${p}.fields.${j}`, 'BASE_TYPE_REQUIRED', 'This field is required');
      max(`${p}.fields.${j}.name`, f.name, 256);
      max(`${p}.fields.${j}.value`, f.value, 1024);
    });
  });
  if (total > 6000) throw formError('embeds', 'MAX_EMBED_SIZE_EXCEEDED', 'Embed size exceeds maximum size of 6000');
  return embeds.map((e) => ({ type: 'rich', ...clone(e) }));
}

function guessContentType(filename: string): string {
  const ext = filename.toLowerCase().split('.').pop() ?? '';
  return (
    {
      txt: 'text/plain; charset=utf-8',
      md: 'text/markdown; charset=utf-8',
      html: 'text/html; charset=utf-8',
      htm: 'text/html; charset=utf-8',
      json: 'application/json',
      csv: 'text/csv; charset=utf-8',
      pdf: 'application/pdf',
      png: 'image/png',
      jpg: 'image/jpeg',
      jpeg: 'image/jpeg',
      gif: 'image/gif',
    }[ext] ?? 'application/octet-stream'
  );
}
