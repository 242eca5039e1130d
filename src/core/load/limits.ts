/** Longest title kept; a longer one (a .txt whose first line is a whole paragraph, a page's <title>) is cut. */
export const MAX_TITLE_CHARS = 200;
