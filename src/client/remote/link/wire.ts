/** What a link sends first on every connection; kept apart from the method table so clients stay light. */

/** The notification method of the greeting. */
export const LINK_HELLO_METHOD = 'link_hello';

export interface LinkHello {
  version: string;
  /** The ralph version and when the link's entry was compiled (see spawn.ts `linkBuild`). */
  build: string;
  pid: number;
}
