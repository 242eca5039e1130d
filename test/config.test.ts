import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('gives every setting its documented default', () => {
    const c = loadConfig({});
    expect(c.embedding).toMatchObject({ model: 'auto', quantized: true, loadTimeoutMs: 8000 });
    expect(c.maxQuestionChars).toBe(1000);
    expect(c.discord).toMatchObject({ token: undefined, cooldownSeconds: 5, maxConcurrent: 4, answerTimeoutMs: 20_000 });
    expect(c.dataDir.endsWith('data')).toBe(true);
    expect(c.knowledgeDir.endsWith('knowledge')).toBe(true);
  });

  it('reports every bad value on its own line with what to write instead', () => {
    let error: unknown;
    try {
      loadConfig({ MAX_QUESTION_CHARS: 'lots', EMBEDDING_QUANTIZED: 'maybe', GUILD_ID: '12', DISCORD_API_URL: 'not a url' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const lines = (error as Error).message.split('\n');
    expect(lines[0]).toMatch(/Invalid settings \(see \.env\.example\)/);
    expect(lines.find((l) => l.includes('MAX_QUESTION_CHARS'))).toMatch(/"lots": must be a number/);
    expect(lines.find((l) => l.includes('EMBEDDING_QUANTIZED'))).toMatch(/must be true or false/);
    expect(lines.find((l) => l.includes('GUILD_ID'))).toMatch(/must be a Discord id/);
    expect(lines.find((l) => l.includes('DISCORD_API_URL'))).toMatch(/must be a URL/);
  });

  it('reads DATABASE_URL as a PostgreSQL URL, and refuses anything else', () => {
    expect(loadConfig({}).databaseUrl).toBeUndefined();
    expect(loadConfig({ DATABASE_URL: '' }).databaseUrl).toBeUndefined();
    expect(loadConfig({ DATABASE_URL: 'postgres://bot:secret@127.0.0.1:5432/kb' }).databaseUrl).toBe('postgres://bot:secret@127.0.0.1:5432/kb');
    expect(loadConfig({ DATABASE_URL: 'postgresql://db/kb' }).databaseUrl).toBe('postgresql://db/kb');
    expect(() => loadConfig({ DATABASE_URL: 'mysql://db/kb' })).toThrow(/DATABASE_URL="mysql:\/\/db\/kb": must be a PostgreSQL URL/);
  });

  it('treats empty optional settings as unset', () => {
    expect(loadConfig({ DISCORD_TOKEN: '', GUILD_ID: '' }).discord.token).toBeUndefined();
  });
});

describe('KB_FETCH_ALLOWED_PORTS', () => {
  it('lists the ports /kb add url: and feeds may fetch from besides 80 and 443', () => {
    expect(loadConfig({}).kb.fetchAllowedPorts).toEqual([]);
    expect(loadConfig({ KB_FETCH_ALLOWED_PORTS: '8080, 8443' }).kb.fetchAllowedPorts).toEqual([8080, 8443]);
    expect(() => loadConfig({ KB_FETCH_ALLOWED_PORTS: '80, nope' })).toThrow(/KB_FETCH_ALLOWED_PORTS/);
    expect(() => loadConfig({ KB_FETCH_ALLOWED_PORTS: '70000' })).toThrow(/1–65535/);
  });
});

describe('RERANK_MODEL and READER_MODEL', () => {
  it('are off unless set, and name Hugging Face model ids when set', () => {
    expect(loadConfig({}).answerModels).toEqual({});
    expect(loadConfig({ RERANK_MODEL: '', READER_MODEL: '' }).answerModels).toEqual({});
    expect(loadConfig({ RERANK_MODEL: 'Xenova/ms-marco-MiniLM-L-6-v2', READER_MODEL: ' Xenova/distilbert-base-cased-distilled-squad ' }).answerModels).toEqual({
      rerank: 'Xenova/ms-marco-MiniLM-L-6-v2',
      reader: 'Xenova/distilbert-base-cased-distilled-squad',
    });
  });
});
