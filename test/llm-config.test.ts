import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { createLlmClient } from '../src/core/llm/client.js';

describe('LLM settings', () => {
  it('are absent without LLM_BASE_URL (extractive answers only)', () => {
    const config = loadConfig({});
    expect(config.llm).toBeUndefined();
    expect(createLlmClient(config.llm)).toBeUndefined();
  });

  it('parse with defaults, and make a client', () => {
    const config = loadConfig({ LLM_BASE_URL: 'http://127.0.0.1:11434/v1', LLM_MODEL: 'llama3.1:8b' });
    expect(config.llm).toEqual({ baseUrl: 'http://127.0.0.1:11434/v1', model: 'llama3.1:8b', apiKey: undefined, timeoutMs: 20000, maxTokens: 300, maxContextChars: 6000 });
    const client = createLlmClient(config.llm)!;
    expect(client).toMatchObject({ model: 'llama3.1:8b', host: '127.0.0.1:11434', timeoutMs: 20000, maxTokens: 300, maxContextChars: 6000 });
  });

  it('reject a missing model, a bad URL and out-of-range numbers, without echoing the key', () => {
    expect(() => loadConfig({ LLM_BASE_URL: 'http://127.0.0.1:11434/v1', LLM_API_KEY: 'sk-SECRET-123456' })).toThrow(/LLM_MODEL=\(unset\): required/);
    try {
      loadConfig({ LLM_BASE_URL: 'not a url', LLM_MODEL: 'm', LLM_TIMEOUT_MS: '5', LLM_API_KEY: 'sk-SECRET-123456' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).toMatch(/LLM_BASE_URL="not a url": must be a URL/);
      expect(message).toMatch(/LLM_TIMEOUT_MS="5": must be at least 1000/);
      expect(message).not.toContain('SECRET');
    }
  });
});
