/** A problem with what the user asked or supplied; `message` is meant to be shown to them. */
export class UserInputError extends Error {
  override name = 'UserInputError';
}
