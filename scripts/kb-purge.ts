/**
 * npm run kb:purge -- --guild SERVER_ID
 * Deletes everything the bot keeps for one server at once, as the bot does KB_RETENTION_DAYS after
 * it was removed from a server: its own knowledge base (DATA_DIR/servers/ID: articles, vectors,
 * summaries, questions, feedback, audit) and its questions and votes in the shared store. An audit
 * line goes to the operator's knowledge base (kb_audit in DATA_DIR/catalog.sqlite). Stop the bot
 * first, or purge a server the bot is no longer in. No embedding model is loaded.
 */
import { KnowledgeAdmin } from '../src/core/admin/index.js';
import { UserInputError } from '../src/core/knowledge-base.js';
import { ServerRegistry } from '../src/core/servers/registry.js';
import { parseCli } from '../src/cli/args.js';
import { runCli } from '../src/cli/run.js';
import { namingEmbedder, openStoredKnowledgeBase } from '../src/cli/stored-kb.js';

const USAGE = `Usage: npm run kb:purge -- --guild SERVER_ID
  --guild SERVER_ID  the server whose data is deleted (its own knowledge base, questions and votes)`;

const { values } = parseCli(USAGE, { guild: { type: 'string' } });
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

await runCli(async (config) => {
  const guild = values.guild;
  if (!guild || !/^\d{17,20}$/.test(guild)) throw new UserInputError(`--guild must be a Discord server id (17–20 digits).\n${USAGE}`);
  const { kb: base, close } = await openStoredKnowledgeBase(config, 'purge');
  try {
    const registry = new ServerRegistry({
      policy: { scope: config.kb.scope, baseLayer: config.kb.baseLayer, adminServerIds: config.kb.adminGuildIds },
      base,
      baseAdmin: new KnowledgeAdmin({ kb: base }),
      embedder: namingEmbedder(base.embedderInfo, 'purge'),
      dataDir: config.dataDir,
    });
    const { articles, questions } = await registry.purge(guild, { actor: { id: 'cli', name: 'npm run kb:purge', via: 'cli' }, reason: 'npm run kb:purge' });
    await registry.close();
    // An id typed wrong (or a server purged before) must not read like a successful purge.
    if (articles === 0 && questions === 0) console.log(`Nothing was kept for server ${guild}: no articles, questions or votes. Check the id if you expected some.`);
    else console.log(`Purged server ${guild}: ${articles} articles, ${questions} questions and their votes.`);
  } finally {
    await close();
  }
});
