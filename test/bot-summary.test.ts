/**
 * `/summary` end to end: the real discord.js Client (through startBot) against the local fake
 * Discord, a real KnowledgeBase (HashEmbedder) holding the seed article and a second article on
 * the same talks, real SQLite. One bot serves most tests (cooldown off); the time-out and error
 * paths get their own bot with a summary service that misbehaves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { data as summaryCommand } from '../src/bot/commands/summary.js';
import { renderSummary } from '../src/bot/render.js';
import { loadDirectory } from '../src/core/load/index.js';
import { SummaryService, type SummaryLength, type SummaryResult } from '../src/core/summarize/service.js';
import type { RawArticle } from '../src/core/types.js';
import { QATAR_WIRE } from './helpers/articles.js';
import { bootBot, type BootBotOptions, type BootedBot } from './helpers/boot-bot.js';
import { snowflake, type RecordedRequest, type SlashOption } from './helpers/fake-discord.js';

const SEED_TITLE = 'Hamas and U.S. Efforts Toward Hostage Negotiations: A Closer Look';

/** A second article on the seed's talks, with a URL. */
const WIRE: RawArticle = { ...QATAR_WIRE, url: 'https://news.example/qatar-hostage-talks' };

async function boot(start?: BootBotOptions['start']): Promise<BootedBot> {
  const seed = (await loadDirectory('knowledge')).articles;
  return bootBot({ tempPrefix: 'bot-summary-test-', knowledge: { articles: [...seed, WIRE] }, setGuildId: true, start });
}

const article = (value: string, extra: SlashOption[] = []): SlashOption[] => [
  { type: 1, name: 'article', options: [{ type: 3, name: 'article', value }, ...extra] },
];
const topic = (value: string, extra: SlashOption[] = []): SlashOption[] => [{ type: 1, name: 'topic', options: [{ type: 3, name: 'topic', value }, ...extra] }];
const length = (value: SummaryLength): SlashOption => ({ type: 3, name: 'length', value });
const embedOf = (r: RecordedRequest) => r.body.embeds?.[0];
/** The [n] markers of a description (markdown escaping may put a backslash before a bracket). */
const markers = (text: string) => [...text.matchAll(/\\?\[(\d+)\\?\]/g)].map((m) => Number(m[1]));
const buttonIds = (r: RecordedRequest): string[] => r.body.components[0].components.map((c: { custom_id: string }) => c.custom_id);

let main: BootedBot;
beforeAll(async () => {
  main = await boot();
});
afterAll(async () => {
  await main?.stop();
});

describe('/summary command definition', () => {
  it('is one command with the subcommands article (autocomplete), topic and latest, each with length and private (topic and latest: since, until)', () => {
    expect(summaryCommand.name).toBe('summary');
    const subs = summaryCommand.options!.map((o) => ({ type: o.type, name: o.name, options: (o as { options?: { name: string; required?: boolean; autocomplete?: boolean }[] }).options }));
    expect(subs.map((s) => [s.type, s.name])).toEqual([
      [1, 'article'],
      [1, 'topic'],
      [1, 'latest'],
    ]);
    expect(subs[0]!.options!.map((o) => o.name)).toEqual(['article', 'length', 'private']);
    expect(subs[0]!.options![0]).toMatchObject({ required: true, autocomplete: true });
    expect(subs[1]!.options!.map((o) => o.name)).toEqual(['topic', 'length', 'private', 'since', 'until']);
    expect(subs[2]!.options!.map((o) => o.name)).toEqual(['length', 'private', 'since', 'until']);
  });
});

