import { HNSWLib } from '@langchain/community/vectorstores/hnswlib';
import { Embeddings } from '@langchain/core/embeddings';
import { Document } from '@langchain/core/documents';
import { RecursiveCharacterTextSplitter } from '@langchain/textsplitters';
import type { Embedder } from '../../src/core/embed/embedder.js';
import type { RawArticle } from '../../src/core/types.js';

/** Our embedder behind LangChain's Embeddings interface, so both pipelines embed identically. */
class SameEmbeddings extends Embeddings {
  constructor(private readonly embedder: Embedder) {
    super({});
  }
  async embedDocuments(texts: string[]): Promise<number[][]> {
    return (await this.embedder.embed(texts)).map((v) => Array.from(v));
  }
  async embedQuery(text: string): Promise<number[]> {
    return Array.from((await this.embedder.embed([text]))[0]);
  }
}

export interface PeerStore {
  store: HNSWLib;
  chunks: number;
  ingestSeconds: number;
}

/** A standard LangChain.js setup: default RecursiveCharacterTextSplitter, HNSWLib vector store. */
export async function buildPeer(articles: RawArticle[], embedder: Embedder): Promise<PeerStore> {
  const started = performance.now();
  const splitter = new RecursiveCharacterTextSplitter();
  const docs = await splitter.splitDocuments(articles.map((a) => new Document({ pageContent: a.body, metadata: { title: a.title } })));
  const store = await HNSWLib.fromDocuments(docs, new SameEmbeddings(embedder));
  return { store, chunks: docs.length, ingestSeconds: (performance.now() - started) / 1000 };
}

export async function peerSearch(peer: PeerStore, question: string, k: number): Promise<{ title: string; text: string }[]> {
  const results = await peer.store.similaritySearch(question, k);
  return results.map((d) => ({ title: String(d.metadata.title), text: d.pageContent }));
}
