import { afterEach } from 'vitest';

export type CleanUp = () => Promise<void> | void;

/**
 * Registers an afterEach that runs every clean-up handed to the returned function during the test,
 * newest first, so that what a later piece uses (a feed server under a bot, say) outlives it.
 */
export function cleanUpAfterEach(): (cleanUp: CleanUp) => void {
  const cleanUps: CleanUp[] = [];
  afterEach(async () => {
    while (cleanUps.length) await cleanUps.pop()!();
  });
  return (cleanUp) => void cleanUps.push(cleanUp);
}