describe('/summary article', () => {
  it('defers, then edits in a short summary titled with the article, [n] markers, paragraph sources and buttons; nothing can ping', async () => {
    const { fake } = main;
    const sent = await fake.sendSlashCommand({ name: 'summary', options: article(SEED_TITLE, [length('short')]) });
    const callback = await sent.waitForCallback();
    expect(callback.body.type).toBe(5);
    expect(callback.status).toBe(204);

    const edit = await sent.waitForEditOriginal();
    expect(edit.status).toBe(200);
    const embed = embedOf(edit);
    expect(embed.title).toBe(SEED_TITLE);
    expect(embed.url).toBeUndefined(); // the seed article has no URL
    const ns = markers(embed.description);
    expect(ns.length).toBeGreaterThanOrEqual(2);
    expect(ns.length).toBeLessThanOrEqual(3); // short: at most 3 sentences, each with its marker
    expect(embed.fields.length).toBeGreaterThan(0);
    for (const f of embed.fields) expect(f.value).toMatch(/^¶ \d+$/);
    expect(new Set(ns)).toEqual(new Set(embed.fields.map((f: { name: string }) => Number(f.name.slice(1, -1)))));
    expect(embed.footer.text).toMatch(/^Short summary/);
    expect(edit.body.allowed_mentions).toEqual({ parse: [] });
    expect(buttonIds(edit)).toEqual([expect.stringMatching(/^passages:\d+$/), expect.stringMatching(/^feedback:up:\d+$/), expect.stringMatching(/^feedback:down:\d+$/)]);

    // Recorded like a question, so the buttons find it.
    const questionId = Number(buttonIds(edit)[0]!.split(':')[1]);
    const record = (await main.bot.context.store.getQuestion(questionId))!;
    expect(record).toMatchObject({ question: `summary: ${SEED_TITLE}`, outcome: 'answered', via: 'slash' });
    expect(record.sources.length).toBe(embed.fields.length);
  });

  it('honours the length option: long has more sentences than short', async () => {
    const { fake } = main;
    const short = await fake.sendSlashCommand({ name: 'summary', options: article(SEED_TITLE, [length('short')]) });
    const long = await fake.sendSlashCommand({ name: 'summary', options: article(SEED_TITLE, [length('long')]) });
    const s = markers(embedOf(await short.waitForEditOriginal()).description);
    const l = embedOf(await long.waitForEditOriginal());
    expect(markers(l.description).length).toBeGreaterThan(s.length);
    expect(markers(l.description).length).toBeLessThanOrEqual(8);
    expect(l.footer.text).toMatch(/^Long summary/);
  });

  it('links the title to the article URL when known; private:true keeps it ephemeral', async () => {
    const { fake } = main;
    const sent = await fake.sendSlashCommand({ name: 'summary', options: article(WIRE.title, [{ type: 5, name: 'private', value: true }]) });
    expect((await sent.waitForCallback()).body).toEqual({ type: 5, data: { flags: 64 } });
    const embed = embedOf(await sent.waitForEditOriginal());
    expect(embed.title).toBe(WIRE.title);
    expect(embed.url).toBe(WIRE.url);
    expect(fake.interaction(sent.token)?.ephemeral).toBe(true);
  });

  it('"Show passages" on a summary shows the cited paragraphs; 👍 is recorded', async () => {
    const { fake } = main;
    const sent = await fake.sendSlashCommand({ name: 'summary', options: article(SEED_TITLE, [length('short')]) });
    const edit = await sent.waitForEditOriginal();
    const [passagesId, upId] = buttonIds(edit);
    const messageId = fake.interaction(sent.token)!.original!.id;

    const show = await fake.sendButton({ customId: passagesId!, messageId });
    const shown = await show.waitForCallback();
    expect(shown.body).toMatchObject({ type: 4, data: { flags: 64, allowed_mentions: { parse: [] } } });
    const passages = shown.body.data.embeds as { title: string; description: string }[];
    expect(passages.length).toBe(embedOf(edit).fields.length);
    expect(passages[0]!.title).toMatch(new RegExp(`^\\[1\\] ${SEED_TITLE.replace(/[.]/g, '\\.')} ¶ \\d+$`));
    expect(passages[0]!.description.length).toBeGreaterThan(50);

    const up = await fake.sendButton({ customId: upId!, messageId, userId: snowflake() });
    expect((await up.waitForCallback()).body.data.content).toMatch(/Thanks for the 👍/);
    expect((await main.bot.context.store.listFeedback()).at(-1)).toMatchObject({ vote: 'up', question: `summary: ${SEED_TITLE}` });
  });

  it('an unknown title ends in a final edit that says so (never left thinking)', async () => {
    const { fake } = main;
    const sent = await fake.sendSlashCommand({ name: 'summary', options: article('Sourdough baking guide') });
    expect((await sent.waitForCallback()).body.type).toBe(5);
    const edit = await sent.waitForEditOriginal();
    expect(edit.body.content).toMatch(/No article is titled “Sourdough baking guide”/);
    expect(edit.body).toMatchObject({ embeds: [], components: [], allowed_mentions: { parse: [] } });
  });

  it('an empty title gets an ephemeral how-to instead of a deferral', async () => {
    const sent = await main.fake.sendSlashCommand({ name: 'summary', options: article('   ') });
    const callback = await sent.waitForCallback();
    expect(callback.body).toMatchObject({ type: 4, data: { flags: 64, allowed_mentions: { parse: [] } } });
    expect(callback.body.data.content).toMatch(/pick an article/);
  });
});

