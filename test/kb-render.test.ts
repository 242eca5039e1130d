import { describe, expect, it } from 'vitest';
import { renderList, renderShow } from '../src/bot/kb/render.js';
import type { ArticleRecord } from '../src/core/store/catalog.js';

const ARTICLE: ArticleRecord = {
  id: 'gull-point-lighthouse',
  title: 'Gull Point lighthouse shines again',
  url: 'https://news.example/lighthouse',
  date: '2026-11-27T09:00:00.000Z',
  author: 'Ann Reporter',
  origin: 'feed:https://news.example/feed.xml',
  hash: '0123456789abcdef',
  paragraphs: 3,
  passages: 3,
  duplicatesDropped: 0,
  addedBy: 'feed',
  addedAt: '2026-11-27T10:00:00.000Z',
  updatedAt: '2026-11-27T10:00:00.000Z',
};

describe('/kb show and /kb list', () => {
  it('show the publication date and the author beside who added the article', () => {
    const embed = renderShow({ article: ARTICLE, paragraphs: [{ n: 1, text: 'The lamp is lit again.' }] }).embeds![0] as { fields: { name: string; value: string }[] };
    expect(embed.fields.find((f) => f.name === 'Date')?.value).toBe('27 Nov 2026');
    expect(embed.fields.find((f) => f.name === 'Author')?.value).toBe('Ann Reporter');
    expect(embed.fields.find((f) => f.name === 'Added by')?.value).toBe('feed');
    const list = renderList({ items: [ARTICLE, { ...ARTICLE, id: 'undated', title: 'Undated note', date: undefined, author: undefined }], page: 1, pages: 1, total: 2, pageSize: 10 });
    const lines = (list.embeds![0] as { description: string }).description.split('\n');
    expect(lines[0]).toMatch(/^\*\*1\.\*\* Gull Point lighthouse shines again \(27 Nov 2026, Ann Reporter\) · 3 paragraphs · by feed · /);
    expect(lines[1]).toMatch(/^\*\*2\.\*\* Undated note · 3 paragraphs/);
  });

  it('leave the author field out when the source named none', () => {
    const embed = renderShow({ article: { ...ARTICLE, author: undefined }, paragraphs: [] }).embeds![0] as { fields: { name: string }[] };
    expect(embed.fields.map((f) => f.name)).not.toContain('Author');
  });
});
