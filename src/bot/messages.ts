import {
  ChannelType,
  ThreadAutoArchiveDuration,
  type Message,
  type MessageCreateOptions,
  type MessageEditOptions,
  type MessageReplyOptions,
  type SendableChannels,
} from 'discord.js';
import { answerQuestion, isUserInputError } from './answer.js';
import { logHandlerError } from './errors.js';
import { renderCooldown, renderError, renderNotice, threadName, type MessagePayload } from './render.js';
import { scopedContext } from './router.js';
import type { BotContext } from './types.js';

/** `<@bot>` / `<@!bot>` removed from a message's text. */
export function stripBotMention(content: string, botUserId: string): string {
  return content.replace(new RegExp(`<@!?${botUserId}>`, 'g'), ' ').replace(/\s+/g, ' ').trim();
}

const MENTION_HELP = 'Hi! Ask me about the articles after the mention, for example: "@me where did the talks take place?" (or use /ask).';

function replyOptions(payload: MessagePayload): MessageReplyOptions {
  // A reply never pings the person it replies to either.
  return { ...payload, allowedMentions: { parse: [], repliedUser: false }, failIfNotExists: false };
}

/**
 * Which messages are questions:
 * - any message that mentions the bot directly (not @everyone / roles): Discord gives bots the
 *   content of those without the privileged Message Content intent;
 * - with `messageContentIntent`, also plain messages in threads the bot started (follow-ups),
 *   except those that mention or reply to someone else (members talking to each other).
 *
 * A question in a channel is answered in a new thread started on it; in a thread, in the thread.
 * The thread's earlier questions are passed as history, so "and who led them?" is understood.
 * A written answer (with a language model) is posted as soon as its first cited sentence is
 * checked and edited as it streams; the final edit (sources, buttons) replaces the draft.
 */
export async function handleMessage(message: Message, botCtx: BotContext): Promise<void> {
  if (!isQuestion(message, botCtx)) return;
  // Scoped to the message's server: its knowledge base (and the base layer), its questions.
  await botCtx.servers.use(message.guildId, (scope) => answerMessage(message, scopedContext(botCtx, scope)));
}

/** Whether a message is addressed to the bot (see {@link handleMessage}). */
function isQuestion(message: Message, ctx: BotContext): boolean {
  const botUserId = message.client.user.id;
  if (message.author.bot || message.system || !message.inGuild()) return false;
  const mentioned = message.mentions.users.has(botUserId);
  const channel = message.channel;
  const inBotThread = channel.isThread() && channel.ownerId === botUserId;
  if (!mentioned && !(ctx.settings.messageContentIntent && inBotThread)) return false;
  if (!mentioned) {
    // A plain follow-up, unless the member is talking to someone else in the thread.
    const other = (id: string | undefined) => id !== undefined && id !== botUserId;
    if (message.mentions.users.some((u) => other(u.id)) || other(message.mentions.repliedUser?.id)) return false;
  }
  // Without a mention, a message with nothing readable (an attachment, a sticker) is not a question.
  return mentioned || stripBotMention(message.content, botUserId) !== '';
}

async function answerMessage(message: Message, ctx: BotContext): Promise<void> {
  const botUserId = message.client.user.id;
  const channel = message.channel;
  const inThread = channel.isThread();
  const inBotThread = inThread && channel.ownerId === botUserId;
  const text = stripBotMention(message.content, botUserId);
  const via = inThread ? 'thread' : 'mention';
  const command = inThread ? 'thread follow-up' : 'mention';
  const logContext = { command, guildId: message.guildId, userId: message.author.id, questionChars: text.length };

  try {
    let question: string;
    try {
      question = ctx.kb.validateQuestion(text);
    } catch (error) {
      if (!isUserInputError(error)) throw error;
      await message.reply(replyOptions(renderNotice(text ? error.message : MENTION_HELP)));
      return;
    }

    const cooldown = await ctx.cooldown.take(message.author.id);
    if (!cooldown.ok) {
      ctx.logger.info(logContext, 'cooldown');
      // One note per cooldown window: a flood of mentions gets one answer, not one each.
      if (cooldown.notify) await message.reply(replyOptions(renderCooldown(cooldown.retryAfterMs)));
      return;
    }

    // Where the answer goes.
    let send: (payload: MessagePayload) => Promise<Message>;
    let conversationId: string | null = null;
    let target: SendableChannels | null = null;
    if (inThread) {
      conversationId = channel.id;
      target = channel;
      send = (payload) => message.reply(replyOptions(payload));
    } else if (channel.type === ChannelType.GuildText || channel.type === ChannelType.GuildAnnouncement) {
      try {
        const thread = await message.startThread({ name: threadName(question), autoArchiveDuration: ThreadAutoArchiveDuration.OneDay });
        conversationId = thread.id;
        target = thread;
        send = (payload) => thread.send(payload as MessageCreateOptions);
      } catch (error) {
        // No permission to create threads (or a thread exists already): answer in place.
        ctx.logger.warn({ err: error, ...logContext }, 'could not start a thread; replying in the channel');
        send = (payload) => message.reply(replyOptions(payload));
      }
    } else {
      send = (payload) => message.reply(replyOptions(payload));
    }
    if (target) void target.sendTyping().catch(() => undefined);

    const history = conversationId ? await ctx.store.recentQuestions(conversationId) : [];
    const hint = conversationId
      ? ctx.settings.messageContentIntent && (inBotThread || !inThread)
        ? 'Ask a follow-up right here in this thread.'
        : `Mention @${message.client.user.username} in this thread to ask a follow-up.`
      : undefined;
    // A written answer is posted with its first checked sentences and edited as it grows (the
    // typing indicator shows until then); the final answer replaces the draft in the same message.
    let draft: Message | undefined;
    const onDraft = async (payload: MessagePayload) => {
      if (draft) await draft.edit(payload as MessageEditOptions);
      else draft = await send(payload);
    };
    const outcome = await answerQuestion(ctx, {
      via,
      command,
      question,
      userId: message.author.id,
      guildId: message.guildId,
      channelId: conversationId ?? message.channelId,
      conversationId,
      history,
      hint,
      onDraft,
    });
    if (!draft) {
      await send(outcome.payload);
      return;
    }
    try {
      await draft.edit(outcome.payload as MessageEditOptions);
    } catch (error) {
      // The draft is gone (deleted by a moderator?) or cannot be edited: post the answer anew and
      // take the half-written draft away if it is still there.
      ctx.logger.warn({ err: error, ...logContext }, 'could not finalise the draft answer; posting it anew');
      await send(outcome.payload);
      await draft.delete().catch(() => undefined);
    }
  } catch (error) {
    const errorId = logHandlerError(ctx.logger, error, logContext);
    try {
      await message.reply(replyOptions(renderError(errorId)));
    } catch (reportError) {
      ctx.logger.warn({ err: reportError, errorId }, 'could not tell the member about the error');
    }
  }
}