describe('/summary article autocomplete', () => {
  it('answers with at most 25 titles matching what was typed; the value resolves to the article', async () => {
    const { fake } = main;
    const sent = await fake.sendAutocomplete({ name: 'summary', options: [{ type: 1, name: 'article', options: [{ type: 3, name: 'article', value: 'hamas', focused: true }] }] });
    const callback = await sent.waitForCallback();
    expect(callback.body.type).toBe(8);
    const choices = callback.body.data.choices as { name: string; value: string }[];
    expect(choices.length).toBeLessThanOrEqual(25);
    expect(choices.map((c) => c.name)).toContain(SEED_TITLE);
    // Titles starting with it first, then titles containing it.
    expect(choices.map((c) => c.name)).toEqual([SEED_TITLE, WIRE.title]);
    const seed = choices.find((c) => c.name === SEED_TITLE)!;
    expect(seed.value.length).toBeLessThanOrEqual(100);

    // Nothing typed yet: every article (both here).
    const all = await fake.sendAutocomplete({ name: 'summary', options: [{ type: 1, name: 'article', options: [{ type: 3, name: 'article', value: '', focused: true }] }] });
    expect(((await all.waitForCallback()).body.data.choices as { name: string }[]).map((c) => c.name).sort()).toEqual([SEED_TITLE, WIRE.title].sort());

    // Picking the choice sends its value: the summary is of that article.
    const picked = await fake.sendSlashCommand({ name: 'summary', options: article(seed.value, [length('short')]) });
    expect(embedOf(await picked.waitForEditOriginal()).title).toBe(SEED_TITLE);
  });
});

describe('/summary topic', () => {
  it('cites both articles when both cover the topic', async () => {
    const { fake } = main;
    const sent = await fake.sendSlashCommand({ name: 'summary', options: topic('hostage talks in Qatar', [length('long')]) });
    expect((await sent.waitForCallback()).body.type).toBe(5);
    const edit = await sent.waitForEditOriginal();
    const embed = embedOf(edit);
    expect(embed.title).toBe('Topic: hostage talks in Qatar');
    expect(markers(embed.description).length).toBeGreaterThan(0);
    const values = (embed.fields as { value: string }[]).map((f) => f.value).join('\n');
    expect(values).toContain(SEED_TITLE);
    expect(values).toContain(`[${WIRE.title} ¶`); // linked: the wire article has a URL
    expect(embed.footer.text).toMatch(/of what 2 articles say/);
    expect(edit.body.allowed_mentions).toEqual({ parse: [] });
    const questionId = Number(buttonIds(edit)[0]!.split(':')[1]);
    expect(await main.bot.context.store.getQuestion(questionId)).toMatchObject({ question: 'summary topic: hostage talks in Qatar', outcome: 'answered' });
  });

  it('an unrelated topic: says the knowledge base has nothing on it, no buttons', async () => {
    const sent = await main.fake.sendSlashCommand({ name: 'summary', options: topic('the boiling point of liquid nitrogen') });
    const edit = await sent.waitForEditOriginal();
    expect(embedOf(edit).description).toMatch(/nothing on “the boiling point of liquid nitrogen”/);
    expect(embedOf(edit).fields).toBeUndefined();
    expect(edit.body.components).toEqual([]);
    expect(edit.body.allowed_mentions).toEqual({ parse: [] });
  });
});

