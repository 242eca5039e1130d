/** Optional written answers from an OpenAI-compatible language model (see written-answer.ts). */
export { LlmClient, LlmError, LLM_DEFAULTS, createLlmClient, redactSecrets } from './client.js';
export type { ChatClient, ChatMessage, Completion, LlmSettings, LlmErrorKind } from './client.js';
export { buildPrompt, NOT_FOUND_REPLY, SYSTEM_PROMPT } from './prompt.js';
export type { BuiltPrompt, HistoryTurn, PromptInput } from './prompt.js';
export { verifyAnswer, isNotFoundReply, stripThinking } from './verify.js';
export type { Verdict, VerifyOptions } from './verify.js';
export { writeAnswer, askWritten, NO_ANSWER_TEXT } from './written-answer.js';
export type { WriteAnswerOptions, WrittenResult, WrittenDetails, AskWrittenOptions } from './written-answer.js';
export { throttle } from './throttle.js';
export type { Throttled } from './throttle.js';
