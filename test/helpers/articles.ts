/**
 * Articles several tests ingest. Each test names the origin it checks (the field differs between
 * files that ingest directly and those that go through the moderation form).
 */
import type { RawArticle } from '../../src/core/types.js';

/** Three paragraphs on a football final: a topic far from the seed article's hostage talks. */
export function cupFinalArticle(origin: string): RawArticle {
  return {
    title: 'Rovers win the cup final',
    body: [
      'Rovers won the cup final on Saturday after a late goal from their captain sealed a two-one victory at Wembley.',
      'The manager praised the defence, which held firm through twenty minutes of pressure in the second half.',
      'Fans celebrated in the city centre until late in the evening, and the team will parade the trophy on Monday.',
    ].join('\n\n'),
    origin,
  };
}

/** A second article on the seed's talks: its first sentence reports the same fact as the seed's ¶ 4. */
export const QATAR_WIRE: RawArticle = {
  title: 'Qatar hosts hostage talks between U.S. envoy and Hamas',
  body: [
    'The unprecedented talks took place in Qatar in March and marked a sharp departure from the longstanding U.S. stance of avoiding contact with Hamas, a group Washington deems a terrorist organization.',
    'Qatari mediators said the hostage talks focused on the release of Edan Alexander, a dual American and Israeli citizen held in Gaza since October 2023.',
    'Egyptian officials are expected to join later rounds of the hostage talks in Cairo, according to two diplomats briefed on the plans.',
    'Separately, the emir of Qatar opened a new national museum in Doha, drawing visitors from across the Gulf region.',
  ].join('\n\n'),
  origin: 'wire',
};