describe('/summary time-out and failure', () => {
  it('a time-out and a failure each end in a final edit; the bot keeps serving', async () => {
    let mode: 'slow' | 'fail' | 'ok' = 'slow';
    class Misbehaving extends SummaryService {
      override async summarizeTopic(t: string, l?: SummaryLength): Promise<SummaryResult> {
        if (mode === 'slow') await new Promise((resolve) => setTimeout(resolve, 1000).unref());
        if (mode === 'fail') throw new Error('summariser exploded');
        return super.summarizeTopic(t, l);
      }
    }
    const booted = await boot((kb, embedder) => ({ settings: { answerTimeoutMs: 150 }, summaries: new Misbehaving({ kb, embedder }) }));
    try {
      const { fake } = booted;
      const slow = await fake.sendSlashCommand({ name: 'summary', options: topic('hostage talks') });
      expect((await slow.waitForCallback()).body.type).toBe(5);
      const late = await slow.waitForEditOriginal();
      expect(late.body.content).toMatch(/took too long/);
      expect(late.body).toMatchObject({ embeds: [], components: [], allowed_mentions: { parse: [] } });

      mode = 'fail';
      const failing = await fake.sendSlashCommand({ name: 'summary', options: topic('hostage talks') });
      const apology = await failing.waitForEditOriginal();
      expect(apology.body.content).toMatch(/something went wrong.*error id `[0-9a-f]{8}`/);
      expect(apology.body).toMatchObject({ embeds: [], components: [], allowed_mentions: { parse: [] } });

      mode = 'ok';
      const fine = await fake.sendSlashCommand({ name: 'summary', options: topic('hostage talks in Qatar') });
      expect(embedOf(await fine.waitForEditOriginal()).title).toBe('Topic: hostage talks in Qatar');
    } finally {
      await booted.stop();
    }
  });
});

describe('renderSummary limits', () => {
  it('keeps a huge topic summary inside Discord limits, counting dropped sources in the footer', () => {
    const sources = Array.from({ length: 40 }, (_, i) => ({
      n: i + 1,
      passageId: `a${i}#1`,
      articleId: `a${i}`,
      title: `@everyone ${'Long title '.repeat(30)}`,
      paragraph: 1,
      url: `https://news.example/${i}`,
      text: 'x',
      score: 1,
    }));
    const payload = renderSummary(
      { kind: 'topic', title: 'T'.repeat(400), found: true, text: 'word [1] '.repeat(1000), sources },
      { questionId: 7, hint: 'Long summary' },
    );
    const embed = payload.embeds![0]!;
    expect(embed.title!.length).toBeLessThanOrEqual(256);
    expect(embed.description!.length).toBeLessThanOrEqual(4096);
    expect(embed.fields!.length).toBeLessThanOrEqual(25);
    const total = embed.title!.length + embed.description!.length + embed.footer!.text.length + embed.fields!.reduce((n, f) => n + f.name.length + f.value.length, 0);
    expect(total).toBeLessThanOrEqual(6000);
    expect(embed.footer!.text).toMatch(/^\+\d+ more sources: use Show passages · Long summary$/);
    expect(JSON.stringify(embed)).not.toMatch(/@everyone/);
    expect(payload.allowedMentions).toEqual({ parse: [] });
  });
});
