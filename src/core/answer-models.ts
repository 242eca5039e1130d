/**
 * The optional neural models of the answer step (RERANK_MODEL, READER_MODEL), as seams the core
 * sees. Implementations run the models on the embedding worker (see embed/answer-models-worker.ts);
 * the core only asks for scores and spans, and answers as before without them.
 */

/** A cross-encoder: reads the query together with each passage and scores how well it answers. */
export interface Reranker {
  /** The model id, for logs and results. */
  readonly model: string;
  /** One score per passage, in order; higher is a better answer to `query`. Rejects when the model cannot run. */
  score(query: string, passages: string[]): Promise<number[]>;
}

/** Where an answer lies inside a text: `text.slice(start, end)`, UTF-16 offsets. */
export interface TextSpan {
  start: number;
  end: number;
}

/** An extractive question-answering model's answer inside one context. */
export interface ReaderSpan extends TextSpan {
  /** The model's probability of this span (start × end), 0–1. */
  score: number;
}

/** An extractive question-answering model: finds the words of `context` that answer `question`. */
export interface Reader {
  readonly model: string;
  /** The most likely answer span inside `context`, or null when the model's answer cannot be found in it. Rejects when the model cannot run. */
  read(question: string, context: string): Promise<ReaderSpan | null>;
}

/**
 * What the answer step may use. Read once per question (after retrieval), so an implementation
 * may expose a model only once it has loaded, and drop it when it stops working.
 */
export interface AnswerModels {
  readonly reranker?: Reranker;
  readonly reader?: Reader;
}
